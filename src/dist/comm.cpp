#include "dist/comm.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "util/error.h"

#ifdef FOVEA_MPI
// MPI's C API only (no C++ bindings, whose headers warn).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace fovea::dist {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

#ifdef FOVEA_MPI
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string(what) + " failed: " + std::string(text, size_t(len)));
}

// MPI counts are ints: long arrays go in chunks.
template <class T>
void allreduce_chunks(T* values, size_t n, MPI_Datatype type) {
  const size_t chunk = size_t(std::numeric_limits<int>::max());
  for (size_t first = 0; first < n; first += chunk)
    check(MPI_Allreduce(MPI_IN_PLACE, values + first, int(std::min(chunk, n - first)), type, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
}
#endif

}  // namespace

int Comm::launched_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (int n = env_int(name); n > 0) return n;
  return std::getenv("PMIX_RANK") ? 1 : 0;
}

bool Comm::built_with_mpi() {
#ifdef FOVEA_MPI
  return true;
#else
  return false;
#endif
}

Comm::Comm() {
  const int launched = launched_size();
#ifdef FOVEA_MPI
  if (launched == 0) return;
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) check(MPI_Init(nullptr, nullptr), "MPI_Init");
  mpi_ = !inited;
  // Errors come back as return codes (check throws fovea::Error), not aborts.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  MPI_Comm local;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
        "MPI_Comm_split_type");
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
#else
  if (launched > 1)
    throw Error("this fovea was built without MPI (cmake -DFOVEA_MPI=ON needs libopenmpi-dev), but a launcher "
                "started " + std::to_string(launched) + " processes; each would train a model of its own");
#endif
}

Comm::~Comm() {
#ifdef FOVEA_MPI
  if (mpi_) MPI_Finalize();
#endif
}

// Without MPI size_ is 1 and the collectives return at once.
void Comm::allreduce_sum([[maybe_unused]] float* values, [[maybe_unused]] size_t n) {
  if (size_ == 1) return;
#ifdef FOVEA_MPI
  allreduce_chunks(values, n, MPI_FLOAT);
#endif
}

void Comm::allreduce_sum([[maybe_unused]] double* values, [[maybe_unused]] size_t n) {
  if (size_ == 1) return;
#ifdef FOVEA_MPI
  allreduce_chunks(values, n, MPI_DOUBLE);
#endif
}

void Comm::broadcast([[maybe_unused]] std::string& s) {
  if (size_ == 1) return;
#ifdef FOVEA_MPI
  unsigned long long n = s.size();
  check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  s.resize(size_t(n));
  if (n > 0) check(MPI_Bcast(s.data(), int(n), MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast");
#endif
}

void Comm::abort(const std::string& message) {
  if (size_ > 1)
    std::fprintf(stderr, "fovea: rank %d of %d: %s\n", rank_, size_, message.c_str());
  else
    std::fprintf(stderr, "fovea: %s\n", message.c_str());
  std::fflush(stderr);
#ifdef FOVEA_MPI
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::exit(1);
}

}  // namespace fovea::dist

// dist::Comm outside an MPI launcher: one process (rank 0 of 1, local rank
// 0), collectives that leave the values as they are, and the launcher
// detection from the environment (mpirun's ranks are tested by the
// `cli: mpirun data-parallel` script).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "dist/comm.h"

namespace fovea::test {

namespace {
// Sets an environment variable for the scope, then restores it.
struct EnvVar {
  std::string name;
  bool had = false;
  std::string old;
  EnvVar(const char* n, const char* value) : name(n) {
    if (const char* v = std::getenv(n)) had = true, old = v;
    if (value)
      ::setenv(n, value, 1);
    else
      ::unsetenv(n);
  }
  ~EnvVar() {
    if (had)
      ::setenv(name.c_str(), old.c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};
}  // namespace

TEST_CASE("a Comm started without a launcher is one process with identity collectives", "[dist]") {
  EnvVar a("OMPI_COMM_WORLD_SIZE", nullptr), b("PMI_SIZE", nullptr), c("PMIX_SIZE", nullptr),
      d("PMIX_RANK", nullptr);
  REQUIRE(dist::Comm::launched_size() == 0);
  dist::Comm comm;
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  CHECK(comm.local_rank() == 0);
  CHECK_FALSE(comm.distributed());
  std::vector<float> f = {1.5f, -2.25f, 3e-8f};
  comm.allreduce_sum(f.data(), f.size());
  CHECK(f == std::vector<float>{1.5f, -2.25f, 3e-8f});
  std::vector<double> d2 = {0.1, -7.0};
  comm.allreduce_sum(d2.data(), d2.size());
  CHECK(d2 == std::vector<double>{0.1, -7.0});
  std::string s = "runs/20261126-021300";
  comm.broadcast(s);
  CHECK(s == "runs/20261126-021300");
}

TEST_CASE("Comm::launched_size reads the launchers' environment", "[dist]") {
  EnvVar a("OMPI_COMM_WORLD_SIZE", nullptr), b("PMI_SIZE", nullptr), c("PMIX_SIZE", nullptr),
      d("PMIX_RANK", nullptr);
  {
    EnvVar e("OMPI_COMM_WORLD_SIZE", "4");
    CHECK(dist::Comm::launched_size() == 4);
  }
  {
    EnvVar e("PMI_SIZE", "3");  // Slurm's srun (PMI-2)
    CHECK(dist::Comm::launched_size() == 3);
  }
  {
    EnvVar e("PMIX_RANK", "0");  // a PMIx launcher that announces no size
    CHECK(dist::Comm::launched_size() == 1);
  }
  CHECK(dist::Comm::launched_size() == 0);
}

}  // namespace fovea::test

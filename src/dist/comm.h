// The processes of one data-parallel run (`mpirun -np N fovea train ...`):
// rank, size, the rank among those on the same machine, and the few
// collective operations training needs. With FOVEA_MPI (CMake option, on
// when MPI is found) and a launcher's environment (mpirun, srun: see
// launched_by_mpi) it is MPI_COMM_WORLD; otherwise one process, whose
// collectives are the identity. No other file calls MPI.
#pragma once
#include <cstddef>
#include <string>

namespace fovea::dist {

class Comm {
 public:
  // MPI_Init when built with MPI and launched by an MPI launcher, else one
  // process. Throws fovea::Error when a launcher started several processes
  // and this build has no MPI (they would train N unrelated models).
  Comm();
  ~Comm();  // MPI_Finalize when it initialised MPI
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // among the ranks on this machine
  int local_size() const { return local_size_; }
  bool distributed() const { return size_ > 1; }

  // Element-wise sums over the ranks, in place (MPI_Allreduce, MPI_SUM).
  void allreduce_sum(float* values, size_t n);
  void allreduce_sum(double* values, size_t n);
  // Rank 0's string on every rank.
  void broadcast(std::string& s);
  // Prints "fovea: rank R of N: message" on stderr and stops every rank
  // (MPI_Abort); one process just exits with status 1.
  [[noreturn]] void abort(const std::string& message);

  // Whether this binary was built with MPI.
  static bool built_with_mpi();
  // Whether the environment is an MPI launcher's (OMPI_COMM_WORLD_SIZE,
  // PMI_SIZE or PMIX_RANK set), with the world size it announces (0 if none).
  static int launched_size();

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool mpi_ = false;
};

}  // namespace fovea::dist

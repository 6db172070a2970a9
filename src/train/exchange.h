// A data-parallel step's host work between its programs (train::Exchange,
// run by train::Session::train_step): with --sync-bn, each BatchNorm layer's
// partial sums added over the ranks (dist/sync_bn.h); then the gradient
// block summed over the ranks (MPI_Allreduce) and handed back to the update
// program. Counts the wall seconds it spends.
#pragma once
#include <cstdint>
#include <memory>

#include "dist/comm.h"
#include "dist/sync_bn.h"
#include "nn/model.h"
#include "train/session.h"

namespace fovea::train {

class RankExchange : public Exchange {
 public:
  RankExchange(nn::Model& model, dist::Comm& comm);
  void batch_norm(size_t i, uint32_t slot, uint32_t rows, uint32_t step_rows) override;
  void gradients(uint32_t slot) override;
  // Seconds spent since the last call (an epoch's), and in the whole run.
  double take_seconds();
  double total_seconds() const { return total_; }

 private:
  nn::Model& model_;
  dist::Comm& comm_;
  std::unique_ptr<dist::BatchNormSync> bn_sync_;
  double seconds_ = 0, total_ = 0;
};

}  // namespace fovea::train

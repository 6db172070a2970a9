// A data-parallel step's host work (train/exchange.h).
#include "train/exchange.h"

#include <cstring>

#include "train/run_support.h"

namespace fovea::train {

RankExchange::RankExchange(nn::Model& model, dist::Comm& comm) : model_(model), comm_(comm) {
  if (!model.sync_exchanges().empty()) bn_sync_ = std::make_unique<dist::BatchNormSync>(comm);
}

void RankExchange::batch_norm(size_t i, uint32_t slot, uint32_t rows, uint32_t step_rows) {
  const nn::SyncExchange& e = model_.sync_exchanges()[i];
  const auto t = Clock::now();
  const auto* part = static_cast<const float*>(e.partials.host(slot));
  auto* summed = static_cast<float*>(e.summed.host(slot));
  if (e.backward)
    bn_sync_->backward(e.layer, part, e.channels, e.chunks, double(rows) * e.plane, summed);
  else
    bn_sync_->forward(e.layer, part, e.channels, e.chunks, double(rows) * e.plane, double(step_rows) * e.plane,
                      summed);
  seconds_ += seconds_since(t);
}

void RankExchange::gradients(uint32_t slot) {
  // This rank's gradient (in the readback slot) summed over the ranks, then
  // handed back for the update.
  const auto t = Clock::now();
  float* grads = static_cast<float*>(model_.gradients_out().host(slot));
  comm_.allreduce_sum(grads, model_.parameter_count());
  std::memcpy(model_.gradients_in().host(slot), grads, model_.parameter_count() * sizeof(float));
  seconds_ += seconds_since(t);
}

double RankExchange::take_seconds() {
  const double s = seconds_;
  total_ += s;
  seconds_ = 0;
  return s;
}

}  // namespace fovea::train

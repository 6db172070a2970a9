// Synchronised BatchNorm's host exchange (--sync-bn; see ops/norm.h): the
// sums one BatchNorm layer's norm/reduce left on each rank, added over the
// ranks. norm/reduce writes per channel c and chunk k, with s the rank's own
// first value of the channel (the same for every chunk):
//   forward:  A = sum (x - s),  B = sum (x - s)^2,  s
//   backward: A = sum dy,       B = sum dy (x - s), s
// Each rank's shift differs, so the ranks' sums are first moved, in double,
// to a shift they share: forward about 0 (sum x, sum x^2), backward about the
// shift g the forward exchange chose (B + (s - g) A). After the all-reduce
// the forward's sums are moved to g = the global mean rounded to float, so
// the float finalize (var = B/n - (A/n)^2) sees no cancellation:
//   A_g = S1 - n g,   B_g = S2 - 2 g S1 + n g^2.
// The result, summed [C, 3] = (A_g, B_g, g) per channel, is what
// norm/finalize_stats and norm/finalize_grad read as one chunk; the backward
// appends the rank's own partials [C, K, 3] (its share of dgamma, dbeta).
// A rank with no valid values (an empty shard of a partial last batch)
// contributes zeros, whatever its shift holds.
#pragma once
#include <cstdint>
#include <vector>

#include "dist/comm.h"

namespace fovea::dist {

// One rank's sums [2C], from partials [C, K, 3] of `values` valid values
// per channel: forward (sum x, sum x^2); backward (sum dy, sum dy (x - g)).
void batchnorm_forward_sums(const float* partials, uint32_t C, uint32_t K, double values, double* sums);
void batchnorm_backward_sums(const float* partials, uint32_t C, uint32_t K, double values,
                             const float* shift, double* sums);
// The all-reduced forward sums of `values` valid values per channel (all
// ranks) into summed [C, 3]; shift [C] gets g.
void batchnorm_forward_summed(const double* sums, uint32_t C, double values, float* summed, float* shift);

// The exchanges of one training step, in the order the programs run.
class BatchNormSync {
 public:
  explicit BatchNormSync(Comm& comm) : comm_(comm) {}
  // Layer `layer`'s forward exchange: `values` valid values per channel on
  // this rank, `global_values` on all of them.
  void forward(size_t layer, const float* partials, uint32_t C, uint32_t K, double values,
               double global_values, float* summed);
  // Its backward exchange (after its forward one): summed gets [C, 3] sums,
  // then this rank's partials [C, K, 3].
  void backward(size_t layer, const float* partials, uint32_t C, uint32_t K, double values, float* summed);

 private:
  Comm& comm_;
  std::vector<std::vector<float>> shift_;  // per layer: the forward's g
  std::vector<double> sums_;
};

}  // namespace fovea::dist

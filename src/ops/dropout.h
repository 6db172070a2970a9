// dropout: the random layers. Every one multiplies (and, for alpha dropout,
// shifts) values by a mask drawn from Philox-4x32 keyed (P.seed, stream,
// P.step, purpose, draw index in the global batch) (shaders/rng/philox.glsl), so the backward
// regenerates the forward's mask from the same step instead of storing it,
// and the masks are the same on every device and every run with one seed.
// One kernel (shaders/dropout/mask.comp) serves every kind and direction.
//
// Draw m covers the `group` consecutive values m*group .. m*group+group-1:
//   dropout, DropConnect (on a weight tensor)  group 1
//   dropout2d (whole channels of [C, H, W])     group H*W
//   stochastic depth (whole samples)            group C*H*W
//
// Kinds, p in [0, 1), u = philox_uniform(purpose) of the draw, keep = u >= p
// (so a value is dropped with probability p rounded to 24 bits):
//   Dropout   y = keep ? x / (1-p) : 0               (inverted scaling)
//   Gaussian  y = x (1 + sigma z), sigma = sqrt(p / (1-p)),
//             z = philox_normal(purpose, purpose + 1) of the draw
//   Alpha     PyTorch's AlphaDropout: x' = keep ? x : alpha', alpha' =
//             -scale_selu alpha_selu; y = a x' + b with
//             a = ((1-p)(1 + p alpha'^2))^(-1/2), b = -a alpha' p
// Backward: dx = dy dy/dx with the same mask: keep / (1-p), 1 + sigma z,
// keep a. p = 0 is the identity (bit for bit).
#pragma once
#include "ops/common.h"

namespace fovea::ops {

// SELU's constants (PyTorch's), for alpha dropout's alpha'.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

enum class DropoutKind : uint32_t { Dropout, Gaussian, Alpha };

struct DropoutMask {
  DropoutKind kind = DropoutKind::Dropout;
  float p = 0.5f;
  uint32_t group = 1;    // values per draw
  uint32_t stream = 0;   // the layer's node index
  uint32_t purpose = 0;  // Gaussian also uses purpose + 1
  // Draws per batch row: a data-parallel rank keys draw m as m + P.first_row
  // * row_draws, its index in the global batch, so every number of ranks
  // draws the same mask for a global row. 0: one mask shared by every row
  // (DropConnect's, on a weight tensor).
  uint32_t row_draws = 0;
};

// y = mask(x) over `count` values (count < 2^32 - 16). y must not overlap x.
void record_dropout_forward(Program& p, const DropoutMask& m, uint64_t count, const View& x, const View& y,
                            const std::string& label);
// y = a + mask(x) (stochastic depth: a the shortcut, x the residual branch).
// y may be a; neither may overlap x.
void record_dropout_add_forward(Program& p, const DropoutMask& m, uint64_t count, const View& a,
                                const View& x, const View& y, const std::string& label);
// dx = dL/dx of mask(x) (or of a + mask(x)) from dy, under the same mask.
void record_dropout_backward(Program& p, const DropoutMask& m, uint64_t count, const View& dy, const View& dx,
                             const std::string& label);

}  // namespace fovea::ops

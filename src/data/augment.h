// Augmentation of training batches: the `--augment` list (parsed here, on
// the host) and the per-step mixing draw. The per-image transforms run on
// the GPU inside the recorded training step (src/ops/augment.h,
// shaders/augment/), between the decode and the blur; evaluation never
// augments.
//
// Items, comma-separated (`--augment flip,crop:4,rotate:10,erase`):
//   flip | hflip[:P]   horizontal flip with probability P (default 0.5)
//   vflip[:P]          vertical flip with probability P (default 0.5)
//   crop:PAD           random crop of the original size from the image
//                      padded by PAD pixels of black (pixel value 0) on
//                      every side (offsets uniform in 0..2 PAD)
//   rotate:DEG         rotation by an angle uniform in [-DEG, DEG]
//   translate:FRAC     shift uniform in [-FRAC, FRAC] x width / height
//                      (not rounded to whole pixels)
//   scale:LO-HI | scale:S   zoom factor uniform in [LO, HI] or [1-S, 1+S]
//   shear:DEG          x-shear by an angle uniform in [-DEG, DEG]
//   brightness:B       pixel *= f, f uniform in [max(0, 1-B), 1+B]
//   contrast:C         pixel = f pixel + (1-f) mean_c, f as for brightness,
//                      about the data set's channel mean (torchvision uses
//                      each image's grey mean: that needs a reduction)
//   noise:STD          + N(0, STD^2), [0, 1] pixel units, not clipped
//   cutout:SIZE        a SIZE x SIZE black square, centre uniform over the
//                      image, clipped at the borders (every image)
//   erase[:P]          RandomErasing with probability P (default 0.5):
//                      area fraction in [0.02, 0.33], aspect ratio
//                      log-uniform in [0.3, 3.3], black; 10 tries, none fits
//                      = no erase
//   mixup:ALPHA        x = lam x_i + (1-lam) x_j, lam ~ Beta(ALPHA, ALPHA)
//   cutmix:ALPHA       a box of area ~(1-lam) from x_j, lam ~ Beta(ALPHA,
//                      ALPHA) then recomputed from the clipped box
//   fgsm:EPS[:P]       adversarial training: the batch (after the above and
//                      the blur) perturbed by EPS sign(dloss/dinput), [0, 1]
//                      pixel units, clipped to [0, 1] pixels; with
//                      probability P per step (default 1; otherwise clean)
//   pgd:EPS:STEPS[:P]  STEPS such steps of 2.5 EPS / STEPS from the clean
//                      batch, each projected onto the EPS ball (no random
//                      start); P as for fgsm. fgsm and pgd exclude each other
// The attack (src/nn/model.h) differentiates the current weights' loss in
// evaluation mode: BatchNorm on its running statistics (not updated),
// random layers the identity.
// Rotation, translation, scale, shear, flips and crop are one inverse map
// per image with bilinear sampling (black outside the image); then the
// pixel ops in the order brightness, contrast, clip to [0, 1], noise,
// cutout, erase; then mixing. With mixup and cutmix both given, each step
// uses one of them, chosen with probability 1/2. The loss of a mixed row is
// lam CE(y_i) + (1-lam) CE(y_j); its training accuracy counts the label
// with the larger weight (y_i when lam >= 0.5).
#pragma once
#include <cstdint>
#include <string>

#include "util/rng.h"

namespace fovea::data {

// Philox stream of each per-image draw: kAugmentStream + kind (the
// layers' streams are their node indices, far below).
constexpr uint32_t kAugmentStream = 0x41000000u;
enum class AugmentKind : uint32_t {
  HFlip = 1, VFlip = 2, Crop = 3, Affine = 4, Brightness = 5, Contrast = 6, Noise = 7,
  Cutout = 8, Erase = 9,
};
constexpr uint32_t kEraseTries = 10;

// An input-gradient attack (ops/adversarial.h): `--augment fgsm:...` /
// `pgd:...` for training, `fovea eval --fgsm` / `--pgd` and `fovea train
// --test-fgsm` for evaluation. steps 0: none.
struct AdversarialConfig {
  double eps = 0;          // [0, 1] pixel units
  uint32_t steps = 0;      // 1: FGSM; more: PGD
  double probability = 1;  // training only: the share of steps attacked
  bool any() const { return steps > 0; }
  // FGSM: eps; PGD: 2.5 eps / steps (Madry et al. 2018).
  double alpha() const { return steps <= 1 ? eps : 2.5 * eps / steps; }
};

// `--fgsm EPS` (pgd false) or `--pgd EPS:STEPS` of fovea eval; throws
// fovea::Error naming `option` and the value. EPS in [0, 1], STEPS 1..1000.
AdversarialConfig parse_attack(const std::string& text, bool pgd, const std::string& option);
// "fgsm 0.1" or "pgd 0.1 x 10".
std::string describe_attack(const AdversarialConfig& a);

struct AugmentConfig {
  std::string text;                 // the list as given ("" = none)
  double hflip = 0, vflip = 0;      // probabilities
  uint32_t crop_pad = 0;            // pixels
  double rotate_deg = 0;            // +- degrees
  double translate = 0;             // +- fraction of width / height
  double scale_lo = 1, scale_hi = 1;
  double shear_deg = 0;             // +- degrees
  double brightness = 0, contrast = 0;  // factor in [max(0, 1-v), 1+v]
  double noise_std = 0;             // [0, 1] pixel units
  uint32_t cutout = 0;              // square side, pixels
  double erase = 0;                 // probability
  double mixup_alpha = 0, cutmix_alpha = 0;
  AdversarialConfig adversarial;    // fgsm / pgd (not part of any(): no pixel op)

  bool affine() const { return rotate_deg > 0 || translate > 0 || scale_lo != 1 || scale_hi != 1 || shear_deg > 0; }
  bool geometric() const { return hflip > 0 || vflip > 0 || crop_pad > 0 || affine(); }
  bool pixelwise() const { return brightness > 0 || contrast > 0 || noise_std > 0 || cutout > 0 || erase > 0; }
  bool mixing() const { return mixup_alpha > 0 || cutmix_alpha > 0; }
  bool any() const { return geometric() || pixelwise() || mixing(); }
};

// Parses the list; "" gives no augmentation. Throws fovea::Error naming
// --augment, the item and what is wrong with it.
AugmentConfig parse_augment(const std::string& list);
// One line for the run log: the items with their values.
std::string describe_augment(const AugmentConfig& cfg);

// The mixing of one training step: the block of kMixWords 32-bit words the
// host writes after the batch's labels (the GPU reads it at labels[batch]).
struct MixDraw {
  uint32_t mode = 0;   // 0 none, 1 mixup, 2 cutmix
  uint32_t shift = 0;  // row i's partner is (i + shift) mod rows, shift in 1..rows-1
  float lam = 1;       // weight of row i's image and label
  uint32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // cutmix: pixels [y0, y1) x [x0, x1) come from the partner
  uint32_t reserved = 0;
};
constexpr uint32_t kMixWords = 8;
static_assert(sizeof(MixDraw) == 4 * kMixWords);

// The draw of step `step` from a generator seeded by (seed, step): lam ~
// Beta(alpha, alpha), the partner shift and, for cutmix, the box (side
// sqrt(1-lam) of the image's, centre uniform, clipped; lam becomes 1 - box
// area / image area). mode 0 when the config does not mix or rows < 2.
MixDraw draw_mix(const AugmentConfig& cfg, uint64_t seed, uint32_t step, uint32_t rows,
                 uint32_t height, uint32_t width);

// Beta(alpha, alpha) from two Gamma(alpha) draws (Marsaglia-Tsang, in logs
// so tiny alphas do not underflow).
double sample_beta(Rng& rng, double alpha);

}  // namespace fovea::data

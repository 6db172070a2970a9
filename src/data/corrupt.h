// Test-time corruptions (`--test-corrupt NAME=VALUE,...` of fovea train and
// fovea eval): the damage a model is evaluated under, each at a severity.
//
//   blur=SIGMA        Gaussian blur, pixels (on the GPU: as --test-blur)
//   noise=STD         Gaussian noise, [0, 1] pixel units, added to the
//                     standardised input, not clipped (on the GPU: as --test-noise)
//   contrast=F        each channel's deviations from the image's mean of that
//                     channel scaled by F in [0, 1] (1: unchanged, 0: flat)
//   brightness=D      D in [-1, 1] (fractions of 255) added to every pixel
//   saltpepper=P      a fraction P in [0, 1] of the pixel positions set to
//                     black (half of them, in expectation) or white, all channels
//   translate=N       the image moved N pixels along each axis (the sign of
//                     each drawn per image), the uncovered border black
//   jpeg=Q            encoded as a JPEG of quality Q in [1, 100] by
//                     stb_image_write, decoded again as a data source decodes
//                     a .jpg file
//
// All but blur and noise change the 8-bit pixels in the data path (the
// result rounded to the nearest integer and clipped to [0, 255]), before
// standardisation. Every random draw is keyed by the fixed seed
// kCorruptionSeed, the image's index in its set and the pixel, so every run
// and every process sees the same damaged images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/idx.h"

namespace fovea::data {

constexpr uint32_t kCorruptionSeed = 2021;

struct Corruption {
  std::string name;  // blur, noise, contrast, brightness, saltpepper, translate, jpeg
  double value = 0;
  // blur and noise are step parameters of the evaluation program; the rest
  // are applied to a copy of the images (corrupted_copy).
  bool on_gpu() const { return name == "blur" || name == "noise"; }
};

// The corruption names, in the order above.
const std::vector<std::string>& corruption_names();

// Items "NAME=VALUE" (a comma-separated list already split). Throws
// fovea::Error naming `flag`, the item and the accepted range on an unknown
// name or a value out of range; duplicates are dropped.
std::vector<Corruption> parse_corruptions(const std::vector<std::string>& items, const std::string& flag);

// 64 random bits keyed by (seed, image, counter): splitmix64 finalisers
// chained over the three words. The corruptions' only source of randomness.
uint64_t corruption_bits(uint32_t seed, uint32_t image, uint64_t counter);

// Corrupts one image, planar [channels, height, width] bytes, in place;
// `image` is its index in its set. Not for blur and noise (throws).
void corrupt_image(const Corruption& c, uint32_t image, uint32_t channels, uint32_t height, uint32_t width,
                   uint8_t* pixels);

// A copy of `set` with the images at `indices` corrupted.
ImageSet corrupted_copy(const ImageSet& set, const std::vector<uint32_t>& indices, const Corruption& c);

}  // namespace fovea::data

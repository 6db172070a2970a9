// The blur pyramid: copies of an image set blurred at each sigma of a fixed
// ladder (and, optionally, halved in resolution once per level), computed
// on the GPU by the kernels the training step uses and kept in device
// memory, for data sets that fit there.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "data/idx.h"
#include "gpu/memory.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

struct PyramidConfig {
  std::vector<double> sigmas;   // one level per sigma, pixels (0 = the originals)
  bool downsample = false;      // level l is also decimated by 2, l times
  std::vector<double> mean;     // per channel, of pixels / 255 (empty: 0)
  std::vector<double> std;      // per channel (empty: 1, so values are pixels / 255)
  uint32_t chunk = 1024;        // images per build dispatch (a multiple of 64)
};

class BlurPyramid {
 public:
  // Builds levels for images first..first+count-1 of `set`: decode and
  // standardise, blur with the level's sigma (separable Gaussian, reflect
  // padding), decimate. Throws fovea::Error on a bad sigma, range or chunk.
  BlurPyramid(gpu::Context& ctx, const data::ImageSet& set, uint32_t first, uint32_t count,
              const PyramidConfig& cfg);
  ~BlurPyramid();

  uint32_t levels() const { return uint32_t(shapes_.size()); }
  uint32_t images() const { return count_; }
  // [C, H, W] of one image at level l.
  struct Shape { uint32_t channels, height, width; };
  Shape shape(uint32_t level) const { return shapes_.at(level); }
  // The level's values, [images, C, H, W], in device memory.
  const gpu::View& level(uint32_t l) const { return views_.at(l); }
  std::vector<float> download(uint32_t level) const;

 private:
  gpu::Context& ctx_;
  uint32_t count_;
  std::vector<Shape> shapes_;
  std::unique_ptr<gpu::Arena> arena_;
  std::vector<gpu::View> views_;
};

}  // namespace fovea::train

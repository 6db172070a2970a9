// Test support for the fp16 paths: turns gpu::Context::half_precision on or
// off (with the fast kernels allowed) on the shared test context while
// alive. Header only (not a test file).
#pragma once
#include "gpu/harness.h"

namespace fovea::test {

class HalfMode {
 public:
  explicit HalfMode(bool on) : half_(context().half_precision), portable_(context().portable_kernels) {
    context().half_precision = on;
    context().portable_kernels = false;
  }
  ~HalfMode() {
    context().half_precision = half_;
    context().portable_kernels = portable_;
  }
  HalfMode(const HalfMode&) = delete;
  HalfMode& operator=(const HalfMode&) = delete;

 private:
  bool half_, portable_;
};

}  // namespace fovea::test

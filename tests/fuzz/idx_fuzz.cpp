// IDX image and label files, raw or gzip: the bytes a user's --data folder
// holds, through the same checks load_idx_pair makes. fovea::Error is the
// expected answer to bad input; anything else (another exception, a
// sanitizer report, an allocation past libFuzzer's limit) is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/idx.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes;
  try {
    bytes = fovea::data::inflate_if_gzip(std::vector<uint8_t>(data, data + size), "fuzz.gz");
  } catch (const fovea::Error&) {
    return 0;
  }
  try {
    const fovea::data::ImageSet s = fovea::data::parse_idx_images(bytes, "fuzz-images");
    if (s.pixels.size() != uint64_t(s.count) * s.image_bytes()) __builtin_trap();
  } catch (const fovea::Error&) {
  }
  for (uint32_t classes : {0u, 10u}) {
    try {
      const std::vector<uint32_t> labels = fovea::data::parse_idx_labels(bytes, "fuzz-labels", classes);
      for (uint32_t l : labels)
        if (classes && l >= classes) __builtin_trap();
    } catch (const fovea::Error&) {
    }
  }
  return 0;
}

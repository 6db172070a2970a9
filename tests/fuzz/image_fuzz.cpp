// Image files (PNG 8/16-bit, JPEG, BMP, TGA, GIF) of a class folder or a
// manifest: any bytes through the decoder, then fitted to a grey 28x28
// input (crop) and a colour 13x17 one (pad). fovea::Error is the expected
// answer to bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/image.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fovea::data::Picture p;
  try {
    p = fovea::data::decode_picture(data, size, "fuzz.img");
  } catch (const fovea::Error&) {
    return 0;
  }
  if (p.pixels.size() != uint64_t(p.width) * p.height * p.channels) __builtin_trap();
  fovea::data::ImageTarget grey{1, 28, 28, fovea::data::Resize::crop};
  fovea::data::ImageTarget colour{3, 13, 17, fovea::data::Resize::pad};
  for (const auto& t : {grey, colour}) {
    std::vector<uint8_t> out(t.bytes());
    try {
      fovea::data::fit_picture(p, t, "fuzz.img", out.data());
    } catch (const fovea::Error&) {
    }
  }
  return 0;
}

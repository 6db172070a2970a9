#include "data/corrupt.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "data/image.h"
#include "data/sharpening.h"
#include "util/error.h"
#include "util/rng.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb/stb_image_write.h>  // the implementation is compiled in src/io/png.cpp
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace fovea::data {

namespace {

struct Range {
  const char* name;
  double lo, hi;
  bool whole;
  const char* what;
};

// The accepted severities, in the order of corruption_names().
constexpr Range kRanges[] = {
    {"blur", 0, kMaxSharpenSigma, false, "the sigma in pixels"},
    {"noise", 0, 1e9, false, "the std in [0, 1] pixel units"},
    {"contrast", 0, 1, false, "the factor kept"},
    {"brightness", -1, 1, false, "the shift in [0, 1] pixel units"},
    {"saltpepper", 0, 1, false, "the fraction of pixels"},
    {"translate", 0, 1024, true, "the shift in pixels"},
    {"jpeg", 1, 100, true, "the quality"},
};

uint8_t clip_round(double v) { return uint8_t(std::clamp(std::nearbyint(v), 0.0, 255.0)); }

void contrast(double f, uint32_t planes, size_t plane, uint8_t* px) {
  for (uint32_t c = 0; c < planes; ++c) {
    uint8_t* p = px + c * plane;
    double mean = 0;
    for (size_t i = 0; i < plane; ++i) mean += p[i];
    mean /= double(plane);
    for (size_t i = 0; i < plane; ++i) p[i] = clip_round(mean + f * (double(p[i]) - mean));
  }
}

void salt_pepper(double fraction, uint32_t image, uint32_t planes, size_t plane, uint8_t* px) {
  for (size_t i = 0; i < plane; ++i) {
    const double u = double(corruption_bits(kCorruptionSeed, image, i) >> 11) * 0x1p-53;
    if (u >= fraction) continue;
    const uint8_t v = u < fraction / 2 ? 0 : 255;
    for (uint32_t c = 0; c < planes; ++c) px[c * plane + i] = v;
  }
}

void translate(uint32_t n, uint32_t image, uint32_t planes, uint32_t h, uint32_t w, uint8_t* px) {
  const uint64_t bits = corruption_bits(kCorruptionSeed, image, 0);
  const int64_t dx = (bits & 1) ? int64_t(n) : -int64_t(n), dy = (bits & 2) ? int64_t(n) : -int64_t(n);
  std::vector<uint8_t> src(px, px + size_t(planes) * h * w);
  for (uint32_t c = 0; c < planes; ++c)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sy = y - dy, sx = x - dx;
        const bool inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
        px[(size_t(c) * h + size_t(y)) * w + size_t(x)] = inside ? src[(size_t(c) * h + size_t(sy)) * w + size_t(sx)] : 0;
      }
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

void jpeg(int quality, uint32_t image, uint32_t planes, uint32_t h, uint32_t w, uint8_t* px) {
  const size_t plane = size_t(h) * w;
  std::vector<uint8_t> interleaved(plane * planes);
  for (uint32_t c = 0; c < planes; ++c)
    for (size_t i = 0; i < plane; ++i) interleaved[i * planes + c] = px[c * plane + i];
  std::vector<uint8_t> bytes;
  const std::string name = "--test-corrupt jpeg=" + std::to_string(quality) + ", image " + std::to_string(image);
  if (!stbi_write_jpg_to_func(append_bytes, &bytes, int(w), int(h), int(planes), interleaved.data(), quality))
    throw Error(name + ": stb_image_write could not encode the image");
  ImageTarget target;
  target.channels = planes, target.height = h, target.width = w;
  decode_image(bytes.data(), bytes.size(), name, target, px);
}

}  // namespace

const std::vector<std::string>& corruption_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Range& r : kRanges) v.push_back(r.name);
    return v;
  }();
  return names;
}

std::vector<Corruption> parse_corruptions(const std::vector<std::string>& items, const std::string& flag) {
  std::vector<Corruption> out;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const Range* range = nullptr;
    for (const Range& r : kRanges)
      if (name == r.name) range = &r;
    if (!range) {
      std::string known;
      for (const Range& r : kRanges) known += std::string(known.empty() ? "" : ", ") + r.name;
      throw Error(flag + ": unknown corruption '" + name + "' in '" + item + "' (one of " + known + ")");
    }
    const std::string text = eq == std::string::npos ? "" : item.substr(eq + 1);
    char* end = nullptr;
    const double v = text.empty() ? NAN : std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= range->lo && v <= range->hi) || (range->whole && v != std::floor(v))) {
      std::ostringstream s;
      s << flag << ": '" << item << "': " << name << "=VALUE needs " << range->what << ", "
        << (range->whole ? "a whole number" : "a number") << " in [" << range->lo << ", ";
      if (range->hi >= 1e9) s << "inf";
      else s << range->hi;
      s << "], got '" << text << "'";
      throw Error(s.str());
    }
    const bool seen = std::any_of(out.begin(), out.end(), [&](const Corruption& c) { return c.name == name && c.value == v; });
    if (!seen) out.push_back({name, v});
  }
  return out;
}

uint64_t corruption_bits(uint32_t seed, uint32_t image, uint64_t counter) {
  return mix64(mix64(mix64(seed) ^ image) ^ counter);
}

void corrupt_image(const Corruption& c, uint32_t image, uint32_t channels, uint32_t height, uint32_t width,
                   uint8_t* px) {
  const size_t plane = size_t(height) * width;
  if (c.name == "contrast") {
    contrast(c.value, channels, plane, px);
  } else if (c.name == "brightness") {
    for (size_t i = 0; i < plane * channels; ++i) px[i] = clip_round(double(px[i]) + 255.0 * c.value);
  } else if (c.name == "saltpepper") {
    salt_pepper(c.value, image, channels, plane, px);
  } else if (c.name == "translate") {
    translate(uint32_t(c.value), image, channels, height, width, px);
  } else if (c.name == "jpeg") {
    jpeg(int(c.value), image, channels, height, width, px);
  } else {
    throw Error("internal: corrupt_image cannot apply '" + c.name + "' (a step parameter of the GPU)");
  }
}

ImageSet corrupted_copy(const ImageSet& set, const std::vector<uint32_t>& indices, const Corruption& c) {
  ImageSet out = set;
  const size_t bytes = set.image_bytes();
  for (uint32_t i : indices) corrupt_image(c, i, set.channels, set.height, set.width, &out.pixels[size_t(i) * bytes]);
  return out;
}

}  // namespace fovea::data

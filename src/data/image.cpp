// The one translation unit that holds stb_image's and stb_image_resize's
// implementations. Only the five formats Fovea documents are compiled in
// (less code for a hostile file to reach), files are read from memory, and
// stb's own dimension limit is ours.
#include "data/image.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "util/error.h"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC  // internal: no clash with an embedding application's own stb_image
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS 16384
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_STATIC
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static_assert(fovea::data::kMaxImageSide == 16384, "STBI_MAX_DIMENSIONS above must match kMaxImageSide");

namespace fovea::data {

Resize parse_resize(const std::string& name) {
  if (name == "crop") return Resize::crop;
  if (name == "stretch") return Resize::stretch;
  if (name == "pad") return Resize::pad;
  throw Error("--resize must be crop, stretch or pad, got '" + name + "'");
}

const char* resize_name(Resize r) {
  switch (r) {
    case Resize::crop: return "crop";
    case Resize::stretch: return "stretch";
    case Resize::pad: return "pad";
  }
  return "?";
}

namespace {

std::string reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown error";
}

// Frees what stb_image returned on every exit.
struct StbPixels {
  void* p = nullptr;
  ~StbPixels() { stbi_image_free(p); }
};

// Interleaved [h, w, c] with c in {1, 2, 3, 4} from the file -> c' in {1, 3}
// (alpha dropped) at 8 bits.
Picture load(const uint8_t* bytes, int len, const std::string& name, int w, int h, int comp) {
  Picture p;
  p.width = uint32_t(w);
  p.height = uint32_t(h);
  p.channels = comp <= 2 ? 1 : 3;
  const int want = int(p.channels);
  const size_t n = size_t(w) * size_t(h) * p.channels;
  p.pixels.resize(n);
  int x = 0, y = 0, c = 0;
  StbPixels px;
  if (stbi_is_16_bit_from_memory(bytes, len)) {
    px.p = stbi_load_16_from_memory(bytes, len, &x, &y, &c, want);
    if (!px.p) throw Error(name + ": cannot decode the image (" + reason() + ")");
    if (x != w || y != h) throw Error(name + ": the image's header and its data disagree on the size");
    const auto* s = static_cast<const uint16_t*>(px.p);
    for (size_t i = 0; i < n; ++i) p.pixels[i] = uint8_t((uint32_t(s[i]) * 255u + 32767u) / 65535u);
  } else {
    px.p = stbi_load_from_memory(bytes, len, &x, &y, &c, want);
    if (!px.p) throw Error(name + ": cannot decode the image (" + reason() + ")");
    if (x != w || y != h) throw Error(name + ": the image's header and its data disagree on the size");
    std::memcpy(p.pixels.data(), px.p, n);
  }
  return p;
}

// Debian's stb_image 2.27 builds a JPEG Huffman table without checking
// that its 16 code counts add up to at most 256: a DHT segment with more
// writes past the table (UndefinedBehaviorSanitizer: index 257 out of
// bounds; found by fuzzing). Walks the marker segments as stb does
// (entropy-coded data skipped to the next marker) and refuses such a table
// before stb sees it. Reads as stb reads a DHT segment of length field L:
// tables while L > 0, each one's class byte and 16 counts taken from the
// file even where they run past the segment's end (CI's fuzzing found a
// short segment whose counts came from the bytes after it), bytes past the
// file's end read as 0.
void check_dht(const uint8_t* b, size_t n, size_t pos, long L, const std::string& name) {
  const auto at = [&](size_t k) -> size_t { return k < n ? b[k] : 0; };
  while (L > 0) {
    size_t codes = 0;
    for (size_t i = 1; i <= 16; ++i) codes += at(pos + i);
    if (codes > 256)
      throw Error(name + ": corrupt JPEG: a Huffman table of " + std::to_string(codes) + " codes (at most 256)");
    pos += 17 + codes;
    L -= long(17 + codes);
    if (pos >= n) return;
  }
}

void check_jpeg_tables(const uint8_t* b, size_t n, const std::string& name) {
  // stb finds the start-of-image marker as any marker: 0xFF, any number of
  // 0xFF fill bytes, then 0xD8 (fuzzing found a table behind such a start).
  size_t i = 1;
  while (i < n && b[i] == 0xFF) ++i;
  if (n < 2 || b[0] != 0xFF || i >= n || b[i] != 0xD8) return;
  ++i;
  while (i + 1 < n) {
    if (b[i] != 0xFF) {  // entropy-coded data
      ++i;
      continue;
    }
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // stuffed 0xFF, TEM, restart: no length
      i += 2;
      continue;
    }
    if (m == 0xD9 || i + 4 > n) return;  // EOI, or no length left: stb stops too
    const size_t end = std::min(n, i + 2 + ((size_t(b[i + 2]) << 8) | b[i + 3]));
    if (m == 0xC4) check_dht(b, n, i + 4, long((size_t(b[i + 2]) << 8) | b[i + 3]) - 2, name);
    i = std::max(end, i + 4);
  }
}

// src [h, w, sc] -> dst [h, w, dc] with sc, dc in {1, 3}.
std::vector<uint8_t> convert_channels(const Picture& p, uint32_t dc) {
  const size_t n = size_t(p.width) * p.height;
  if (p.channels == dc) return p.pixels;
  std::vector<uint8_t> out(n * dc);
  if (dc == 3) {
    for (size_t i = 0; i < n; ++i) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = p.pixels[i];
  } else {
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* s = &p.pixels[3 * i];
      out[i] = uint8_t((299u * s[0] + 587u * s[1] + 114u * s[2] + 500u) / 1000u);
    }
  }
  return out;
}

// Shrinking by whole factors fx = w / ow, fy = h / oh: each output is the
// rounded mean of its fx x fy block, summed exactly in integers (what the
// box filter computes, several times faster than stb_image_resize).
std::vector<uint8_t> block_mean(const std::vector<uint8_t>& in, uint32_t w, uint32_t c, uint32_t ow, uint32_t oh,
                                uint32_t fx, uint32_t fy) {
  std::vector<uint8_t> out(size_t(ow) * oh * c);
  std::vector<uint32_t> sum(size_t(ow) * c);
  const uint32_t n = fx * fy;
  for (uint32_t y = 0; y < oh; ++y) {
    std::fill(sum.begin(), sum.end(), 0u);
    for (uint32_t dy = 0; dy < fy; ++dy) {
      const uint8_t* row = &in[size_t(y * fy + dy) * w * c];
      for (uint32_t x = 0; x < ow; ++x)
        for (uint32_t dx = 0; dx < fx; ++dx)
          for (uint32_t k = 0; k < c; ++k) sum[size_t(x) * c + k] += row[(size_t(x) * fx + dx) * c + k];
    }
    for (size_t i = 0; i < sum.size(); ++i) out[size_t(y) * ow * c + i] = uint8_t((sum[i] + n / 2) / n);
  }
  return out;
}

// in [h, w, c] -> [oh, ow, c]; box filter along a shrinking axis, triangle
// along a growing one (both are the identity along an unchanged axis).
std::vector<uint8_t> resize(const std::vector<uint8_t>& in, uint32_t w, uint32_t h, uint32_t c, uint32_t ow,
                            uint32_t oh, const std::string& name) {
  if (ow == w && oh == h) return in;
  if (ow <= w && oh <= h && w % ow == 0 && h % oh == 0) return block_mean(in, w, c, ow, oh, w / ow, h / oh);
  std::vector<uint8_t> out(size_t(ow) * oh * c);
  const stbir_filter fx = ow < w ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  const stbir_filter fy = oh < h ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  if (!stbir_resize(in.data(), int(w), int(h), 0, out.data(), int(ow), int(oh), 0, STBIR_TYPE_UINT8, int(c),
                    STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fx, fy,
                    STBIR_COLORSPACE_LINEAR, nullptr))
    throw Error(name + ": cannot resize the image from " + std::to_string(w) + "x" + std::to_string(h) + " to " +
                std::to_string(ow) + "x" + std::to_string(oh) + " (out of memory?)");
  return out;
}

uint32_t scaled(uint32_t side, double s) { return uint32_t(std::max<long>(1, std::lround(double(side) * s))); }

}  // namespace

Picture decode_picture(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size == 0) throw Error(name + ": the file is empty");
  if (size > size_t(INT32_MAX)) throw Error(name + ": the file is larger than 2 GiB, too large for an image");
  const int len = int(size);
  check_jpeg_tables(bytes, size, name);  // before stb reads any table, stbi_info included
  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(bytes, len, &w, &h, &comp))
    throw Error(name + ": not an image Fovea reads (PNG, JPEG, BMP, TGA or GIF), or a corrupt one (" + reason() +
                ")");
  if (w <= 0 || h <= 0 || uint32_t(w) > kMaxImageSide || uint32_t(h) > kMaxImageSide ||
      uint64_t(w) * uint64_t(h) > kMaxImagePixels)
    throw Error(name + ": the image is " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels; Fovea reads images up to " + std::to_string(kMaxImageSide) + " pixels a side and " +
                std::to_string(kMaxImagePixels) + " pixels in all");
  if (comp < 1 || comp > 4) throw Error(name + ": the image has " + std::to_string(comp) + " channels");
  // No format packs more than kMaxPixelsPerByte pixels into a byte; stb
  // reads past a truncated file's end as zeros, so without this an 88-byte
  // TGA header made a 64-megapixel image (found by fuzzing).
  if (uint64_t(w) * uint64_t(h) > kMaxPixelsPerByte * uint64_t(size))
    throw Error(name + ": the header says " + std::to_string(w) + "x" + std::to_string(h) + " pixels, more than " +
                std::to_string(kMaxPixelsPerByte) + " per byte of its " + std::to_string(size) +
                "-byte file can hold: truncated or corrupt");
  return load(bytes, len, name, w, h, comp);
}

void fit_picture(const Picture& p, const ImageTarget& t, const std::string& name, uint8_t* out) {
  if (t.channels != 1 && t.channels != 3)
    throw Error(name + ": images decode to 1 (grey) or 3 (RGB) channels, not " + std::to_string(t.channels));
  if (t.width == 0 || t.height == 0) throw Error(name + ": the target size is empty");
  const uint32_t C = t.channels, H = t.height, W = t.width;
  const std::vector<uint8_t> px = convert_channels(p, C);
  // [H, W, C] of the target, then planar.
  std::vector<uint8_t> hwc;
  if (t.resize == Resize::stretch || (p.width == W && p.height == H)) {
    hwc = resize(px, p.width, p.height, C, W, H, name);
  } else if (t.resize == Resize::crop) {
    const double s = std::max(double(W) / p.width, double(H) / p.height);
    const uint32_t rw = std::max(W, scaled(p.width, s)), rh = std::max(H, scaled(p.height, s));
    const std::vector<uint8_t> r = resize(px, p.width, p.height, C, rw, rh, name);
    const uint32_t x0 = (rw - W) / 2, y0 = (rh - H) / 2;
    hwc.resize(size_t(W) * H * C);
    for (uint32_t y = 0; y < H; ++y)
      std::memcpy(&hwc[size_t(y) * W * C], &r[(size_t(y0 + y) * rw + x0) * C], size_t(W) * C);
  } else {
    const double s = std::min(double(W) / p.width, double(H) / p.height);
    const uint32_t rw = std::min(W, scaled(p.width, s)), rh = std::min(H, scaled(p.height, s));
    const std::vector<uint8_t> r = resize(px, p.width, p.height, C, rw, rh, name);
    const uint32_t x0 = (W - rw) / 2, y0 = (H - rh) / 2;
    hwc.assign(size_t(W) * H * C, 0);
    for (uint32_t y = 0; y < rh; ++y)
      std::memcpy(&hwc[(size_t(y0 + y) * W + x0) * C], &r[size_t(y) * rw * C], size_t(rw) * C);
  }
  const size_t plane = size_t(H) * W;
  for (uint32_t c = 0; c < C; ++c)
    for (size_t i = 0; i < plane; ++i) out[c * plane + i] = hwc[i * C + c];
}

void decode_image(const uint8_t* bytes, size_t size, const std::string& name, const ImageTarget& target,
                  uint8_t* out) {
  fit_picture(decode_picture(bytes, size, name), target, name, out);
}

bool is_image_name(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp" || ext == "tga" || ext == "gif";
}

}  // namespace fovea::data

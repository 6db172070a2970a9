// One image file to the model's input: decoding (PNG, JPEG, BMP, TGA, GIF's
// first frame through stb_image; 8 or 16 bits; grey, grey+alpha, RGB, RGBA,
// alpha dropped), channel conversion and resizing (stb_image_resize).
//
// Channels follow the target: 1 = luminance round(0.299 R + 0.587 G +
// 0.114 B), computed exactly as (299 R + 587 G + 114 B + 500) / 1000 in
// integers; 3 = RGB, grey replicated. Sizes: an image of the target size is
// used as it is; otherwise it is scaled, area-averaging (stb's box filter;
// by whole factors, the exact rounded mean of each block) along an axis
// that shrinks and bilinear (its triangle filter) along one that grows, and
//   crop:    the short side scaled to fit (the other one to at least the
//            target), then the centre cut out (offsets rounded down);
//   stretch: both sides scaled to the target;
//   pad:     the long side scaled to fit, the image centred on zeros.
// Every function is a pure function of its inputs: decoding the same bytes
// in any thread gives the same pixels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::data {

enum class Resize { crop, stretch, pad };

// "crop", "stretch" or "pad"; anything else throws fovea::Error naming --resize.
Resize parse_resize(const std::string& name);
const char* resize_name(Resize r);

// The shape images are decoded to: the model's input [C, H, W] (C 1 or 3).
struct ImageTarget {
  uint32_t channels = 1, height = 0, width = 0;
  Resize resize = Resize::crop;
  size_t bytes() const { return size_t(channels) * height * width; }
};

// Images larger than this are refused before their pixels are allocated.
constexpr uint32_t kMaxImageSide = 16384;
constexpr uint64_t kMaxImagePixels = uint64_t(1) << 26;
// The most pixels a byte of any format read here can hold (a 1-bit PNG at
// deflate's largest ratio, 8 x 1032): a header claiming more than this
// times the file's size is refused before its pixels are allocated.
constexpr uint64_t kMaxPixelsPerByte = 8 * 1032;

// A decoded file: 8 bits per channel, interleaved [height, width,
// channels], channels 1 (grey) or 3 (RGB).
struct Picture {
  uint32_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Decodes a file's bytes; `name` (a path) starts every message. 16-bit
// samples are rounded to 8 bits (v * 255 / 65535). Throws fovea::Error on
// an unknown format, a corrupt or truncated file or an image past the
// limits above.
Picture decode_picture(const uint8_t* bytes, size_t size, const std::string& name);

// Converts `p` to the target's channels and size and writes it planar
// [C, H, W] to out (target.bytes() bytes). Throws fovea::Error naming
// `name` if stb_image_resize fails (memory).
void fit_picture(const Picture& p, const ImageTarget& target, const std::string& name, uint8_t* out);

// decode_picture, then fit_picture: a file's bytes to the model's input.
// The entry point for fuzzing (bytes in, a message naming `name` out).
void decode_image(const uint8_t* bytes, size_t size, const std::string& name, const ImageTarget& target,
                  uint8_t* out);

// Whether a file name ends in an image extension decode_picture reads
// (.png, .jpg, .jpeg, .bmp, .tga, .gif; any case).
bool is_image_name(const std::string& name);

}  // namespace fovea::data

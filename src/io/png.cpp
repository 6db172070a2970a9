#include "io/png.h"

#include "util/error.h"
#include "util/file.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wconversion"
#endif
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace fovea::io {

namespace {

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

}  // namespace

std::string encode_png(uint32_t width, uint32_t height, uint32_t channels, const std::vector<uint8_t>& pixels) {
  if (width == 0 || height == 0 || (channels != 1 && channels != 3) ||
      pixels.size() != size_t(width) * height * channels)
    throw Error("cannot encode a PNG of " + std::to_string(width) + "x" + std::to_string(height) + "x" +
                std::to_string(channels) + " from " + std::to_string(pixels.size()) + " bytes: bad image geometry");
  std::string bytes;
  if (!stbi_write_png_to_func(append_bytes, &bytes, int(width), int(height), int(channels), pixels.data(),
                              int(width * channels)))
    throw Error("cannot encode a PNG of " + std::to_string(width) + "x" + std::to_string(height));
  return bytes;
}

void write_png(const std::string& path, uint32_t width, uint32_t height, uint32_t channels,
               const std::vector<uint8_t>& pixels) {
  std::string bytes;
  try {
    bytes = encode_png(width, height, channels, pixels);
  } catch (const Error& e) {
    throw Error("cannot write " + path + ": " + e.what());
  }
  write_atomically(path, bytes);
}

}  // namespace fovea::io

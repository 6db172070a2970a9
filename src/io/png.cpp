#include "io/png.h"

#include <filesystem>

#include "util/error.h"

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

void write_png(const std::string& path, uint32_t width, uint32_t height, uint32_t channels,
               const std::vector<uint8_t>& pixels) {
  if (width == 0 || height == 0 || (channels != 1 && channels != 3) ||
      pixels.size() != size_t(width) * height * channels)
    throw Error("cannot write " + path + ": bad image geometry");
  const std::string tmp = path + ".tmp";
  if (!stbi_write_png(tmp.c_str(), int(width), int(height), int(channels), pixels.data(),
                      int(width * channels))) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw Error("cannot write " + path + " (is the directory there and writable?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error("cannot write " + path + ": " + ec.message());
}

}  // namespace fovea::io

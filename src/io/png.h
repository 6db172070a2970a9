// PNG output for sample grids (stb_image_write): encoded in memory (the run
// report embeds it) or written to a temporary file and renamed, so a
// failure never leaves a half-written image.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::io {

// pixels: [height, width, channels] u8, channels 1 (grey) or 3 (RGB).
// Returns the PNG file's bytes; throws fovea::Error on a bad geometry.
std::string encode_png(uint32_t width, uint32_t height, uint32_t channels, const std::vector<uint8_t>& pixels);

// encode_png, written atomically. Throws fovea::Error naming the path when
// it cannot be written.
void write_png(const std::string& path, uint32_t width, uint32_t height, uint32_t channels,
               const std::vector<uint8_t>& pixels);

}  // namespace fovea::io

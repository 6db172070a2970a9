// Image files written by tests and test tools: every format `--data`
// decodes, with pixels of the test's choosing (stb_image_write for 8-bit
// PNG, JPEG, BMP and TGA; small encoders of our own for 16-bit PNG and
// GIF, which stb does not write).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::test {

// pixels: interleaved [h, w, c]; c 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
void write_png(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& pixels);
void write_png16(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint16_t>& pixels);
void write_jpg(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& pixels,
               int quality = 95);
void write_bmp(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& pixels);
void write_tga(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& pixels);
// A GIF of grey frames [h, w] (a 256-entry grey palette), in order.
void write_gif(const std::string& path, uint32_t w, uint32_t h, const std::vector<std::vector<uint8_t>>& frames);

std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace fovea::test

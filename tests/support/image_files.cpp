#include "support/image_files.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include <stb/stb_image_write.h>  // the implementation is in fovea_core (src/io/png.cpp)

namespace fovea::test {
namespace {

void check(int ok, const std::string& path) {
  if (!ok) throw std::runtime_error("cannot write test image " + path);
}

void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

void png_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put_be32(out, uint32_t(data.size()));
  std::vector<uint8_t> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  put_be32(out, uint32_t(crc32(0, body.data(), uInt(body.size()))));
}

}  // namespace

void write_png(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& px) {
  check(stbi_write_png(path.c_str(), int(w), int(h), int(c), px.data(), int(w * c)), path);
}

void write_png16(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint16_t>& px) {
  static const uint8_t colour_type[] = {0, 0, 4, 2, 6};
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {16, colour_type[c], 0, 0, 0});
  png_chunk(out, "IHDR", ihdr);
  std::vector<uint8_t> raw;  // filter 0 per row, big-endian samples
  for (uint32_t y = 0; y < h; ++y) {
    raw.push_back(0);
    for (uint32_t i = 0; i < w * c; ++i) {
      const uint16_t v = px[size_t(y) * w * c + i];
      raw.push_back(uint8_t(v >> 8));
      raw.push_back(uint8_t(v));
    }
  }
  uLongf size = compressBound(uLong(raw.size()));
  std::vector<uint8_t> z(size);
  check(compress2(z.data(), &size, raw.data(), uLong(raw.size()), 9) == Z_OK, path);
  z.resize(size);
  png_chunk(out, "IDAT", z);
  png_chunk(out, "IEND", {});
  write_bytes(path, out);
}

void write_jpg(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& px,
               int quality) {
  check(stbi_write_jpg(path.c_str(), int(w), int(h), int(c), px.data(), quality), path);
}

void write_bmp(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& px) {
  check(stbi_write_bmp(path.c_str(), int(w), int(h), int(c), px.data()), path);
}

void write_tga(const std::string& path, uint32_t w, uint32_t h, uint32_t c, const std::vector<uint8_t>& px) {
  check(stbi_write_tga(path.c_str(), int(w), int(h), int(c), px.data()), path);
}

// LZW with 8-bit literals only: a clear code before every 200 literals
// keeps the code size at 9 bits (it would grow after 254).
void write_gif(const std::string& path, uint32_t w, uint32_t h, const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<uint8_t> out = {'G', 'I', 'F', '8', '9', 'a', uint8_t(w), uint8_t(w >> 8), uint8_t(h), uint8_t(h >> 8),
                              0xF7, 0, 0};
  for (int i = 0; i < 256; ++i) out.insert(out.end(), {uint8_t(i), uint8_t(i), uint8_t(i)});
  for (const auto& f : frames) {
    out.insert(out.end(), {0x2C, 0, 0, 0, 0, uint8_t(w), uint8_t(w >> 8), uint8_t(h), uint8_t(h >> 8), 0, 8});
    std::vector<uint8_t> bits;
    uint32_t acc = 0, n = 0;
    auto emit = [&](uint32_t code) {
      acc |= code << n;
      n += 9;
      while (n >= 8) bits.push_back(uint8_t(acc)), acc >>= 8, n -= 8;
    };
    for (size_t i = 0; i < f.size(); ++i) {
      if (i % 200 == 0) emit(256);
      emit(f[i]);
    }
    emit(257);
    if (n) bits.push_back(uint8_t(acc));
    for (size_t i = 0; i < bits.size(); i += 255) {
      const size_t len = std::min<size_t>(255, bits.size() - i);
      out.push_back(uint8_t(len));
      out.insert(out.end(), bits.begin() + long(i), bits.begin() + long(i + len));
    }
    out.push_back(0);
  }
  out.push_back(0x3B);
  write_bytes(path, out);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace fovea::test

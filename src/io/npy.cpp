#include "io/npy.h"

#include <bit>

#include "io/atomic_file.h"
#include "util/error.h"

namespace fovea::io {

std::string npy_f32(const std::vector<float>& values, uint64_t rows, uint64_t cols) {
  if (values.size() != rows * cols)
    throw Error("npy: " + std::to_string(values.size()) + " values do not make a " + std::to_string(rows) +
                " x " + std::to_string(cols) + " array");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  // magic (6) + version (2) + length (2) + header + '\n' = a multiple of 64.
  const size_t prefix = 10;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(char(uint8_t(header.size())));
  out.push_back(char(uint8_t(header.size() >> 8)));
  out += header;
  out.reserve(out.size() + values.size() * 4);
  for (float v : values) {
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    for (int b = 0; b < 4; ++b) out.push_back(char(uint8_t(bits >> (8 * b))));
  }
  return out;
}

void write_npy_f32(const std::string& path, const std::vector<float>& values, uint64_t rows, uint64_t cols) {
  write_file_atomically(path, npy_f32(values, rows, cols));
}

}  // namespace fovea::io

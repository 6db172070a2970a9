// NumPy .npy files (format version 1.0): the magic "\x93NUMPY", version
// 1.0, a little-endian u16 header length, a Python dict literal header
// padded with spaces to end in '\n' so that the data starts at a multiple of
// 64 bytes, then the raw values. numpy.load reads them as they are.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::io {

// The file bytes of a float32 ('<f4', C order) array of shape (rows, cols).
std::string npy_f32(const std::vector<float>& values, uint64_t rows, uint64_t cols);

// Writes npy_f32(...) to `path` atomically; throws fovea::Error naming it.
void write_npy_f32(const std::string& path, const std::vector<float>& values, uint64_t rows, uint64_t cols);

}  // namespace fovea::io

// safetensors files (the Hugging Face format PyTorch users exchange weights
// in): an 8-byte little-endian header length, a JSON header mapping tensor
// names to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
// "__metadata__" object of string values, then the raw little-endian data.
// Fovea reads and writes F32 tensors; reading accepts F32 only and says so.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fovea::io {

struct Tensor {
  std::string name;
  std::vector<uint64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};

struct SafetensorsFile {
  std::vector<Tensor> tensors;                 // in file order (sorted by offset)
  std::map<std::string, std::string> metadata; // "__metadata__"
  const Tensor* find(const std::string& name) const;
};

// Writes `file` to `path` atomically: to a temporary file in the same
// directory, flushed with fsync, then renamed over `path` (and the directory
// fsynced), so a crash at any moment leaves either the old file or the new
// one, never a torn one. Tensors are written in the order given, names must
// be unique and non-empty. The header JSON is deterministic (keys sorted, no
// whitespace), so identical inputs give byte-identical files. Throws
// fovea::Error naming the path on any failure.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

// Reads and validates a whole file: header length within the file, valid
// JSON object, every entry with dtype F32, a shape, data_offsets inside the
// data section, matching product(shape)*4 bytes, no overlapping ranges, the
// data section exactly covered. Every violation throws fovea::Error naming
// the path and the tensor or field.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace fovea::io

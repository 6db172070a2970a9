// safetensors files (--init weights, model.safetensors, checkpoints): any
// bytes as a file through the reader and its checks. fovea::Error is the
// expected answer to bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "io/safetensors.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fovea::fuzz::InputFile file(".safetensors");
  try {
    const fovea::io::SafetensorsFile f = fovea::io::read_safetensors(file.write(data, size));
    for (const auto& t : f.tensors) {
      uint64_t n = 1;
      for (uint64_t d : t.shape) n *= d;
      if (n != t.data.size()) __builtin_trap();
    }
  } catch (const fovea::Error&) {
  }
  return 0;
}

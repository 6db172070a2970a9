// Model specs (`--model FILE.json`): any text through the parser and its
// checks. fovea::Error is the expected answer to bad input; anything else
// is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "nn/model_spec.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const fovea::nn::ModelSpec spec =
        fovea::nn::parse_model_spec_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    for (size_t i = 0; i < spec.layers.size(); ++i) (void)fovea::nn::tensor_prefix(spec.layers[i], i);
  } catch (const fovea::Error&) {
  }
  return 0;
}

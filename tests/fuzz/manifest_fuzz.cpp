// CSV manifests (`--data FILE.csv`): any text through the RFC 4180 parser,
// then the labels and class names with and without a class count.
// fovea::Error is the expected answer to bad input; anything else is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "data/manifest.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fovea::data::Manifest m;
  try {
    m = fovea::data::parse_manifest(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.csv");
  } catch (const fovea::Error&) {
    return 0;
  }
  for (uint32_t classes : {0u, 10u}) {
    try {
      const fovea::data::ManifestLabels l = fovea::data::manifest_labels(m, "fuzz.csv", classes);
      if (l.labels.size() != m.rows.size()) __builtin_trap();
      for (uint32_t v : l.labels)
        if (v >= l.classes.size()) __builtin_trap();
    } catch (const fovea::Error&) {
    }
  }
  return 0;
}

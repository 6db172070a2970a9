// CSV manifests (`--data FILE.csv`): a header holding the columns `path`
// and `label` and optionally `split` (other columns are allowed and
// ignored), then one row per image. Fields follow RFC 4180: separated by
// commas, optionally in double quotes (which may hold commas, newlines and
// "" for a quote); lines end in LF or CRLF; a UTF-8 byte order mark is
// skipped; blank lines are skipped. Every row has as many fields as the
// header. `split` is train, val or test (without the column every row is
// training data).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fovea::data {

struct ManifestRow {
  std::string path;   // as written (relative to the manifest's folder unless absolute)
  std::string label;  // a class name, or an integer
  std::string split;  // train, val or test
  uint64_t line = 0;  // the line the row starts on, 1-based (the header is line 1)
};

struct Manifest {
  bool has_split = false;
  std::vector<ManifestRow> rows;
};

// Parses a manifest's text; `name` (its path) starts every message, with
// the line: "data.csv: line 7: 3 fields, the header has 2". Throws
// fovea::Error on a missing header column, a row of the wrong field count,
// an empty path or label, an unknown split, an unterminated quote, or a
// manifest without rows.
Manifest parse_manifest(std::string_view text, const std::string& name);

// The labels of the rows and the class names. When every label is a
// non-negative decimal integer below 2^31, the integers are the labels and
// the class names are "0" .. "K-1" with K = max(classes, largest + 1)
// (classes = 0: largest + 1); otherwise the training rows' distinct labels
// sorted bytewise are the classes 0..K-1, and a validation or test row with
// a label training lacks is an error naming the line.
// The most classes a model can have (a model spec's 'classes' limit): a
// numeric label at or above it is an error naming the line.
constexpr uint32_t kMaxManifestClasses = 16384;
struct ManifestLabels {
  bool numeric = false;
  std::vector<std::string> classes;
  std::vector<uint32_t> labels;  // per row
};
ManifestLabels manifest_labels(const Manifest& m, const std::string& name, uint32_t classes);

}  // namespace fovea::data

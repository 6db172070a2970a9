#include "data/manifest.h"

#include <algorithm>
#include <map>

#include "util/error.h"

namespace fovea::data {
namespace {

// Messages show a field as the user wrote it, cut short if long.
std::string shown(std::string_view s) {
  std::string out(s.substr(0, 80));
  if (s.size() > 80) out += "...";
  return "'" + out + "'";
}

// Reads one record (a row of fields) from text[pos..]; advances pos and
// line past it. Returns false at the end of the text.
struct Reader {
  std::string_view text;
  const std::string& name;
  size_t pos = 0;
  uint64_t line = 1;

  bool record(std::vector<std::string>& fields, uint64_t& first_line) {
    fields.clear();
    // Blank lines (empty, or only a CR) are skipped.
    while (pos < text.size() && (text[pos] == '\n' || (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n'))) {
      pos += text[pos] == '\r' ? 2 : 1;
      ++line;
    }
    if (pos >= text.size()) return false;
    first_line = line;
    std::string field;
    for (;;) {
      if (pos < text.size() && text[pos] == '"') {
        quoted(field);
      } else {
        while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          if (text[pos] == '"')
            throw Error(name + ": line " + std::to_string(line) +
                        ": a double quote inside an unquoted field (quote the whole field and double the quote)");
          field += text[pos++];
        }
      }
      fields.push_back(std::move(field));
      field.clear();
      if (pos >= text.size()) return true;
      const char c = text[pos];
      if (c == ',') {
        ++pos;
        continue;
      }
      if (c == '\r') {
        if (pos + 1 >= text.size() || text[pos + 1] != '\n')
          throw Error(name + ": line " + std::to_string(line) + ": a carriage return not followed by a line feed");
        pos += 2;
      } else {
        ++pos;  // '\n'
      }
      ++line;
      return true;
    }
  }

  void quoted(std::string& field) {
    const uint64_t start = line;
    ++pos;
    for (;;) {
      if (pos >= text.size())
        throw Error(name + ": line " + std::to_string(start) + ": a quoted field is not closed before the end of the file");
      const char c = text[pos++];
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          field += '"';
          ++pos;
          continue;
        }
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          throw Error(name + ": line " + std::to_string(line) + ": characters after a closing quote");
        return;
      }
      if (c == '\n') ++line;
      field += c;
    }
  }
};

bool parse_uint31(const std::string& s, uint32_t& v) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + uint64_t(c - '0');
  }
  if (x >= (uint64_t(1) << 31)) return false;
  v = uint32_t(x);
  return true;
}

}  // namespace

Manifest parse_manifest(std::string_view text, const std::string& name) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Reader rd{text, name};
  std::vector<std::string> header, fields;
  uint64_t line = 0;
  if (!rd.record(header, line)) throw Error(name + ": the manifest is empty; expected a header line 'path,label[,split]'");
  int col_path = -1, col_label = -1, col_split = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    int* col = header[i] == "path" ? &col_path : header[i] == "label" ? &col_label : header[i] == "split" ? &col_split : nullptr;
    if (!col) continue;
    if (*col >= 0) throw Error(name + ": line " + std::to_string(line) + ": the header names column '" + header[i] + "' twice");
    *col = int(i);
  }
  if (col_path < 0 || col_label < 0) {
    std::string got;
    for (const auto& h : header) got += (got.empty() ? "" : ",") + h;
    throw Error(name + ": line " + std::to_string(line) + ": the header must hold the columns path and label " +
                "(and optionally split), got " + shown(got));
  }
  Manifest m;
  m.has_split = col_split >= 0;
  while (rd.record(fields, line)) {
    const std::string at = name + ": line " + std::to_string(line) + ": ";
    if (fields.size() != header.size())
      throw Error(at + std::to_string(fields.size()) + (fields.size() == 1 ? " field" : " fields") +
                  ", the header has " + std::to_string(header.size()));
    ManifestRow r;
    r.line = line;
    r.path = fields[size_t(col_path)];
    r.label = fields[size_t(col_label)];
    r.split = m.has_split ? fields[size_t(col_split)] : "train";
    if (r.path.empty()) throw Error(at + "the path is empty");
    if (r.label.empty()) throw Error(at + "the label is empty");
    if (r.split != "train" && r.split != "val" && r.split != "test")
      throw Error(at + "split " + shown(r.split) + " is not train, val or test");
    m.rows.push_back(std::move(r));
  }
  if (m.rows.empty()) throw Error(name + ": the manifest has a header but no rows");
  return m;
}

ManifestLabels manifest_labels(const Manifest& m, const std::string& name, uint32_t classes) {
  ManifestLabels out;
  out.labels.resize(m.rows.size());
  out.numeric = true;
  for (size_t i = 0; i < m.rows.size() && out.numeric; ++i) out.numeric = parse_uint31(m.rows[i].label, out.labels[i]);
  if (out.numeric) {
    uint32_t largest = 0;
    for (size_t i = 0; i < m.rows.size(); ++i) {
      if (classes > 0 && out.labels[i] >= classes)
        throw Error(name + ": line " + std::to_string(m.rows[i].line) + ": label " + m.rows[i].label +
                    " is not below the model's " + std::to_string(classes) + " classes");
      // A model has at most kMaxManifestClasses classes: a larger label
      // would otherwise have 2^31 class names built (found by fuzzing).
      if (out.labels[i] >= kMaxManifestClasses)
        throw Error(name + ": line " + std::to_string(m.rows[i].line) + ": label " + m.rows[i].label +
                    " is not below " + std::to_string(kMaxManifestClasses) + ", the most classes a model can have");
      largest = std::max(largest, out.labels[i]);
    }
    const uint32_t k = classes > 0 ? classes : largest + 1;
    for (uint32_t c = 0; c < k; ++c) out.classes.push_back(std::to_string(c));
    return out;
  }
  // Named classes: those of the training rows, sorted bytewise.
  std::map<std::string, uint32_t> index;
  for (const auto& r : m.rows)
    if (r.split == "train") index.emplace(r.label, 0);
  if (index.empty()) throw Error(name + ": no row is training data (split train)");
  for (auto& [label, k] : index) {
    k = uint32_t(out.classes.size());
    out.classes.push_back(label);
  }
  for (size_t i = 0; i < m.rows.size(); ++i) {
    const auto it = index.find(m.rows[i].label);
    if (it == index.end())
      throw Error(name + ": line " + std::to_string(m.rows[i].line) + ": label " + shown(m.rows[i].label) + " of a " +
                  m.rows[i].split + " row is a class that no training row has");
    out.labels[i] = it->second;
  }
  return out;
}

}  // namespace fovea::data

// safetensors reading and writing. Layout of a file:
//   u64 N (little-endian) | N bytes of JSON header (space-padded to a multiple
//   of 8, as the reference writer does) | data section
// Every header entry's data_offsets are relative to the data section. The
// reader accepts exactly what the writer could have produced for F32 tensors
// and rejects everything else with a message naming the path and the entry.
#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "util/error.h"

namespace fovea::io {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// The reference implementation refuses headers above 100 MB; so do we, so a
// corrupt length cannot make us allocate gigabytes before failing.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail(const std::string& path, const std::string& msg) {
  throw Error(path + ": " + msg);
}

std::string errno_text(int e) { return std::strerror(e); }

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// bytes = product(shape) * 4; false when that overflows 64 bits.
bool byte_count(const std::vector<uint64_t>& shape, uint64_t& bytes) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / d) return false;
    n *= d;
  }
  if (n > std::numeric_limits<uint64_t>::max() / 4) return false;
  bytes = n * 4;
  return true;
}

// Host floats to little-endian bytes (a plain copy on x86/arm64).
void floats_to_le(const float* src, size_t n, uint8_t* dst) {
  std::memcpy(dst, src, n * 4);
  if constexpr (std::endian::native == std::endian::big)
    for (size_t i = 0; i < n; ++i) std::reverse(dst + 4 * i, dst + 4 * i + 4);
}
// Little-endian file values, in place, to host floats (a no-op on x86/arm64).
void le_to_host(float* v, size_t n) {
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = reinterpret_cast<uint8_t*>(v);
    for (size_t i = 0; i < n; ++i) std::reverse(b + 4 * i, b + 4 * i + 4);
  }
}

}  // namespace

const Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  // Validate everything before touching the filesystem.
  json header = json::object();
  std::set<std::string> names;
  uint64_t offset = 0;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const Tensor& t = file.tensors[i];
    if (t.name.empty()) fail(path, "tensor " + std::to_string(i) + " has an empty name");
    if (t.name == "__metadata__") fail(path, "tensor name '__metadata__' is reserved for the metadata");
    if (!names.insert(t.name).second) fail(path, "tensor name '" + t.name + "' appears twice");
    uint64_t bytes = 0;
    if (!byte_count(t.shape, bytes))
      fail(path, "tensor '" + t.name + "': shape " + shape_text(t.shape) + " is too large");
    if (bytes / 4 != t.data.size())
      fail(path, "tensor '" + t.name + "': shape " + shape_text(t.shape) + " holds " +
                     std::to_string(bytes / 4) + " values but the tensor has " +
                     std::to_string(t.data.size()));
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;  // std::map: sorted

  // nlohmann's object is a std::map, so dump() sorts keys; no indent means no
  // whitespace. Pad with spaces so the data section starts 8-byte aligned.
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception&) {
    fail(path, "a tensor name or metadata string is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<uint8_t> head(8 + text.size());
  uint64_t n = text.size();
  for (int b = 0; b < 8; ++b) head[size_t(b)] = uint8_t(n >> (8 * b));
  std::memcpy(head.data() + 8, text.data(), text.size());

  AtomicFile out(path);
  out.write(head.data(), head.size());
  std::vector<uint8_t> buf;
  for (const Tensor& t : file.tensors) {
    const auto* p = reinterpret_cast<const uint8_t*>(t.data.data());
    if constexpr (std::endian::native == std::endian::big) {
      buf.resize(t.data.size() * 4);
      floats_to_le(t.data.data(), t.data.size(), buf.data());
      p = buf.data();
    }
    out.write(p, t.data.size() * 4);
  }
  out.commit();
}

// ---- reading ---------------------------------------------------------------

namespace {

// Parses the header, rejecting repeated keys at any depth (nlohmann keeps the
// last one silently; two entries for one name would hide a tensor).
json parse_header(const std::string& text, const std::string& path) {
  std::vector<std::set<std::string>> keys;
  auto cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty()) {
      const std::string k = parsed.get<std::string>();
      if (!keys.back().insert(k).second) fail(path, "header: key '" + k + "' appears twice in one object");
    }
    return true;
  };
  try {
    return json::parse(text, cb);
  } catch (const json::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (const size_t p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != std::string::npos)
      what = what.substr(p + 2);
    fail(path, "header is not valid JSON: " + what);
  }
}

// An unsigned integer JSON value; false for negatives, floats and the rest.
bool as_u64(const json& j, uint64_t& out) {
  if (!j.is_number_unsigned()) return false;
  out = j.get<uint64_t>();
  return true;
}

std::string show(const json& j) {
  std::string s = j.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

struct Entry {
  std::string name;
  std::vector<uint64_t> shape;
  uint64_t begin = 0, end = 0;
};

// One tensor's header entry: its fields, and its byte range against its
// shape and the data section's size.
Entry read_entry(const std::string& path, const std::string& name, const json& value, uint64_t data_size) {
  const std::string where = "tensor '" + name + "'";
  if (name.empty()) fail(path, "a tensor has an empty name");
  if (!value.is_object()) fail(path, where + ": entry must be an object, got " + show(value));
  for (const auto& [k, v] : value.items())
    if (k != "dtype" && k != "shape" && k != "data_offsets")
      fail(path, where + ": unknown field '" + k + "' (expected dtype, shape, data_offsets)");
  const auto dt = value.find("dtype");
  if (dt == value.end()) fail(path, where + ": missing 'dtype'");
  if (!dt->is_string()) fail(path, where + ": 'dtype' must be a string, got " + show(*dt));
  if (*dt != "F32")
    fail(path, where + ": dtype " + dt->get<std::string>() + " is not supported (Fovea reads only F32)");
  Entry e;
  e.name = name;
  const auto sh = value.find("shape");
  if (sh == value.end()) fail(path, where + ": missing 'shape'");
  if (!sh->is_array()) fail(path, where + ": 'shape' must be a list of integers >= 0, got " + show(*sh));
  for (const json& d : *sh) {
    uint64_t v = 0;
    if (!as_u64(d, v)) fail(path, where + ": 'shape' must be a list of integers >= 0, got " + show(*sh));
    e.shape.push_back(v);
  }
  const auto off = value.find("data_offsets");
  if (off == value.end()) fail(path, where + ": missing 'data_offsets'");
  if (!off->is_array() || off->size() != 2 || !as_u64((*off)[0], e.begin) || !as_u64((*off)[1], e.end))
    fail(path, where + ": 'data_offsets' must be [begin, end] of integers >= 0, got " + show(*off));
  if (e.begin > e.end)
    fail(path, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                   "] end before they begin");
  if (e.end > data_size)
    fail(path, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                   "] run past the data section (" + std::to_string(data_size) + " bytes)");
  uint64_t bytes = 0;
  if (!byte_count(e.shape, bytes))
    fail(path, where + ": shape " + shape_text(e.shape) + " is too large");
  if (bytes != e.end - e.begin)
    fail(path, where + ": shape " + shape_text(e.shape) + " needs " + std::to_string(bytes) +
                   " bytes but data_offsets span " + std::to_string(e.end - e.begin));
  return e;
}

// The ranges, in offset order, must tile the data section exactly: no
// overlap (two tensors sharing bytes), no gap (bytes nobody owns). Sorts
// `entries` by offset.
void check_tiling(const std::string& path, std::vector<Entry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t expect = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < expect)
      fail(path, "tensor '" + e.name + "': data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + "] overlap tensor '" + prev->name + "' (which ends at " +
                     std::to_string(expect) + ")");
    if (e.begin > expect)
      fail(path, "tensor '" + e.name + "': data_offsets begin at " + std::to_string(e.begin) +
                     ", leaving a gap after byte " + std::to_string(expect) + " of the data section");
    expect = e.end;
    prev = &e;
  }
  if (expect != data_size)
    fail(path, "the data section holds " + std::to_string(data_size) + " bytes but the tensors cover " +
                   std::to_string(expect) + " (trailing bytes or a torn file)");
}

// Opens the file, checks its 8-byte header length against its size and
// limits, and returns the header's text; `f` is left at the data section.
std::string read_header_text(const std::string& path, std::ifstream& f, uint64_t& size) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "is a directory, expected a safetensors file");
  errno = 0;
  f.open(path, std::ios::binary);
  if (!f) fail(path, "cannot open file (" + (errno ? errno_text(errno) : std::string("unknown reason")) + ")");
  f.seekg(0, std::ios::end);
  const std::streamoff end_pos = f.tellg();
  if (end_pos < 0) fail(path, "cannot determine the file size");
  size = uint64_t(end_pos);
  f.seekg(0, std::ios::beg);
  if (size < 8) fail(path, "truncated: " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
  uint8_t len_bytes[8];
  if (!f.read(reinterpret_cast<char*>(len_bytes), 8)) fail(path, "read error in the header length");
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= uint64_t(len_bytes[b]) << (8 * b);
  if (n > size - 8)
    fail(path, "header length " + std::to_string(n) + " runs past the end of the file (" +
                   std::to_string(size) + " bytes; truncated or not a safetensors file)");
  if (n > kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(n) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes));
  if (n < 2) fail(path, "header length " + std::to_string(n) + " is too short for a JSON object");
  std::string text(size_t(n), '\0');
  if (!f.read(text.data(), std::streamsize(n))) fail(path, "read error in the header");
  if (text[0] != '{') fail(path, "header does not start with '{' (not a safetensors file?)");
  return text;
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream f;
  uint64_t size = 0;
  const std::string text = read_header_text(path, f, size);
  const uint64_t n = text.size();
  const json header = parse_header(text, path);
  if (!header.is_object()) fail(path, "header must be a JSON object, got " + show(header));
  const uint64_t data_size = size - 8 - n;

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(path, "'__metadata__' must be an object of strings, got " + show(value));
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) fail(path, "'__metadata__': value of '" + k + "' must be a string, got " + show(v));
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(read_entry(path, name, value, data_size));
  }

  check_tiling(path, entries, data_size);

  // The ranges are contiguous and in order: read each tensor straight into
  // its values, with no second copy of the data section.
  out.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    Tensor t;
    t.name = e.name;
    t.shape = e.shape;
    t.data.resize((e.end - e.begin) / 4);
    if (!t.data.empty() && !f.read(reinterpret_cast<char*>(t.data.data()), std::streamsize(e.end - e.begin)))
      fail(path, "tensor '" + e.name + "': read error in the data section");
    le_to_host(t.data.data(), t.data.size());
    out.tensors.push_back(std::move(t));
  }
  return out;
}

}  // namespace fovea::io

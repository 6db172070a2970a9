// safetensors files: exact round trips, a deterministic byte layout, atomic
// writes that leave nothing behind on failure, every kind of malformed file
// rejected with a message naming the path and the tensor or field, and a
// file written by the PyTorch-side tool (tools/torch_parity.py) read back.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "util/error.h"

namespace fs = std::filesystem;
using Catch::Contains;
using fovea::io::SafetensorsFile;
using fovea::io::Tensor;
using fovea::io::read_safetensors;
using fovea::io::write_safetensors;

namespace {

fs::path repo_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() /
           ("fovea_safetensors_test_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  // Names of every entry in the directory (to spot leftover temporary files).
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(path)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void put(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// A file from a header text (unpadded) and a data section.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string s(8, '\0');
  const uint64_t n = header.size();
  for (int b = 0; b < 8; ++b) s[size_t(b)] = char(uint8_t(n >> (8 * b)));
  return s + header + data;
}

// Awkward, never-zero values: signs, magnitudes from 1e-30 to 1e30.
std::vector<float> values(size_t n, uint32_t salt) {
  std::vector<float> v(n);
  uint32_t x = 0x9e3779b9u ^ salt;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    const float m = float(x % 100000 + 1) / 7919.0f;
    v[i] = (x & 1 ? -m : m) * std::pow(10.0f, float(int(x >> 24) % 61 - 30));
  }
  return v;
}

SafetensorsFile sample() {
  SafetensorsFile f;
  f.tensors.push_back({"3.weight", {17, 31}, values(17 * 31, 1)});
  f.tensors.push_back({"3.bias", {17}, values(17, 2)});
  f.tensors.push_back({"scale", {}, {-2.5f}});  // a scalar: shape [], one value
  f.tensors.push_back({"conv.weight", {3, 1, 5, 5}, values(75, 3)});
  f.tensors.push_back({"odd", {1, 3}, values(3, 4)});  // 12 bytes: the next tensor is not 8-aligned
  f.tensors.push_back({"0.weight", {2, 2, 1, 1, 2}, values(8, 5)});
  f.metadata = {{"format", "pt"}, {"model", "{\"input\":[1,28,28]}"}, {"", "empty key"}};
  return f;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

// The message of the fovea::Error that `fn` throws ("" when none).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const fovea::Error& e) {
    return e.what();
  }
  return "";
}

std::string read_error(const TempDir& d, const std::string& header, const std::string& data) {
  const std::string p = d.file("bad.safetensors");
  put(p, raw_file(header, data));
  return error_of([&] { read_safetensors(p); });
}

}  // namespace

TEST_CASE("safetensors: a round trip keeps names, order, shapes, bits and metadata", "[safetensors]") {
  TempDir d;
  SafetensorsFile f = sample();
  // Bit patterns a lossy path would change: NaN payload, infinities, -0, denormals.
  f.tensors.push_back({"special", {6},
                       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity(), -0.0f,
                        std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()}});
  write_safetensors(d.file("m.safetensors"), f);
  const SafetensorsFile g = read_safetensors(d.file("m.safetensors"));
  REQUIRE(g.tensors.size() == f.tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    INFO("tensor " << f.tensors[i].name);
    CHECK(g.tensors[i].name == f.tensors[i].name);  // file order = write order
    CHECK(g.tensors[i].shape == f.tensors[i].shape);
    CHECK(same_bits(g.tensors[i].data, f.tensors[i].data));
  }
  CHECK(g.metadata == f.metadata);
  REQUIRE(g.find("scale") != nullptr);
  CHECK(g.find("scale")->shape.empty());
  CHECK(g.find("scale")->data == std::vector<float>{-2.5f});
  CHECK(g.find("nope") == nullptr);
  CHECK(d.entries() == std::vector<std::string>{"m.safetensors"});
}

TEST_CASE("safetensors: no tensors and no metadata is a valid file", "[safetensors]") {
  TempDir d;
  write_safetensors(d.file("e.safetensors"), {});
  const std::string bytes = slurp(d.file("e.safetensors"));
  CHECK(bytes == raw_file("{}      ", ""));
  const SafetensorsFile g = read_safetensors(d.file("e.safetensors"));
  CHECK(g.tensors.empty());
  CHECK(g.metadata.empty());
}

TEST_CASE("safetensors: the layout is deterministic (sorted keys, no spaces, 8-byte padding)",
          "[safetensors]") {
  TempDir d;
  SafetensorsFile f;
  f.tensors.push_back({"b", {2}, {1.0f, -2.0f}});
  f.tensors.push_back({"a", {}, {0.5f}});
  f.metadata = {{"k", "v"}};
  write_safetensors(d.file("x.safetensors"), f);
  const std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"data_offsets":[8,12],"dtype":"F32","shape":[]},)"
      R"("b":{"data_offsets":[0,8],"dtype":"F32","shape":[2]}})";
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  const float vals[3] = {1.0f, -2.0f, 0.5f};  // little-endian host (x86, arm64)
  const std::string expected = raw_file(padded, std::string(reinterpret_cast<const char*>(vals), 12));
  CHECK(slurp(d.file("x.safetensors")) == expected);

  // Identical input, identical bytes: twice, and under another name.
  const SafetensorsFile s = sample();
  write_safetensors(d.file("s1.safetensors"), s);
  write_safetensors(d.file("s2.safetensors"), s);
  write_safetensors(d.file("s1.safetensors"), s);  // overwriting an existing file
  const std::string b1 = slurp(d.file("s1.safetensors")), b2 = slurp(d.file("s2.safetensors"));
  CHECK(b1 == b2);
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= uint64_t(uint8_t(b1[size_t(b)])) << (8 * b);
  CHECK(n % 8 == 0);
  CHECK(b1.size() == 8 + n + 4 * (17 * 31 + 17 + 1 + 75 + 3 + 8));
}

TEST_CASE("safetensors: malformed files are rejected naming the path and the field", "[safetensors]") {
  TempDir d;
  const std::string f4(4, '\x01'), f8(8, '\x01');  // data for one and two F32 values
  const std::string p = d.file("bad.safetensors");

  SECTION("missing file") {
    CHECK_THAT(error_of([&] { read_safetensors(d.file("none.safetensors")); }),
               Contains("none.safetensors") && Contains("cannot open"));
  }
  SECTION("a directory") {
    CHECK_THAT(error_of([&] { read_safetensors(d.path.string()); }), Contains("is a directory"));
  }
  SECTION("shorter than the 8-byte length") {
    put(p, "\x05\x00\x00");
    CHECK_THAT(error_of([&] { read_safetensors(p); }), Contains("bad.safetensors") && Contains("truncated"));
    put(p, "");
    CHECK_THAT(error_of([&] { read_safetensors(p); }), Contains("truncated"));
  }
  SECTION("header length past the end of the file") {
    std::string b = raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f4);
    b[0] = char(0xff), b[1] = char(0x7f);
    put(p, b);
    CHECK_THAT(error_of([&] { read_safetensors(p); }),
               Contains("bad.safetensors") && Contains("header length 32767 runs past the end"));
    b[7] = char(0xff);  // a length near 2^64 must not wrap around
    put(p, b);
    CHECK_THAT(error_of([&] { read_safetensors(p); }), Contains("runs past the end"));
  }
  SECTION("a truncated file (a valid file cut short)") {
    write_safetensors(p, sample());
    std::string b = slurp(p);
    put(p, b.substr(0, b.size() - 5));
    CHECK_THAT(error_of([&] { read_safetensors(p); }),
               Contains("bad.safetensors") && Contains("run past the data section"));
    put(p, b.substr(0, 40));
    CHECK_THAT(error_of([&] { read_safetensors(p); }), Contains("runs past the end"));
  }
  SECTION("header not JSON, not an object") {
    CHECK_THAT(read_error(d, R"({"a": {"dtype": "F32",)", ""), Contains("not valid JSON"));
    CHECK_THAT(read_error(d, "[1, 2]", ""), Contains("does not start with '{'"));
    CHECK_THAT(read_error(d, "{} x", ""), Contains("not valid JSON"));
    CHECK_THAT(read_error(d, "{", ""), Contains("too short"));
  }
}

TEST_CASE("safetensors: malformed tensor entries are rejected naming the path and the field", "[safetensors]") {
  TempDir d;
  const std::string f4(4, '\x01'), f8(8, '\x01');  // data for one and two F32 values
  const std::string p = d.file("bad.safetensors");

  SECTION("dtype other than F32") {
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", f4),
               Contains("bad.safetensors") && Contains("tensor 'w'") && Contains("F16") &&
                   Contains("only F32"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", f4),
               Contains("'dtype' must be a string"));
    CHECK_THAT(read_error(d, R"({"w":{"shape":[1],"data_offsets":[0,4]}})", f4), Contains("missing 'dtype'"));
  }
  SECTION("bad shape or data_offsets fields") {
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", f4),
               Contains("tensor 'w'") && Contains("'shape'"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", f4),
               Contains("'shape'"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", f4), Contains("missing 'shape'"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", f4),
               Contains("'data_offsets' must be [begin, end]"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[1]}})", f4), Contains("missing 'data_offsets'"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", f4),
               Contains("unknown field 'x'"));
    CHECK_THAT(read_error(d, R"({"w":[1]})", f4), Contains("tensor 'w': entry must be an object"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f8),
               Contains("'w' appears twice"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", f4),
               Contains("too large"));
  }
  SECTION("offsets out of range") {
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f4),
               Contains("tensor 'w'") && Contains("[0, 8] run past the data section (4 bytes)"));
    CHECK_THAT(read_error(d, R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", f8),
               Contains("end before they begin"));
  }
  SECTION("shape and byte count disagree") {
    std::string data(100, '\0');
    CHECK(read_error(d, R"({"3.weight":{"dtype":"F32","shape":[128,3136],"data_offsets":[0,100]}})", data) ==
          p + ": tensor '3.weight': shape [128, 3136] needs 1605632 bytes but data_offsets span 100");
  }
  SECTION("overlapping, gapped and uncovered ranges") {
    CHECK_THAT(read_error(d, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f8),
               Contains("tensor 'b'") && Contains("overlap tensor 'a'"));
    CHECK_THAT(read_error(d, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f4),
               Contains("overlap"));
    CHECK_THAT(read_error(d, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f8),
               Contains("tensor 'a'") && Contains("gap"));
    CHECK_THAT(read_error(d, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", f8 + f4),
               Contains("tensor 'b'") && Contains("gap after byte 4"));
    CHECK_THAT(read_error(d, R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f8),
               Contains("holds 8 bytes but the tensors cover 4"));
  }
  SECTION("metadata that is not an object of strings") {
    CHECK_THAT(read_error(d, R"({"__metadata__":{"epochs":3}})", ""),
               Contains("'__metadata__'") && Contains("'epochs' must be a string"));
    CHECK_THAT(read_error(d, R"({"__metadata__":"x"})", ""), Contains("'__metadata__' must be an object"));
  }
  SECTION("a zero-size tensor is valid") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("z":{"dtype":"F32","shape":[3,0],"data_offsets":[4,4]}})";
    put(p, raw_file(h, f4));
    const SafetensorsFile g = read_safetensors(p);
    REQUIRE(g.tensors.size() == 2);
    CHECK(g.tensors[1].name == "z");
    CHECK(g.tensors[1].shape == std::vector<uint64_t>{3, 0});
    CHECK(g.tensors[1].data.empty());
  }
}

TEST_CASE("safetensors: invalid tensor lists are refused before anything is written", "[safetensors]") {
  TempDir d;
  const std::string p = d.file("m.safetensors");
  write_safetensors(p, sample());
  const std::string before = slurp(p);

  SafetensorsFile dup = sample();
  dup.tensors.push_back({"3.bias", {1}, {1.0f}});
  CHECK_THAT(error_of([&] { write_safetensors(p, dup); }),
             Contains("m.safetensors") && Contains("'3.bias' appears twice"));

  SafetensorsFile empty_name;
  empty_name.tensors.push_back({"", {1}, {1.0f}});
  CHECK_THAT(error_of([&] { write_safetensors(p, empty_name); }), Contains("empty name"));

  SafetensorsFile reserved;
  reserved.tensors.push_back({"__metadata__", {1}, {1.0f}});
  CHECK_THAT(error_of([&] { write_safetensors(p, reserved); }), Contains("reserved"));

  SafetensorsFile short_data;
  short_data.tensors.push_back({"w", {2, 3}, values(5, 9)});
  CHECK_THAT(error_of([&] { write_safetensors(p, short_data); }),
             Contains("tensor 'w'") && Contains("shape [2, 3] holds 6 values but the tensor has 5"));

  SafetensorsFile bad_utf8;
  bad_utf8.tensors.push_back({"\xff\xfe", {1}, {1.0f}});
  CHECK_THAT(error_of([&] { write_safetensors(p, bad_utf8); }), Contains("UTF-8"));

  CHECK(slurp(p) == before);  // the existing file is untouched
  CHECK(d.entries() == std::vector<std::string>{"m.safetensors"});
}

TEST_CASE("safetensors: a failed write leaves no temporary file and the old file intact",
          "[safetensors]") {
  TempDir d;
  const SafetensorsFile f = sample();

  // No such directory; a regular file used as a directory.
  CHECK_THAT(error_of([&] { write_safetensors(d.file("no/such/dir/m.safetensors"), f); }),
             Contains("no/such/dir/m.safetensors") && Contains("cannot create a temporary file"));
  put(d.file("plain"), "x");
  CHECK_THAT(error_of([&] { write_safetensors(d.file("plain/m.safetensors"), f); }),
             Contains("plain/m.safetensors") && Contains("Not a directory"));

  // The target is a non-empty directory: the temporary file is written in
  // full, then the rename fails; the temporary file must be gone.
  fs::create_directories(d.path / "taken");
  put(d.file("taken/keep"), "keep");
  CHECK_THAT(error_of([&] { write_safetensors(d.file("taken"), f); }),
             Contains("taken") && Contains("cannot rename the temporary file"));
  CHECK(d.entries() == std::vector<std::string>{"plain", "taken"});
  CHECK(slurp(d.file("taken/keep")) == "keep");

  // A read-only directory (meaningless for root, who may write anyway).
  if (::geteuid() != 0) {
    fs::create_directories(d.path / "ro");
    write_safetensors(d.file("ro/m.safetensors"), f);
    const std::string before = slurp(d.file("ro/m.safetensors"));
    fs::permissions(d.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    SafetensorsFile g = f;
    g.tensors[0].data[0] += 1.0f;
    CHECK_THAT(error_of([&] { write_safetensors(d.file("ro/m.safetensors"), g); }),
               Contains("ro/m.safetensors") && Contains("Permission denied"));
    fs::permissions(d.path / "ro", fs::perms::owner_all);
    CHECK(slurp(d.file("ro/m.safetensors")) == before);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(d.path / "ro")) left.push_back(e.path().filename().string());
    CHECK(left == std::vector<std::string>{"m.safetensors"});
  }
}

// tests/fixtures/torch_writer.safetensors was written by the pure-Python
// writer in tools/torch_parity.py from PyTorch tensors:
//   /usr/bin/python3 tools/torch_parity.py --write-fixture tests/fixtures/torch_writer.safetensors
TEST_CASE("safetensors: a file from the PyTorch-side writer reads back exactly, and ours matches it",
          "[safetensors]") {
  const std::string path = (repo_root() / "tests" / "fixtures" / "torch_writer.safetensors").string();
  const SafetensorsFile g = read_safetensors(path);
  REQUIRE(g.tensors.size() == 3);
  // 0.weight = arange(24).reshape(2, 3, 4) / 8 - 1; 0.bias = [1.5, -2.25]; scale = 3 (shape []).
  CHECK(g.tensors[0].name == "0.weight");
  CHECK(g.tensors[0].shape == std::vector<uint64_t>{2, 3, 4});
  REQUIRE(g.tensors[0].data.size() == 24);
  for (size_t i = 0; i < 24; ++i) CHECK(g.tensors[0].data[i] == float(i) / 8.0f - 1.0f);
  CHECK(g.tensors[1].name == "0.bias");
  CHECK(g.tensors[1].data == std::vector<float>{1.5f, -2.25f});
  CHECK(g.tensors[2].name == "scale");
  CHECK(g.tensors[2].shape.empty());
  CHECK(g.tensors[2].data == std::vector<float>{3.0f});
  CHECK(g.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"writer", "torch_parity.py"}});

  // Both writers produce the same bytes for the same content.
  TempDir d;
  write_safetensors(d.file("again.safetensors"), g);
  CHECK(slurp(d.file("again.safetensors")) == slurp(path));
}

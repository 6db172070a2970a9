// ONNX export without libprotobuf: the wire-format encoder against known
// encodings (the protobuf documentation's examples), a model read back by a
// small independent wire decoder, the exporter's graph for a tiny model
// (symbolic batch, effective weights of weight standardisation and spectral
// normalisation, one node per layer, errors naming the tensor or layer), and
// the .npy writer. The full check (onnx.checker, OpenCV's DNN module against
// `fovea eval --logits`) is tests/cli/onnx_test.sh.
#include <catch2/catch.hpp>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/npy.h"
#include "io/onnx.h"
#include "io/onnx_export.h"
#include "nn/model_spec.h"
#include "util/error.h"

using Catch::Contains;
using fovea::io::ProtoWriter;
namespace onnx = fovea::io::onnx;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s.push_back(char(uint8_t(v)));
  return s;
}

// A protobuf message decoded one level deep: field number -> values, each
// the varint (wire type 0), the 4 bytes as u32 (wire type 5) or the bytes
// (wire type 2). Fails the test on anything malformed.
struct Field {
  int wire = 0;
  uint64_t number = 0;
  std::string data;
};
using Message = std::multimap<uint32_t, Field>;

uint64_t read_varint(const std::string& s, size_t& pos) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    REQUIRE(pos < s.size());
    const uint8_t b = uint8_t(s[pos++]);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  FAIL("varint longer than 10 bytes");
  return 0;
}

Message decode(const std::string& s) {
  Message m;
  size_t pos = 0;
  while (pos < s.size()) {
    const uint64_t key = read_varint(s, pos);
    Field f;
    f.wire = int(key & 7);
    if (f.wire == 0) {
      f.number = read_varint(s, pos);
    } else if (f.wire == 5) {
      REQUIRE(pos + 4 <= s.size());
      for (int b = 0; b < 4; ++b) f.number |= uint64_t(uint8_t(s[pos + size_t(b)])) << (8 * b);
      pos += 4;
    } else {
      REQUIRE(f.wire == 2);
      const uint64_t n = read_varint(s, pos);
      REQUIRE(pos + n <= s.size());
      f.data = s.substr(pos, n);
      pos += n;
    }
    m.emplace(uint32_t(key >> 3), f);
  }
  return m;
}

std::vector<Field> all(const Message& m, uint32_t field) {
  std::vector<Field> v;
  auto [a, b] = m.equal_range(field);
  for (auto it = a; it != b; ++it) v.push_back(it->second);
  return v;
}
const Field& one(const Message& m, uint32_t field) {
  REQUIRE(m.count(field) == 1);
  return m.find(field)->second;
}

}  // namespace

TEST_CASE("onnx: varints as the protobuf documentation encodes them", "[onnx]") {
  auto varint = [](uint64_t v) {
    std::string s;
    ProtoWriter::append_varint(s, v);
    return s;
  };
  CHECK(varint(0) == bytes({0x00}));
  CHECK(varint(1) == bytes({0x01}));
  CHECK(varint(127) == bytes({0x7f}));
  CHECK(varint(128) == bytes({0x80, 0x01}));
  CHECK(varint(300) == bytes({0xac, 0x02}));
  CHECK(varint(~0ull) == bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST_CASE("onnx: fields of each wire type and a nested message", "[onnx]") {
  ProtoWriter a;
  a.varint(1, 150);  // the documentation's Test1 {a: 150}
  CHECK(a.data() == bytes({0x08, 0x96, 0x01}));
  ProtoWriter b;
  b.bytes(2, "testing");
  CHECK(b.data() == bytes({0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67}));
  ProtoWriter c;
  c.message(3, a);  // Test3 {c: {a: 150}}
  CHECK(c.data() == bytes({0x1a, 0x03, 0x08, 0x96, 0x01}));
  ProtoWriter d;
  d.int64(1, -2);  // int64 negatives take ten bytes
  CHECK(d.data() == bytes({0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  ProtoWriter e;
  e.float32(2, 1.5f);  // 0x3fc00000, little-endian
  CHECK(e.data() == bytes({0x15, 0x00, 0x00, 0xc0, 0x3f}));
  ProtoWriter big;
  big.varint(300, 1);  // key (300 << 3) | 0 = 2400 = 0xe0 0x12
  CHECK(big.data() == bytes({0xe0, 0x12, 0x01}));
  CHECK_THROWS_WITH(big.varint(0, 1), Contains("field number 0"));
}

namespace {

// A model with one node of three attribute kinds, a float and an int64
// initializer, and named input and output dimensions.
onnx::Model sample_model() {
  onnx::Model m;
  m.doc_string = "doc";
  m.metadata = {{"mean", "[0.25]"}};
  m.graph.name = "g";
  m.graph.nodes.push_back({"Conv", "c", {"input", "w"}, {"y"},
                           {onnx::Attribute::of_ints("pads", {1, 0, 1, 0}),
                            onnx::Attribute::of_float("epsilon", 0.5f), onnx::Attribute::of_int("group", 3)}});
  onnx::Tensor w;
  w.name = "w";
  w.dims = {2, 1};
  w.floats = {-1.25f, 3.0f};
  m.graph.initializers.push_back(w);
  onnx::Tensor shape;
  shape.name = "s";
  shape.dims = {2};
  shape.type = onnx::DataType::Int64;
  shape.int64s = {-1, 7};
  m.graph.initializers.push_back(shape);
  m.graph.inputs.push_back({"input", {{0, "batch"}, {5, ""}}});
  m.graph.outputs.push_back({"y", {{0, "batch"}, {2, ""}}});
  return m;
}

}  // namespace

TEST_CASE("onnx: a model read back by an independent decoder", "[onnx]") {
  onnx::Model m = sample_model();
  const Message model = decode(onnx::encode(m));
  CHECK(one(model, 1).number == 7);  // ir_version
  CHECK(one(model, 2).data == "fovea");
  CHECK(one(model, 6).data == "doc");
  const Message opset = decode(one(model, 8).data);
  CHECK(one(opset, 1).data.empty());
  CHECK(one(opset, 2).number == 13);
  const Message meta = decode(one(model, 14).data);
  CHECK(one(meta, 1).data == "mean");
  CHECK(one(meta, 2).data == "[0.25]");

  const Message graph = decode(one(model, 7).data);
  CHECK(one(graph, 2).data == "g");
  const Message node = decode(one(graph, 1).data);
  REQUIRE(all(node, 1).size() == 2);
  CHECK(all(node, 1)[0].data == "input");
  CHECK(all(node, 1)[1].data == "w");
  CHECK(one(node, 2).data == "y");
  CHECK(one(node, 4).data == "Conv");
  const std::vector<Field> attrs = all(node, 5);
  REQUIRE(attrs.size() == 3);
  const Message pads = decode(attrs[0].data);
  CHECK(one(pads, 1).data == "pads");
  CHECK(one(pads, 20).number == 7);  // INTS
  std::vector<uint64_t> ints;
  for (const Field& f : all(pads, 8)) ints.push_back(f.number);
  CHECK(ints == std::vector<uint64_t>{1, 0, 1, 0});
  const Message eps = decode(attrs[1].data);
  CHECK(one(eps, 20).number == 1);  // FLOAT
  CHECK(std::bit_cast<float>(uint32_t(one(eps, 2).number)) == 0.5f);
  const Message group = decode(attrs[2].data);
  CHECK(one(group, 3).number == 3);

  const std::vector<Field> inits = all(graph, 5);
  REQUIRE(inits.size() == 2);
  const Message t = decode(inits[0].data);
  CHECK(all(t, 1).size() == 2);
  CHECK(one(t, 2).number == 1);  // FLOAT
  CHECK(one(t, 8).data == "w");
  const std::string raw = one(t, 9).data;
  REQUIRE(raw.size() == 8);
  CHECK(std::bit_cast<float>(uint32_t(uint8_t(raw[4])) | uint32_t(uint8_t(raw[5])) << 8 |
                             uint32_t(uint8_t(raw[6])) << 16 | uint32_t(uint8_t(raw[7])) << 24) == 3.0f);
  const Message s = decode(inits[1].data);
  CHECK(one(s, 2).number == 7);  // INT64
  CHECK(one(s, 9).data == bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, 0, 0, 0, 0}));

  // input: ValueInfo {name, type {tensor_type {elem_type 1, shape {dim {dim_param "batch"}, dim {dim_value 5}}}}}
  const Message in = decode(one(graph, 11).data);
  CHECK(one(in, 1).data == "input");
  const Message tensor_type = decode(one(decode(one(in, 2).data), 1).data);
  CHECK(one(tensor_type, 1).number == 1);
  const std::vector<Field> dims = all(decode(one(tensor_type, 2).data), 1);
  REQUIRE(dims.size() == 2);
  CHECK(one(decode(dims[0].data), 2).data == "batch");
  CHECK(one(decode(dims[1].data), 1).number == 5);
  CHECK(one(decode(one(graph, 12).data), 1).data == "y");

  onnx::Tensor bad = m.graph.initializers[0];  // "w"
  bad.floats.pop_back();
  m.graph.initializers = {bad};
  CHECK_THROWS_WITH(onnx::encode(m), Contains("'w'") && Contains("1 values"));
}

namespace {

fovea::io::Tensor tensor(std::string name, std::vector<uint64_t> shape, std::vector<float> data) {
  return {std::move(name), std::move(shape), std::move(data)};
}

const onnx::Tensor& initializer(const onnx::Graph& g, const std::string& name) {
  for (const onnx::Tensor& t : g.initializers)
    if (t.name == name) return t;
  FAIL("no initializer " << name);
  return g.initializers.front();
}

}  // namespace

TEST_CASE("onnx: the exported graph of a small model", "[onnx]") {
  // conv2d with weight standardisation (2 filters of 1x1x3... fan-in 3 x 1 x 1),
  // a named layernorm, flatten, dense with spectral normalisation.
  const auto spec = fovea::nn::parse_model_spec_text(
      R"({"input": [3, 2, 2], "classes": 2, "layers": [
           {"type": "conv2d", "out_channels": 2, "kernel": 1, "weight_standardization": true},
           {"type": "layernorm", "name": "ln"},
           {"type": "gelu"},
           {"type": "flatten"},
           {"type": "dense", "units": 2, "spectral_norm": true}]})",
      "tiny.json");
  fovea::io::SafetensorsFile w;
  w.tensors = {tensor("0.weight", {2, 3, 1, 1}, {1, 2, 6, -3, 0.5f, 4}), tensor("0.bias", {2}, {0.1f, -0.2f}),
               tensor("ln.weight", {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}),
               tensor("ln.bias", {2, 2, 2}, {-1, -2, -3, -4, -5, -6, -7, -8}),
               tensor("4.weight_orig", {2, 8}, {4, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2}),
               tensor("4.bias", {2}, {0.5f, 0.25f}), tensor("4.weight_u", {2}, {1, 0}),
               tensor("4.weight_v", {8}, {1, 0, 0, 0, 0, 0, 0, 0})};
  fovea::io::OnnxExportInput in{&spec, &w, "tiny.safetensors", {0.25}, {0.5}, ""};
  const onnx::Model m = fovea::io::export_onnx(in);
  const onnx::Graph& g = m.graph;

  std::vector<std::string> ops;
  for (const onnx::Node& n : g.nodes) ops.push_back(n.op_type);
  CHECK(ops == std::vector<std::string>{"Conv", "Reshape", "InstanceNormalization", "Reshape", "Mul", "Add",
                                        "Div", "Erf", "Add", "Mul", "Mul", "Flatten", "Gemm"});
  CHECK(g.nodes.back().outputs[0] == "logits");
  CHECK(g.nodes.back().inputs[0] == g.nodes[g.nodes.size() - 2].outputs[0]);
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].name == "input");
  CHECK(g.inputs[0].dims[0].param == "batch");
  CHECK(g.inputs[0].dims[1].value == 3);
  CHECK(g.outputs[0].dims[0].param == "batch");
  CHECK(g.outputs[0].dims[1].value == 2);
  CHECK(m.metadata[0] == std::pair<std::string, std::string>{"mean", "[0.25]"});
  CHECK_THAT(m.doc_string, Contains("already standardised"));

  // Weight standardisation: each filter (w - mean) / sqrt(var + 1e-5).
  const onnx::Tensor& cw = initializer(g, "layers.0/weight");
  REQUIRE(cw.floats.size() == 6);
  const double inv0 = 1 / std::sqrt(14.0 / 3 + 1e-5);  // [1, 2, 6]: mean 3, var 14/3
  CHECK(cw.floats[0] == Approx(-2 * inv0).epsilon(1e-6));
  CHECK(cw.floats[2] == Approx(3 * inv0).epsilon(1e-6));
  const double inv1 = 1 / std::sqrt(98.0 / 12 + 1e-5);  // [-3, 0.5, 4]: mean 0.5, var 49/6
  CHECK(cw.floats[3] == Approx(-3.5 * inv1).epsilon(1e-6));
  CHECK(initializer(g, "0.bias").floats == std::vector<float>{0.1f, -0.2f});
  // Layernorm: one group of 8, the elementwise affine as [C, H, W].
  CHECK(initializer(g, "ln/shape").int64s == std::vector<int64_t>{-1, 1, 8});
  CHECK(initializer(g, "ln.weight").dims == std::vector<int64_t>{2, 2, 2});
  // Spectral normalisation: sigma = u^T W v = W[0][0] = 4 with u = e0, v = e0.
  const onnx::Tensor& dw = initializer(g, "layers.4/weight");
  CHECK(dw.floats[0] == 1.0f);
  CHECK(dw.floats[1] == 0.25f);
  CHECK(dw.floats[8] == 0.5f);

  SECTION("a missing or mis-sized tensor names the file and tensor") {
    w.tensors.erase(w.tensors.begin() + 1);
    CHECK_THROWS_WITH(fovea::io::export_onnx(in), Contains("tiny.safetensors") && Contains("'0.bias'"));
    w.tensors.push_back(tensor("0.bias", {3}, {1, 2, 3}));
    CHECK_THROWS_WITH(fovea::io::export_onnx(in), Contains("'0.bias' holds 3 values"));
  }
}

TEST_CASE("onnx: softplus with its own beta and threshold, and pools", "[onnx]") {
  const auto spec = fovea::nn::parse_model_spec_text(
      R"({"input": [1, 5, 5], "classes": 3, "layers": [
           {"type": "maxpool2d", "kernel": 2, "stride": 1, "padding": 1, "dilation": 2},
           {"type": "softplus", "beta": 2, "threshold": 5},
           {"type": "avgpool2d", "kernel": 3, "padding": 1, "count_include_pad": false},
           {"type": "avgpool2d", "kernel": 2, "stride": 1, "padding": 1},
           {"type": "global_avgpool2d"},
           {"type": "dense", "units": 3, "bias": false}]})",
      "pool.json");
  fovea::io::SafetensorsFile w;
  w.tensors = {tensor("5.weight", {3, 1}, {1, 2, 3})};
  const onnx::Model m = fovea::io::export_onnx({&spec, &w, "pool.safetensors", {0}, {1}, ""});
  std::map<std::string, const onnx::Node*> by_op;
  std::vector<std::string> ops;
  for (const onnx::Node& n : m.graph.nodes) {
    if (!by_op.count(n.op_type)) by_op[n.op_type] = &n;
    ops.push_back(n.op_type);
  }
  // count_include_pad with padding: explicit zero padding, then an unpadded average.
  CHECK(ops == std::vector<std::string>{"MaxPool", "Mul", "Softplus", "Div", "Greater", "Where", "AveragePool",
                                        "Pad", "AveragePool", "GlobalAveragePool", "Flatten", "Gemm"});
  CHECK(m.graph.nodes[8].attributes.size() == 2);  // kernel_shape, strides
  CHECK(initializer(m.graph, "layers.3/shape").int64s == std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
  REQUIRE(by_op.count("Where"));
  CHECK(by_op["Where"]->outputs[0] == "layers.1");
  REQUIRE(by_op.count("MaxPool"));
  const auto& mp = by_op["MaxPool"]->attributes;
  REQUIRE(mp.size() == 4);
  CHECK(mp[3].name == "dilations");
  CHECK(mp[2].ints == std::vector<int64_t>{1, 1, 1, 1});
  REQUIRE(by_op.count("AveragePool"));
  CHECK(by_op["AveragePool"]->attributes.back().name == "count_include_pad");
  CHECK(by_op["AveragePool"]->attributes.back().i == 0);
  CHECK(by_op["Gemm"]->inputs.size() == 2);  // no bias
}

TEST_CASE("onnx: npy files of float32 logits", "[onnx]") {
  const std::vector<float> v = {1.5f, -2, 0.25f, 3, 4, -0.5f};
  const std::string f = fovea::io::npy_f32(v, 3, 2);
  CHECK(f.substr(0, 8) == bytes({0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}));
  const size_t header = uint8_t(f[8]) | size_t(uint8_t(f[9])) << 8;
  CHECK((10 + header) % 64 == 0);
  const std::string text = f.substr(10, header);
  CHECK_THAT(text, Contains("'descr': '<f4'") && Contains("'fortran_order': False") && Contains("'shape': (3, 2)"));
  CHECK(text.back() == '\n');
  REQUIRE(f.size() == 10 + header + 24);
  uint32_t bits = 0;
  for (int b = 0; b < 4; ++b) bits |= uint32_t(uint8_t(f[10 + header + 20 + size_t(b)])) << (8 * b);
  CHECK(std::bit_cast<float>(bits) == -0.5f);
  CHECK_THROWS_WITH(fovea::io::npy_f32(v, 4, 2), Contains("4 x 2"));
}

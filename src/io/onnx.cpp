#include "io/onnx.h"

#include <bit>
#include <type_traits>

#include "io/atomic_file.h"
#include "util/error.h"

namespace fovea::io {

// A field key is (field << 3) | wire type, itself a varint.
void ProtoWriter::append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(char(uint8_t(value) | 0x80));
    value >>= 7;
  }
  out.push_back(char(uint8_t(value)));
}

void ProtoWriter::tag(uint32_t field, uint32_t wire_type) {
  if (field == 0 || field >= (1u << 29)) throw Error("protobuf: field number " + std::to_string(field) + " is out of range");
  append_varint(out_, (uint64_t(field) << 3) | wire_type);
}

void ProtoWriter::varint(uint32_t field, uint64_t value) {
  tag(field, 0);
  append_varint(out_, value);
}

void ProtoWriter::float32(uint32_t field, float value) {
  tag(field, 5);
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  for (int b = 0; b < 4; ++b) out_.push_back(char(uint8_t(bits >> (8 * b))));
}

void ProtoWriter::bytes(uint32_t field, std::string_view value) {
  tag(field, 2);
  append_varint(out_, value.size());
  out_.append(value);
}

namespace onnx {

namespace {

// Little-endian bytes of `n` values of 4 or 8 bytes each (raw_data).
template <class T>
std::string raw_le(const std::vector<T>& v) {
  std::string out(v.size() * sizeof(T), '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    const U bits = std::bit_cast<U>(v[i]);
    for (size_t b = 0; b < sizeof(T); ++b) out[i * sizeof(T) + b] = char(uint8_t(bits >> (8 * b)));
  }
  return out;
}

// TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9.
ProtoWriter tensor(const Tensor& t) {
  uint64_t count = 1;
  for (int64_t d : t.dims) count *= uint64_t(d);
  const size_t have = t.type == DataType::Float ? t.floats.size() : t.int64s.size();
  if (count != have)
    throw Error("onnx: initializer '" + t.name + "' has " + std::to_string(have) + " values, its dims hold " +
                std::to_string(count));
  ProtoWriter w;
  for (int64_t d : t.dims) w.int64(1, d);
  w.varint(2, uint64_t(t.type));
  w.bytes(8, t.name);
  w.bytes(9, t.type == DataType::Float ? raw_le(t.floats) : raw_le(t.int64s));
  return w;
}

// AttributeProto: name = 1, f = 2, i = 3, ints = 8, type = 20.
ProtoWriter attribute(const Attribute& a) {
  ProtoWriter w;
  w.bytes(1, a.name);
  switch (a.kind) {
    case Attribute::Kind::Float: w.float32(2, a.f); break;
    case Attribute::Kind::Int: w.int64(3, a.i); break;
    case Attribute::Kind::Ints:
      for (int64_t v : a.ints) w.int64(8, v);
      break;
  }
  w.varint(20, uint64_t(a.kind));
  return w;
}

// NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
ProtoWriter node(const Node& n) {
  ProtoWriter w;
  for (const std::string& s : n.inputs) w.bytes(1, s);
  for (const std::string& s : n.outputs) w.bytes(2, s);
  w.bytes(3, n.name);
  w.bytes(4, n.op_type);
  for (const Attribute& a : n.attributes) w.message(5, attribute(a));
  return w;
}

// ValueInfoProto { name = 1, type = 2: TypeProto { tensor_type = 1:
// { elem_type = 1, shape = 2: TensorShapeProto { dim = 1: { dim_value = 1 | dim_param = 2 } } } } }
ProtoWriter value_info(const ValueInfo& v) {
  ProtoWriter shape;
  for (const Dim& d : v.dims) {
    ProtoWriter dim;
    if (d.param.empty())
      dim.int64(1, d.value);
    else
      dim.bytes(2, d.param);
    shape.message(1, dim);
  }
  ProtoWriter tensor_type;
  tensor_type.varint(1, uint64_t(DataType::Float));
  tensor_type.message(2, shape);
  ProtoWriter type;
  type.message(1, tensor_type);
  ProtoWriter w;
  w.bytes(1, v.name);
  w.message(2, type);
  return w;
}

// GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
ProtoWriter graph(const Graph& g) {
  ProtoWriter w;
  for (const Node& n : g.nodes) w.message(1, node(n));
  w.bytes(2, g.name);
  for (const Tensor& t : g.initializers) w.message(5, tensor(t));
  for (const ValueInfo& v : g.inputs) w.message(11, value_info(v));
  for (const ValueInfo& v : g.outputs) w.message(12, value_info(v));
  return w;
}

}  // namespace

// ModelProto: ir_version = 1, producer_name = 2, producer_version = 3,
// doc_string = 6, graph = 7, opset_import = 8 (domain = 1, version = 2),
// metadata_props = 14 (key = 1, value = 2).
std::string encode(const Model& m) {
  ProtoWriter w;
  w.int64(1, m.ir_version);
  w.bytes(2, m.producer_name);
  if (!m.producer_version.empty()) w.bytes(3, m.producer_version);
  if (!m.doc_string.empty()) w.bytes(6, m.doc_string);
  w.message(7, graph(m.graph));
  ProtoWriter opset;
  opset.bytes(1, "");
  opset.int64(2, m.opset);
  w.message(8, opset);
  for (const auto& [key, value] : m.metadata) {
    ProtoWriter entry;
    entry.bytes(1, key);
    entry.bytes(2, value);
    w.message(14, entry);
  }
  return w.data();
}

void write_model(const std::string& path, const Model& m) { write_file_atomically(path, encode(m)); }

}  // namespace onnx
}  // namespace fovea::io

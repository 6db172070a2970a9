// ONNX files without libprotobuf: a protobuf wire-format encoder (varints,
// 32-bit floats, length-delimited fields) and the handful of onnx.proto
// messages an inference graph needs (ModelProto, GraphProto, NodeProto,
// TensorProto, ValueInfoProto, AttributeProto). Field numbers are those of
// onnx.proto (ONNX 1.12); repeated scalars are written unpacked, as proto2
// declares them, and tensor data as raw_data (little-endian).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fovea::io {

// Appends protobuf fields to a byte string. Field numbers are >= 1.
class ProtoWriter {
 public:
  // Wire type 0: int32, int64 (negative values as 10-byte two's complement), enum, bool.
  void varint(uint32_t field, uint64_t value);
  void int64(uint32_t field, int64_t value) { varint(field, uint64_t(value)); }
  // Wire type 5: float.
  void float32(uint32_t field, float value);
  // Wire type 2: string, bytes, or an embedded message.
  void bytes(uint32_t field, std::string_view value);
  void message(uint32_t field, const ProtoWriter& m) { bytes(field, m.data()); }
  const std::string& data() const { return out_; }

  // The base-128 varint encoding of `value` (300 -> ac 02).
  static void append_varint(std::string& out, uint64_t value);

 private:
  void tag(uint32_t field, uint32_t wire_type);
  std::string out_;
};

namespace onnx {

enum class DataType : int32_t { Float = 1, Int64 = 7 };  // TensorProto.DataType

// An initializer: float data or int64 data, row-major.
struct Tensor {
  std::string name;
  std::vector<int64_t> dims;
  DataType type = DataType::Float;
  std::vector<float> floats;
  std::vector<int64_t> int64s;
};

struct Attribute {
  enum class Kind : int32_t { Float = 1, Int = 2, Ints = 7 };  // AttributeProto.AttributeType
  std::string name;
  Kind kind = Kind::Int;
  float f = 0;
  int64_t i = 0;
  std::vector<int64_t> ints;
  static Attribute of_float(std::string n, float v) { return {std::move(n), Kind::Float, v, 0, {}}; }
  static Attribute of_int(std::string n, int64_t v) { return {std::move(n), Kind::Int, 0, v, {}}; }
  static Attribute of_ints(std::string n, std::vector<int64_t> v) {
    return {std::move(n), Kind::Ints, 0, 0, std::move(v)};
  }
};

struct Node {
  std::string op_type, name;
  std::vector<std::string> inputs, outputs;
  std::vector<Attribute> attributes;
};

// A float tensor's type and shape; a dimension is a size, or a name when
// param is non-empty (a symbolic dimension such as "batch").
struct Dim {
  int64_t value = 0;
  std::string param;
};
struct ValueInfo {
  std::string name;
  std::vector<Dim> dims;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs, outputs;
};

struct Model {
  int64_t ir_version = 7;
  int64_t opset = 13;  // of the default domain ""
  std::string producer_name = "fovea", producer_version, doc_string;
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props
  Graph graph;
};

// The serialised ModelProto.
std::string encode(const Model& m);

// Writes encode(m) to `path` atomically (a temporary file in the same
// directory, then a rename). Throws fovea::Error naming the path.
void write_model(const std::string& path, const Model& m);

}  // namespace onnx
}  // namespace fovea::io

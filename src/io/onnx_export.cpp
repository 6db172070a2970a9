#include "io/onnx_export.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "ops/weight_norm.h"
#include "util/error.h"

namespace fovea::io {

namespace {

using nn::LayerSpec;
using nn::LayerType;
using nn::Shape;
using onnx::Attribute;

// PyTorch's SELU constants (torch.nn.SELU).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// A value of the graph: its name and its rank, 2 ([N, F], flat) or 4
// ([N, C, H, W]); `shape` is the per-sample shape of the spec.
struct Value {
  std::string name;
  bool flat = false;
  Shape shape;
};

std::vector<int64_t> dims_of(const Shape& s, bool flat) {
  return flat ? std::vector<int64_t>{-1, int64_t(s.c)} : std::vector<int64_t>{-1, s.c, s.h, s.w};
}

// [C, 1, 1] (or [C] for a flat value): broadcasts per channel over [N, C, H, W].
std::vector<int64_t> channel_dims(uint32_t c, bool flat) {
  return flat ? std::vector<int64_t>{c} : std::vector<int64_t>{c, 1, 1};
}

class Exporter {
 public:
  explicit Exporter(const OnnxExportInput& in) : in_(in), spec_(*in.spec) {
    used_ = {"input", "logits"};
  }

  onnx::Graph run() {
    std::vector<Value> values;
    for (size_t n = 0; n < spec_.layers.size(); ++n) {
      const LayerSpec& l = spec_.layers[n];
      std::vector<Value> ins;
      for (int32_t i : l.inputs)
        ins.push_back(i < 0 ? Value{"input", false, spec_.input()} : values[size_t(i)]);
      scope_ = l.name;
      layer_ = n;
      Value v = layer(l, ins);
      v.shape = l.out;
      values.push_back(v);
    }
    // The last layer's value becomes "logits" [N, K].
    Value last = values.back();
    if (!last.flat) {
      add("Flatten", {last.name}, {Attribute::of_int("axis", 1)}, "logits");
    } else {
      for (onnx::Node& node : graph_.nodes)
        if (node.outputs[0] == last.name) node.outputs[0] = "logits";
    }
    graph_.name = "fovea";
    graph_.inputs.push_back({"input", {{0, "batch"}, {spec_.channels, ""}, {spec_.height, ""}, {spec_.width, ""}}});
    graph_.outputs.push_back({"logits", {{0, "batch"}, {spec_.classes, ""}}});
    return std::move(graph_);
  }

 private:
  // A name no other value or initializer has: `base`, else base_1, base_2, ...
  std::string unique(const std::string& base) {
    std::string name = base;
    for (int k = 1; !used_.insert(name).second; ++k) name = base + "_" + std::to_string(k);
    return name;
  }
  // One node; its output is named `out` (made unique) or scope/op.
  std::string add(const std::string& op, std::vector<std::string> inputs, std::vector<Attribute> attrs,
                  const std::string& out = "") {
    onnx::Node node;
    node.op_type = op;
    node.outputs = {unique(out.empty() ? scope_ + "/" + op : out)};
    node.name = node.outputs[0];
    node.inputs = std::move(inputs);
    node.attributes = std::move(attrs);
    graph_.nodes.push_back(std::move(node));
    return graph_.nodes.back().outputs[0];
  }
  std::string constant(const std::string& name, std::vector<int64_t> dims, const std::vector<double>& v) {
    onnx::Tensor t;
    t.name = unique(name);
    t.dims = std::move(dims);
    t.floats.assign(v.begin(), v.end());
    graph_.initializers.push_back(std::move(t));
    return graph_.initializers.back().name;
  }
  std::string scalar(const std::string& what, double v) { return constant(scope_ + "/" + what, {}, {v}); }
  // An int64 vector (a Reshape's shape, a Pad's pads).
  std::string shape_constant(const std::vector<int64_t>& dims) {
    onnx::Tensor t;
    t.name = unique(scope_ + "/shape");
    t.dims = {int64_t(dims.size())};
    t.type = onnx::DataType::Int64;
    t.int64s = dims;
    graph_.initializers.push_back(std::move(t));
    return graph_.initializers.back().name;
  }

  // The stored tensor `suffix` of the current layer, which must hold `count` values.
  std::vector<double> stored(const std::string& suffix, uint64_t count) {
    const std::string name = nn::tensor_prefix(spec_.layers[layer_], layer_) + "." + suffix;
    const Tensor* t = in_.weights->find(name);
    if (!t)
      throw Error(in_.weights_path + ": no tensor '" + name + "', which layer " + scope_ + " (" +
                  nn::layer_type_name(spec_.layers[layer_].type) + ") needs");
    if (t->data.size() != count)
      throw Error(in_.weights_path + ": tensor '" + name + "' holds " + std::to_string(t->data.size()) +
                  " values, layer " + scope_ + " needs " + std::to_string(count));
    return {t->data.begin(), t->data.end()};
  }
  std::string stored_constant(const std::string& suffix, std::vector<int64_t> dims) {
    uint64_t count = 1;
    for (int64_t d : dims) count *= uint64_t(d);
    return constant(nn::tensor_prefix(spec_.layers[layer_], layer_) + "." + suffix, dims, stored(suffix, count));
  }

  // The weight a conv2d or dense layer multiplies by, [rows, cols] row-major.
  std::vector<double> effective_weight(const LayerSpec& l, uint32_t rows, uint32_t cols) {
    const uint64_t n = uint64_t(rows) * cols;
    if (l.spectral_norm) {
      // sigma = u^T W v with the stored u and v (evaluation runs no power iteration).
      std::vector<double> w = stored("weight_orig", n), u = stored("weight_u", rows), v = stored("weight_v", cols);
      double sigma = 0;
      for (uint64_t o = 0; o < rows; ++o) {
        double wv = 0;
        for (uint64_t j = 0; j < cols; ++j) wv += w[o * cols + j] * v[j];
        sigma += u[o] * wv;
      }
      for (double& e : w) e /= sigma;
      return w;
    }
    std::vector<double> w = stored("weight", n);
    if (l.weight_standardization) {
      for (uint64_t o = 0; o < rows; ++o) {
        double* x = &w[o * cols];
        double mean = 0, var = 0;
        for (uint64_t j = 0; j < cols; ++j) mean += x[j];
        mean /= cols;
        for (uint64_t j = 0; j < cols; ++j) var += (x[j] - mean) * (x[j] - mean);
        const double invstd = 1.0 / std::sqrt(var / cols + double(ops::kWeightStandardizeEps));
        for (uint64_t j = 0; j < cols; ++j) x[j] = (x[j] - mean) * invstd;
      }
    }
    return w;
  }

  Value rank4(const Value& v) {
    if (!v.flat) return v;
    return {add("Reshape", {v.name, shape_constant(dims_of(v.shape, false))}, {}), false, v.shape};
  }
  Value rank2(const Value& v) {
    if (v.flat) return v;
    return {add("Flatten", {v.name}, {Attribute::of_int("axis", 1)}), true, v.shape};
  }
  // Inputs of add and concat at one rank: all flat when any is.
  std::vector<std::string> same_rank(const std::vector<Value>& ins, bool& flat) {
    flat = false;
    for (const Value& v : ins) flat |= v.flat;
    std::vector<std::string> names;
    for (const Value& v : ins) names.push_back(flat ? rank2(v).name : v.name);
    return names;
  }

  // The stored per-channel weight and bias, or 1 and 0 without affine.
  std::pair<std::string, std::string> channel_affine(bool affine, uint32_t c) {
    if (affine) return {stored_constant("weight", {c}), stored_constant("bias", {c})};
    return {constant(scope_ + "/ones", {c}, std::vector<double>(c, 1.0)),
            constant(scope_ + "/zeros", {c}, std::vector<double>(c, 0.0))};
  }

  static std::vector<int64_t> pair(const uint32_t v[2]) { return {v[0], v[1]}; }
  static std::vector<int64_t> pads(const uint32_t v[2]) { return {v[0], v[1], v[0], v[1]}; }

  // x normalised over groups of its values: Reshape [N, G, -1],
  // InstanceNormalization (scale 1, bias 0), Reshape back, then the affine
  // part (weight and bias of `param_dims`) when given.
  Value grouped_norm(const Value& x, uint32_t groups, float eps, bool affine, std::vector<int64_t> param_dims) {
    const int64_t per_group = int64_t(x.shape.size() / groups);
    std::string g = add("Reshape", {x.name, shape_constant({-1, groups, per_group})}, {});
    const auto [ones, zeros] = channel_affine(false, groups);
    g = add("InstanceNormalization", {g, ones, zeros}, {Attribute::of_float("epsilon", eps)});
    const std::string y = add("Reshape", {g, shape_constant(dims_of(x.shape, x.flat))}, {});
    return {affine ? scale_shift(y, param_dims) : y, x.flat, x.shape};
  }
  // y * weight + bias with the stored tensors of shape `dims` (broadcast).
  std::string scale_shift(const std::string& y, const std::vector<int64_t>& dims) {
    return add("Add", {add("Mul", {y, stored_constant("weight", dims)}, {}), stored_constant("bias", dims)}, {});
  }

  Value activation(const LayerSpec& l, const Value& x) {
    auto unary = [&](const char* op, std::vector<Attribute> attrs = {}) {
      return Value{add(op, {x.name}, std::move(attrs), scope_), x.flat, x.shape};
    };
    switch (l.type) {
      case LayerType::Relu: return unary("Relu");
      case LayerType::LeakyRelu: return unary("LeakyRelu", {Attribute::of_float("alpha", l.negative_slope)});
      case LayerType::Elu: return unary("Elu", {Attribute::of_float("alpha", l.alpha)});
      case LayerType::Selu:
        return unary("Selu", {Attribute::of_float("alpha", float(kSeluAlpha)),
                              Attribute::of_float("gamma", float(kSeluScale))});
      case LayerType::Tanh: return unary("Tanh");
      case LayerType::Sigmoid: return unary("Sigmoid");
      case LayerType::Gelu: {
        // 0.5 x (1 + erf(x / sqrt 2))
        std::string e = add("Erf", {add("Div", {x.name, scalar("sqrt2", std::sqrt(2.0))}, {})}, {});
        e = add("Mul", {x.name, add("Add", {e, scalar("one", 1.0)}, {})}, {});
        return {add("Mul", {e, scalar("half", 0.5)}, {}, scope_), x.flat, x.shape};
      }
      case LayerType::Softplus: {
        if (l.beta == 1.0f && l.threshold == 20.0f) return unary("Softplus");
        // beta x > threshold ? x : log(1 + exp(beta x)) / beta
        const std::string bx = add("Mul", {x.name, scalar("beta", l.beta)}, {});
        const std::string sp = add("Div", {add("Softplus", {bx}, {}), scalar("beta_div", l.beta)}, {});
        const std::string above = add("Greater", {bx, scalar("threshold", l.threshold)}, {});
        return {add("Where", {above, x.name, sp}, {}, scope_), x.flat, x.shape};
      }
      default: throw Error("internal: not an activation");
    }
  }

  // The evaluation form of one layer. Every layer type has a case; a type
  // added to the spec without one falls through to the error below.
  // Layers that are the identity in evaluation (the dropout family) return
  // ins[0] here; randomised pools return their evaluation pool.
  // GlobalAveragePool -> Conv 1x1 (fc1) -> Relu -> Conv 1x1 (fc2) -> Sigmoid -> Mul.
  Value squeeze_excitation(const LayerSpec& l, const Value& x4) {
    const int64_t c = x4.shape.c, s = l.squeeze;
    const std::string g = add("GlobalAveragePool", {x4.name}, {});
    const std::string h = add("Conv", {g, stored_constant("fc1.weight", {s, c, 1, 1}), stored_constant("fc1.bias", {s})},
                              {Attribute::of_ints("kernel_shape", {1, 1})});
    const std::string z = add("Conv", {add("Relu", {h}, {}), stored_constant("fc2.weight", {c, s, 1, 1}),
                                       stored_constant("fc2.bias", {c})},
                              {Attribute::of_ints("kernel_shape", {1, 1})});
    return {add("Mul", {x4.name, add("Sigmoid", {z}, {})}, {}, scope_), false, x4.shape};
  }

  Value dense(const LayerSpec& l, const Value& x) {
    const Value x2 = rank2(x);
    const uint32_t cols = uint32_t(x.shape.size());
    const std::string w = constant(scope_ + "/weight", {l.units, cols}, effective_weight(l, l.units, cols));
    std::vector<std::string> inputs = {x2.name, w};
    if (l.bias) inputs.push_back(stored_constant("bias", {l.units}));
    return {add("Gemm", inputs, {Attribute::of_int("transB", 1)}, scope_), true, x.shape};
  }

  Value conv2d(const LayerSpec& l, const Value& x) {
    const Value x4 = rank4(x);
    const uint32_t cg = x.shape.c / l.groups, cols = cg * l.kernel[0] * l.kernel[1];
    const std::string w = constant(scope_ + "/weight", {l.out_channels, cg, l.kernel[0], l.kernel[1]},
                                   effective_weight(l, l.out_channels, cols));
    std::vector<std::string> inputs = {x4.name, w};
    if (l.bias) inputs.push_back(stored_constant("bias", {l.out_channels}));
    return {add("Conv", inputs,
                {Attribute::of_ints("kernel_shape", pair(l.kernel)), Attribute::of_ints("strides", pair(l.stride)),
                 Attribute::of_ints("pads", pads(l.padding)), Attribute::of_ints("dilations", pair(l.dilation)),
                 Attribute::of_int("group", l.groups)},
                scope_),
            false, x.shape};
  }

  Value conv_transpose2d(const LayerSpec& l, const Value& x) {
    const Value x4 = rank4(x);
    std::vector<std::string> inputs = {
        x4.name, stored_constant("weight", {x.shape.c, l.out_channels / l.groups, l.kernel[0], l.kernel[1]})};
    if (l.bias) inputs.push_back(stored_constant("bias", {l.out_channels}));
    std::vector<Attribute> attrs = {
        Attribute::of_ints("kernel_shape", pair(l.kernel)), Attribute::of_ints("strides", pair(l.stride)),
        Attribute::of_ints("pads", pads(l.padding)), Attribute::of_ints("output_padding", pair(l.output_padding)),
        Attribute::of_int("group", l.groups)};
    if (l.dilation[0] != 1 || l.dilation[1] != 1) attrs.push_back(Attribute::of_ints("dilations", pair(l.dilation)));
    return {add("ConvTranspose", inputs, attrs, scope_), false, x.shape};
  }

  // Explicit zero padding for an average that counts it: the same
  // windows and divisor, and OpenCV 4.6 ignores count_include_pad.
  Value pool(const LayerSpec& l, const Value& x) {
    const bool max = l.type == LayerType::MaxPool2d;
    std::string x4 = rank4(x).name;
    std::vector<Attribute> attrs = {Attribute::of_ints("kernel_shape", pair(l.kernel)),
                                    Attribute::of_ints("strides", pair(l.stride))};
    const bool padded = l.padding[0] != 0 || l.padding[1] != 0;
    if (!max && l.count_include_pad && padded) {
      // Zeros padded explicitly, then an unpadded average: the same
      // windows and divisor, and OpenCV 4.6 ignores count_include_pad.
      const int64_t ph = l.padding[0], pw = l.padding[1];
      x4 = add("Pad", {x4, shape_constant({0, 0, ph, pw, 0, 0, ph, pw})}, {});
    } else {
      attrs.push_back(Attribute::of_ints("pads", pads(l.padding)));
      if (!max) attrs.push_back(Attribute::of_int("count_include_pad", l.count_include_pad ? 1 : 0));
    }
    if (max && (l.dilation[0] != 1 || l.dilation[1] != 1))
      attrs.push_back(Attribute::of_ints("dilations", pair(l.dilation)));
    return {add(max ? "MaxPool" : "AveragePool", {x4}, attrs, scope_), false, x.shape};
  }

  Value instance_norm(const LayerSpec& l, const Value& x) {
    // The affine part as Mul/Add: OpenCV 4.6 applies InstanceNormalization's
    // own scale and bias wrongly to every sample after the first.
    const uint32_t c = x.shape.c;
    const auto [ones, zeros] = channel_affine(false, c);
    const std::string y = add("InstanceNormalization", {rank4(x).name, ones, zeros},
                              {Attribute::of_float("epsilon", l.eps)});
    return {l.affine ? scale_shift(y, channel_dims(c, false)) : y, false, x.shape};
  }

  Value layer(const LayerSpec& l, const std::vector<Value>& ins) {
    const Value& x = ins[0];
    switch (l.type) {
      case LayerType::Flatten:
        return {add("Flatten", {x.name}, {Attribute::of_int("axis", 1)}, scope_), true, x.shape};
      case LayerType::Reshape:
        return {add("Reshape", {x.name, shape_constant(dims_of(l.out, false))}, {}, scope_), false, x.shape};
      case LayerType::Dense:
        return dense(l, x);
      case LayerType::Conv2d:
        return conv2d(l, x);
      case LayerType::ConvTranspose2d:
        return conv_transpose2d(l, x);
      case LayerType::MaxPool2d:
      case LayerType::AvgPool2d:
        return pool(l, x);
      case LayerType::GlobalAvgPool2d: {
        const std::string g = add("GlobalAveragePool", {rank4(x).name}, {});
        return {add("Flatten", {g}, {Attribute::of_int("axis", 1)}, scope_), true, x.shape};
      }
      case LayerType::Add: {
        bool flat = false;
        const std::vector<std::string> names = same_rank(ins, flat);
        std::string sum = names[0];
        for (size_t i = 1; i < names.size(); ++i)
          sum = add("Add", {sum, names[i]}, {}, i + 1 == names.size() ? scope_ : "");
        return {sum, flat, x.shape};
      }
      case LayerType::Concat: {
        bool flat = false;
        return {add("Concat", same_rank(ins, flat), {Attribute::of_int("axis", 1)}, scope_), flat, x.shape};
      }
      case LayerType::ChannelShuffle: {
        const int64_t g = l.groups, n = x.shape.c / l.groups;
        const int64_t plane = int64_t(x.shape.h) * x.shape.w;  // 4-D throughout (OpenCV 4.6 runs no 5-D Transpose)
        const std::string r = add("Reshape", {rank4(x).name, shape_constant({-1, g, n, plane})}, {});
        const std::string t = add("Transpose", {r}, {Attribute::of_ints("perm", {0, 2, 1, 3})});
        return {add("Reshape", {t, shape_constant(dims_of(x.shape, false))}, {}, scope_), false, x.shape};
      }
      case LayerType::SqueezeExcitation:
        return squeeze_excitation(l, rank4(x));
      case LayerType::BatchNorm2d:
      case LayerType::BatchNorm1d: {
        const uint32_t c = x.shape.c;
        const auto [scale, bias] = channel_affine(l.affine, c);
        return {add("BatchNormalization",
                    {x.name, scale, bias, stored_constant("running_mean", {c}), stored_constant("running_var", {c})},
                    {Attribute::of_float("epsilon", l.eps)}, scope_),
                x.flat, x.shape};
      }
      case LayerType::InstanceNorm2d:
        return instance_norm(l, x);
      case LayerType::GroupNorm:
        return grouped_norm(x, l.num_groups, l.eps, l.affine, channel_dims(x.shape.c, x.flat));
      case LayerType::LayerNorm:
        return grouped_norm(x, 1, l.eps, l.affine,
                            x.shape.flat() ? std::vector<int64_t>{x.shape.c}
                                           : std::vector<int64_t>{x.shape.c, x.shape.h, x.shape.w});
      default:
        if (nn::is_activation(l.type)) return activation(l, x);
    }
    throw Error("model " + spec_.path + ": layer " + scope_ + " (" + nn::layer_type_name(l.type) +
                ") has no ONNX export");
  }

  const OnnxExportInput& in_;
  const nn::ModelSpec& spec_;
  onnx::Graph graph_;
  std::set<std::string> used_;
  std::string scope_;
  size_t layer_ = 0;
};

}  // namespace

onnx::Model export_onnx(const OnnxExportInput& in) {
  if (!in.spec || !in.weights) throw Error("internal: export_onnx without a spec or weights");
  const nn::ModelSpec& spec = *in.spec;
  onnx::Model m;
  m.producer_version = in.producer_version;
  m.graph = Exporter(in).run();
  const std::string mean = nlohmann::json(in.mean).dump(), std = nlohmann::json(in.std).dump();
  m.doc_string = "Fovea model " + spec.path +
                 " in evaluation mode. input: [batch, C, H, W] float32 images already standardised per "
                 "channel, (pixel / 255 - mean[c]) / std[c], with mean " + mean + " and std " + std +
                 "; output: logits [batch, " + std::to_string(spec.classes) + "] (no softmax).";
  m.metadata = {{"mean", mean}, {"std", std}, {"spec", spec.json}, {"loss", nn::loss_json(spec.loss)}};
  return m;
}

}  // namespace fovea::io

// The model graph end to end: the gradients one recorded training step
// computes for every parameter (through conv2d, a residual add, a concat,
// a flatten read by two layers and their gradient sums) match finite
// differences of the loss that the evaluation program computes.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "data/split.h"
#include "gpu/harness.h"
#include "nn/model.h"

using namespace fovea;

namespace {

const char* kGraph = R"({"input": [2, 6, 5], "classes": 3, "layers": [
  {"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1, "name": "a"},
  {"type": "relu", "name": "r"},
  {"type": "conv2d", "out_channels": 3, "kernel": [3, 2], "padding": [1, 1], "stride": 2, "name": "b"},
  {"type": "conv2d", "out_channels": 3, "kernel": 1, "stride": 2, "inputs": ["r"], "bias": false, "name": "c"},
  {"type": "add", "inputs": ["b", "c"], "name": "sum"},
  {"type": "concat", "inputs": ["sum", "c"]},
  {"type": "flatten", "name": "flat"},
  {"type": "dense", "units": 4, "name": "d1"},
  {"type": "dense", "units": 4, "inputs": ["flat"], "name": "d2"},
  {"type": "add", "inputs": ["d1", "d2"]},
  {"type": "relu"},
  {"type": "dense", "units": 3}]})";

struct Harness {
  nn::Model model;
  gpu::Replayer train, eval;
  explicit Harness(const nn::ModelSpec& spec, const nn::ModelOptions& o)
      : model(test::context(), spec, o), train(model.train_program(), 1), eval(model.eval_program(), 1) {}
  // Random pixels and labels for every row of the batch in slot 0.
  void fill_batch(uint64_t seed = 42) {
    data::Rng rng(seed);
    const nn::ModelSpec& spec = model.spec();
    auto* images = static_cast<uint8_t*>(model.images_ring().host(0));
    for (uint32_t i = 0; i < model.batch() * spec.input_features(); ++i) images[i] = uint8_t(rng.below(256));
    auto* labels = static_cast<uint32_t*>(model.labels_ring().host(0));
    for (uint32_t r = 0; r < model.batch(); ++r) labels[r] = uint32_t(rng.below(spec.classes));
  }
};

}  // namespace

// feature_sigma > 0: the model smooths every conv2d output (and gradient)
// with the 3x3 Gaussian of that sigma (Curriculum by Smoothing).
// train_loss: the loss is the training program's (lr 0, so it leaves the
// parameters alone; the layer state is restored before each run), for
// random layers whose masks the fixed step fixes; the evaluation program
// would run them as the identity.
static void check_model_gradients(const char* text, float feature_sigma = 0, bool train_loss = false) {
  const nn::ModelSpec spec = nn::parse_model_spec_text(text, "graph.json");
  nn::ModelOptions o;
  o.batch = 5;
  o.slots = 1;
  o.optim.momentum = 0;
  o.channel_mean = {0.4, 0.6};
  o.channel_std = {0.3, 0.2};
  o.feature_smoothing = feature_sigma > 0;
  Harness h(spec, o);
  h.model.init_parameters(3);

  // One batch of 4 valid rows (a padding row too), random pixels and labels.
  h.fill_batch();
  nn::StepParams sp;
  sp.lr = 0.0f;  // the SGD step leaves the parameters as they are
  sp.rows = 4;
  sp.feature_sigma = feature_sigma;
  sp.step = 12;
  sp.seed = 77;
  std::memcpy(h.model.params_ring().host(0), &sp, sizeof sp);

  const std::vector<float> state = h.model.download_state();
  h.train.submit(h.train.acquire());
  h.train.finish();
  const std::vector<float> grads = h.model.download_gradients();
  const std::vector<float> params = h.model.download_parameters();
  REQUIRE(params == h.model.download_parameters());

  auto loss_at = [&](const std::vector<float>& p) {
    h.model.upload_parameters(p);
    gpu::Replayer& program = train_loss ? h.train : h.eval;
    const gpu::View& sums = train_loss ? h.model.train_sums() : h.model.eval_sums();
    if (train_loss) h.model.upload_state(state);
    std::memset(sums.host(0), 0, sizeof(ops::MetricSums));
    program.submit(program.acquire());
    program.finish();
    ops::MetricSums s;
    std::memcpy(&s, sums.host(0), sizeof s);
    REQUIRE(s.count == sp.rows);
    return (double(s.loss_sum) - double(s.loss_compensation)) / s.count;
  };

  const double eps = 2e-3;
  int checked = 0;
  for (const nn::ParamTensor& t : h.model.tensors()) {
    for (uint64_t k : {uint64_t(0), t.count / 2, t.count - 1}) {
      const uint64_t i = t.offset + k;
      std::vector<float> p = params;
      p[i] = params[i] + float(eps);
      const double up = loss_at(p);
      p[i] = params[i] - float(eps);
      const double down = loss_at(p);
      const double fd = (up - down) / (double(float(params[i] + float(eps))) - double(float(params[i] - float(eps))));
      INFO(t.name << "[" << k << "]: gradient " << grads[i] << ", finite difference " << fd);
      CHECK(std::fabs(grads[i] - fd) <= 2e-3 + 3e-2 * std::fabs(fd));
      ++checked;
    }
  }
  CHECK(checked == 3 * int(h.model.tensors().size()));
  // Every parameter tensor received a gradient.
  for (const nn::ParamTensor& t : h.model.tensors()) {
    double norm = 0;
    for (uint64_t k = 0; k < t.count; ++k) norm += std::fabs(grads[t.offset + k]);
    INFO(t.name);
    CHECK(norm > 0);
  }
}

TEST_CASE("model gradients through conv, add, concat and shared inputs match finite differences",
          "[model]") {
  check_model_gradients(kGraph);
}

TEST_CASE("model gradients with feature smoothing after every conv match finite differences",
          "[model]") {
  check_model_gradients(kGraph, 1.0f);
}

TEST_CASE("model gradients through max, average and global pooling match finite differences",
          "[model]") {
  check_model_gradients(R"({"input": [2, 9, 8], "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1, "name": "m"},
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "avgpool2d", "kernel": 2, "stride": 1, "padding": 1, "count_include_pad": false},
    {"type": "global_avgpool2d", "name": "g"},
    {"type": "conv_transpose2d", "out_channels": 2, "kernel": 3, "stride": 2, "padding": 1,
     "output_padding": 1, "inputs": ["m"], "name": "up"},
    {"type": "global_avgpool2d", "inputs": ["up"]},
    {"type": "concat", "inputs": ["g", "layers.6"]},
    {"type": "dense", "units": 3}]})");
}

// BatchNorm is left out here: its evaluation program uses the running
// statistics, so the evaluation loss is not the training loss; the op tests
// check its backward and tests/cli/torch_parity_test.sh whole trainings.
// Smooth activations follow the norms: a weight step of 2e-3 moves every
// normalised value of a group, and a relu there let the finite difference
// straddle a kink (measured: 10% off with relu, within 3e-2 when smooth).
TEST_CASE("model gradients through layer, instance and group normalisation match finite differences",
          "[model]") {
  check_model_gradients(R"({"input": [2, 6, 5], "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "weight_standardization": true},
    {"type": "groupnorm", "num_groups": 2},
    {"type": "tanh"},
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "instancenorm2d", "affine": true},
    {"type": "softplus"},
    {"type": "layernorm"},
    {"type": "elu"},
    {"type": "flatten"},
    {"type": "dense", "units": 5},
    {"type": "layernorm", "eps": 0.001},
    {"type": "dense", "units": 3}]})");
}

TEST_CASE("model gradients through every activation kind match finite differences", "[model]") {
  check_model_gradients(R"({"input": [2, 6, 5], "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": 3, "kernel": 3, "padding": 1},
    {"type": "gelu"},
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2},
    {"type": "elu", "alpha": 0.7},
    {"type": "flatten"},
    {"type": "dense", "units": 6}, {"type": "tanh"},
    {"type": "dense", "units": 6}, {"type": "leaky_relu", "negative_slope": 0.1},
    {"type": "dense", "units": 6}, {"type": "selu"},
    {"type": "dense", "units": 6}, {"type": "softplus", "beta": 2},
    {"type": "dense", "units": 6}, {"type": "sigmoid"},
    {"type": "dense", "units": 3}]})");
}

// The random pooling layers with the masks and regions of one fixed step:
// the training program's own loss is differentiated.
TEST_CASE("model gradients through pooling dropouts, max-drop and fractional max pooling match finite differences",
          "[model]") {
  check_model_gradients(R"({"input": [2, 11, 9], "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
    {"type": "maxpool_dropout", "kernel": 3, "stride": 2, "padding": 1, "p": 0.3, "name": "m"},
    {"type": "max_drop", "p": 0.6},
    {"type": "conv2d", "out_channels": 3, "kernel": 2},
    {"type": "fractional_maxpool2d", "output_ratio": 0.7, "overlapping": true},
    {"type": "avgpool_dropout", "kernel": 2, "stride": 1, "padding": 1, "p": 0.4, "inputs": ["m"]},
    {"type": "max_drop", "mode": "channel", "p": 0.5},
    {"type": "fractional_maxpool2d", "output_size": [4, 3], "pseudo_random": true, "name": "f"},
    {"type": "global_avgpool2d", "inputs": ["layers.4"]},
    {"type": "global_avgpool2d", "inputs": ["f"]},
    {"type": "concat", "inputs": ["layers.8", "layers.9"]},
    {"type": "dense", "units": 3}]})",
                        0, true);
}

namespace {

// The evaluation loss of `text` with parameters initialised from seed 3, at
// step `step` and run seed `seed`.
double eval_loss(const char* text, uint32_t step, uint32_t seed) {
  const nn::ModelSpec spec = nn::parse_model_spec_text(text, "graph.json");
  nn::ModelOptions o;
  o.batch = 6;
  o.slots = 1;
  o.channel_mean = {0.5};
  o.channel_std = {0.25};
  Harness h(spec, o);
  h.model.init_parameters(3);
  h.fill_batch(8);
  nn::StepParams sp;
  sp.rows = o.batch, sp.step = step, sp.seed = seed;
  std::memcpy(h.model.params_ring().host(0), &sp, sizeof sp);
  std::memset(h.model.eval_sums().host(0), 0, sizeof(ops::MetricSums));
  h.eval.submit(h.eval.acquire());
  h.eval.finish();
  ops::MetricSums s;
  std::memcpy(&s, h.model.eval_sums().host(0), sizeof s);
  return double(s.loss_sum);
}

// The loss sums of the evaluation and training programs (first, second) on
// one batch of a fresh model of `spec` (parameters seeded 3).
std::pair<float, float> loss_sums(const nn::ModelSpec& spec, const nn::ModelOptions& o, const nn::StepParams& sp) {
  Harness h(spec, o);
  h.model.init_parameters(3);
  h.fill_batch();
  std::memcpy(h.model.params_ring().host(0), &sp, sizeof sp);
  std::pair<float, float> out;
  for (bool train : {false, true}) {
    gpu::Replayer& program = train ? h.train : h.eval;
    program.submit(program.acquire());
    program.finish();
    ops::MetricSums s;
    std::memcpy(&s, (train ? h.model.train_sums() : h.model.eval_sums()).host(0), sizeof s);
    (train ? out.second : out.first) = s.loss_sum;
  }
  return out;
}

}  // namespace

TEST_CASE("random pooling layers evaluate as their deterministic forms, bit for bit", "[model]") {
  // Each random layer against its evaluation form: plain max and average
  // pooling, and the identity (a reshape to the same shape) for max-drop.
  const char* random = R"({"input": [1, 10, 9], "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": 3, "kernel": 3},
    {"type": "maxpool_dropout", "kernel": 2, "stride": 1, "p": 0.5},
    {"type": "max_drop", "p": 0.9},
    {"type": "avgpool_dropout", "kernel": 3, "stride": 1, "padding": 1, "p": 0.5},
    {"type": "fractional_maxpool2d", "output_ratio": [0.6, 0.75]},
    {"type": "flatten"}, {"type": "dense", "units": 3}]})";
  const char* plain = R"({"input": [1, 10, 9], "classes": 3, "layers": [
    {"type": "conv2d", "out_channels": 3, "kernel": 3},
    {"type": "maxpool2d", "kernel": 2, "stride": 1},
    {"type": "reshape", "shape": [3, 7, 6]},
    {"type": "avgpool2d", "kernel": 3, "stride": 1, "padding": 1},
    {"type": "fractional_maxpool2d", "output_ratio": [0.6, 0.75], "pseudo_random": true},
    {"type": "flatten"}, {"type": "dense", "units": 3}]})";
  const double a = eval_loss(random, 5, 1);
  CHECK(a == eval_loss(random, 6, 2));  // no randomness in evaluation
  CHECK(a == eval_loss(plain, 5, 1));
}

// The dropout family in one graph: DropConnect on a standardised conv, a
// spectrally normalised conv and a dense layer; dropout2d; stochastic depth
// on two residual adds (p_l = 0.25 and 0.5 by linear decay); Gaussian,
// alpha and plain dropout. Smooth activations keep the finite differences
// off kinks.
static const char* kDropoutGraph = R"({"input": [2, 6, 5], "classes": 3, "layers": [
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "weight_standardization": true,
   "drop_connect": 0.3},
  {"type": "tanh", "name": "t1"},
  {"type": "dropout2d", "p": 0.3},
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "spectral_norm": true, "drop_connect": 0.2},
  {"type": "tanh", "name": "t2"},
  {"type": "add", "inputs": ["t1", "t2"], "stochastic_depth": 0.5},
  {"type": "gaussian_dropout", "p": 0.2},
  {"type": "flatten"},
  {"type": "dense", "units": 6, "drop_connect": 0.25},
  {"type": "selu"},
  {"type": "alpha_dropout", "p": 0.2, "name": "ad"},
  {"type": "dense", "units": 6},
  {"type": "tanh", "name": "t3"},
  {"type": "add", "inputs": ["ad", "t3"], "stochastic_depth": 0.5},
  {"type": "dropout", "p": 0.3},
  {"type": "dense", "units": 3}]})";

TEST_CASE("model gradients through every dropout kind, DropConnect and stochastic depth match finite differences",
          "[model]") {
  check_model_gradients(kDropoutGraph, 0, true);
}

// The same graph without its random layers and options: parameters and
// state have the same layout.
static std::string without_dropout(const char* text) {
  nlohmann::json j = nlohmann::json::parse(text), layers = nlohmann::json::array();
  for (auto& L : j["layers"]) {
    const std::string t = L["type"];
    if (t.find("dropout") != std::string::npos) {  // its reader defaults to the layer before
      if (L.contains("name")) layers.back()["name"] = L["name"];  // which then takes its name
      continue;
    }
    L.erase("drop_connect");
    L.erase("stochastic_depth");
    layers.push_back(L);
  }
  j["layers"] = layers;
  return j.dump();
}

// Five rows of the test graphs' two-channel input, one slot: the with/without
// comparisons below.
static nn::ModelOptions five_rows() {
  nn::ModelOptions o;
  o.batch = 5;
  o.slots = 1;
  o.channel_mean = {0.4, 0.6};
  o.channel_std = {0.3, 0.2};
  return o;
}

TEST_CASE("dropout layers are the identity in evaluation and active in training", "[model]") {
  const nn::ModelSpec with = nn::parse_model_spec_text(kDropoutGraph, "graph.json");
  const nn::ModelSpec plain = nn::parse_model_spec_text(without_dropout(kDropoutGraph), "plain.json");
  REQUIRE(plain.layers.size() + 4 == with.layers.size());
  const nn::ModelOptions o = five_rows();
  nn::StepParams sp;
  sp.rows = 5;
  sp.step = 9;
  sp.seed = 17;
  const auto a = loss_sums(with, o, sp), b = loss_sums(plain, o, sp);
  CHECK(a.first == b.first);    // evaluation: bit for bit
  CHECK(a.second != b.second);  // training: the masks change the loss
}

// Data-parallel training (ModelOptions::data_parallel): the step split at
// the gradient. Two shards of 3 rows of a 6-row batch, each run by the train
// program with loss_rows 6, their gradients summed on the host (as
// MPI_Allreduce does) and handed to the update program (L2 penalty, clipping,
// SGD with momentum), take the step the whole program takes on the batch.
TEST_CASE("a data-parallel model's split step with summed shard gradients equals the whole step", "[model]") {
  const nn::ModelSpec spec = nn::parse_model_spec_text(kGraph, "graph.json");
  nn::ModelOptions o;
  o.slots = 1;
  o.optim.momentum = 0.9;
  o.regularize.l2 = 0.05;
  o.regularize.clip_norm = 5.0;
  o.channel_mean = {0.4, 0.6};
  o.channel_std = {0.3, 0.2};
  const uint32_t rows = 6, shard = 3, features = uint32_t(spec.input_features());
  o.batch = rows;
  nn::Model whole(test::context(), spec, o);
  o.batch = shard;
  o.data_parallel = true;
  nn::Model split(test::context(), spec, o);
  whole.init_parameters(3);
  split.upload_parameters(whole.download_parameters());
  split.upload_optimizer_state(whole.download_optimizer_state());
  gpu::Replayer whole_step(whole.train_program(), 1), train(split.train_program(), 1),
      update(split.update_program(), 1);

  data::Rng rng(9);
  std::vector<uint8_t> images(size_t(rows) * features);
  for (auto& p : images) p = uint8_t(rng.below(256));
  std::vector<uint32_t> labels(rows);
  for (auto& l : labels) l = uint32_t(rng.below(spec.classes));
  nn::StepParams sp;
  sp.lr = 0.05f;
  sp.step = 3;
  sp.seed = 5;
  // Two steps, so the momentum buffer carries the first into the second.
  for (int step = 0; step < 2; ++step) {
    sp.rows = rows;
    sp.loss_rows = 0;
    std::memcpy(whole.images_ring().host(0), images.data(), images.size());
    std::memcpy(whole.labels_ring().host(0), labels.data(), rows * 4);
    std::memcpy(whole.params_ring().host(0), &sp, sizeof sp);
    whole_step.submit(whole_step.acquire());
    whole_step.finish();

    const uint64_t n = split.parameter_count();
    std::vector<float> sum(n, 0.0f);
    for (uint32_t s = 0; s < rows / shard; ++s) {
      nn::StepParams p = sp;
      p.rows = shard;
      p.loss_rows = rows;
      std::memcpy(split.images_ring().host(0), images.data() + size_t(s) * shard * features, shard * features);
      std::memcpy(split.labels_ring().host(0), labels.data() + s * shard, shard * 4);
      std::memcpy(split.params_ring().host(0), &p, sizeof p);
      train.submit(train.acquire());
      train.finish();
      const auto* g = static_cast<const float*>(split.gradients_out().host(0));
      for (uint64_t i = 0; i < n; ++i) sum[i] += g[i];
    }
    std::memcpy(split.gradients_in().host(0), sum.data(), n * 4);
    update.submit(update.acquire());
    update.finish();
    sp.step++;
  }
  const std::vector<float> want = whole.download_parameters(), got = split.download_parameters();
  REQUIRE(got.size() == want.size());
  double scale = 0, worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, double(std::fabs(want[i])));
    worst = std::max(worst, double(std::fabs(got[i] - want[i])));
  }
  INFO("largest difference " << worst << " of the largest weight " << scale);
  CHECK(worst <= 1e-5 * scale);
  // The step moved the weights (lr 0.05, two steps), so the comparison is not of the initial ones.
  std::vector<float> initial;
  {
    nn::Model fresh(test::context(), spec, o);
    fresh.init_parameters(3);
    initial = fresh.download_parameters();
  }
  double moved = 0;
  for (size_t i = 0; i < want.size(); ++i) moved = std::max(moved, double(std::fabs(want[i] - initial[i])));
  CHECK(moved > 1e-3);
}

// Squeeze-excitation (its input also read by a residual add; tanh after
// the add, so that no relu kink sits within the finite differences), a channel
// shuffle of 6 channels in 3 groups, and two aux heads (one with its own
// squeeze-excitation); odd planes (7 x 5) and a squeeze of 3 channels.
const char* kBlockGraph = R"({"input": [2, 7, 5], "classes": 3, "layers": [
  {"type": "conv2d", "out_channels": 6, "kernel": 3, "padding": 1, "name": "a"},
  {"type": "squeeze_excitation", "reduction": 2, "name": "se"},
  {"type": "add", "inputs": ["a", "se"]},
  {"type": "aux_head", "name": "aux", "from": "layers.2", "weight": 0.4, "layers": [
    {"type": "global_avgpool2d"}, {"type": "dense", "units": 3}]},
  {"type": "tanh", "name": "s0"},
  {"type": "channel_shuffle", "groups": 3},
  {"type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2},
  {"type": "aux_head", "name": "aux2", "from": "layers.6", "weight": 0.25, "layers": [
    {"type": "squeeze_excitation", "reduction": 1}, {"type": "flatten"}, {"type": "dense", "units": 3}]},
  {"type": "flatten"},
  {"type": "dense", "units": 3}]})";

TEST_CASE("model gradients through squeeze-excitation, channel shuffle and aux heads match finite differences",
          "[model][aux]") {
  // The training program's loss: the aux heads' weighted cross-entropies included.
  check_model_gradients(kBlockGraph, 0, true);
}

// The same graph without its aux heads.
static std::string without_aux(const char* text) {
  nlohmann::json j = nlohmann::json::parse(text), layers = nlohmann::json::array();
  for (auto& L : j["layers"])
    if (L["type"] != "aux_head") layers.push_back(L);
  j["layers"] = layers;
  return j.dump();
}

TEST_CASE("aux heads add their weighted loss in training and leave evaluation bit for bit alone", "[model][aux]") {
  const nn::ModelOptions o = five_rows();
  nn::StepParams sp;
  sp.rows = 5;
  sp.lr = 0;
  const nn::ModelSpec with = nn::parse_model_spec_text(kBlockGraph, "graph.json");
  const nn::ModelSpec plain = nn::parse_model_spec_text(without_aux(kBlockGraph), "plain.json");
  REQUIRE(with.aux.size() == 2);
  // init_parameters(3): the main tensors come first, the same values with or without aux heads.
  const auto a = loss_sums(with, o, sp), b = loss_sums(plain, o, sp);
  CHECK(a.first == b.first);  // evaluation ignores the heads
  // Each head adds weight x a cross-entropy near log 3 per row.
  INFO("with aux " << a.second << ", without " << b.second);
  CHECK(a.second > b.second + 0.3 * 5 * 0.5);
  CHECK(a.second < b.second + 0.65 * 5 * 3.0);
}

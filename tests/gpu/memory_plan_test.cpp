// Device memory shared by liveness (nn/memory_plan.h): the planner moves
// buffers, never what is computed. A model whose activations, gradients,
// workspaces and scratch share bytes computes every result of its training,
// evaluation, probe and jacobian programs bit for bit as the same model with
// a buffer of its own for each (ModelOptions::share_memory off), under the
// validation layer's synchronisation checks; and fashion_cnn's training step
// fits in 1.3x what training needs (issue 11), a need that does not depend on
// the layout.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "data/split.h"
#include "gpu/harness.h"
#include "nn/model.h"

using namespace fovea;

namespace {

// Convolutions with im2col columns and split-K partials, a residual add
// (a gradient summed from two readers), BatchNorm (saved statistics and
// running state), max pooling (argmax), dropout (regenerated masks) and a
// dense head.
const char* kSpec = R"({"input": [2, 11, 9], "classes": 4, "layers": [
  {"type": "conv2d", "out_channels": 5, "kernel": 3, "padding": 1, "name": "a"},
  {"type": "batchnorm2d"},
  {"type": "relu", "name": "r"},
  {"type": "conv2d", "out_channels": 5, "kernel": 3, "padding": 1, "name": "b"},
  {"type": "add", "inputs": ["b", "r"]},
  {"type": "maxpool2d", "kernel": 2},
  {"type": "dropout", "p": 0.3},
  {"type": "flatten"},
  {"type": "dense", "units": 7},
  {"type": "tanh"},
  {"type": "dense", "units": 4}]})";

// Everything the host can see of a model after the same calls.
struct Results {
  std::vector<float> params, grads, optim, state, input_grad;
  std::vector<uint8_t> sums;
  uint64_t device_bytes = 0;
};

void put_batch(nn::Model& m, uint32_t seed) {
  data::Rng rng(seed);
  auto* images = static_cast<uint8_t*>(m.images_ring().host(0));
  for (uint64_t i = 0; i < m.batch() * m.spec().input_features(); ++i) images[i] = uint8_t(rng.below(256));
  auto* labels = static_cast<uint32_t*>(m.labels_ring().host(0));
  for (uint32_t r = 0; r < m.batch(); ++r) labels[r] = uint32_t(rng.below(m.spec().classes));
}

void run(gpu::Program& program, nn::Model& m, const nn::StepParams& sp, const gpu::View& sums, Results& r) {
  gpu::Replayer replay(program, 1);
  std::memcpy(m.params_ring().host(0), &sp, sizeof sp);
  replay.submit(replay.acquire());
  replay.finish();
  const auto* bytes = static_cast<const uint8_t*>(sums.host(0));
  r.sums.insert(r.sums.end(), bytes, bytes + sizeof(ops::MetricSums));
}

Results run_model(const nn::ModelSpec& spec, bool share) {
  nn::ModelOptions o;
  o.batch = 13;
  o.slots = 1;
  o.optim.momentum = 0.9;
  o.regularize.l2 = 0.01;
  o.regularize.clip_norm = 2.0;
  o.channel_mean = {0.4, 0.6};
  o.channel_std = {0.3, 0.2};
  o.probe = true;
  o.share_memory = share;
  nn::Model m(test::context(), spec, o);
  m.init_parameters(7);
  Results r;
  nn::StepParams sp;
  sp.lr = 0.05f;
  sp.rows = 12;
  sp.seed = 3;
  for (uint32_t step = 0; step < 2; ++step) {
    sp.step = step;
    put_batch(m, 100 + step);
    run(m.train_program(), m, sp, m.train_sums(), r);
  }
  put_batch(m, 200);
  run(m.eval_program(), m, sp, m.eval_sums(), r);
  m.upload_base_parameters(m.download_parameters());
  run(m.probe_program(), m, sp, m.probe_sums(), r);
  r.grads = m.download_gradients();
  auto* v = static_cast<float*>(m.probe_vectors_ring().host(0));
  data::Rng rng(5);
  for (uint32_t i = 0; i < m.batch() * spec.classes; ++i) v[i] = rng.below(2) ? 1.0f : -1.0f;
  run(m.jacobian_program(), m, sp, m.eval_sums(), r);
  r.input_grad = m.download_input_gradient();
  r.params = m.download_parameters();
  r.optim = m.download_optimizer_state();
  r.state = m.download_state();
  r.device_bytes = m.memory_figures().device;
  return r;
}

}  // namespace

TEST_CASE("buffers sharing device memory by liveness leave every result bit for bit", "[model][memory]") {
  const nn::ModelSpec spec = nn::parse_model_spec_text(kSpec, "memory.json");
  const Results shared = run_model(spec, true), own = run_model(spec, false);
  INFO("device arena " << shared.device_bytes << " bytes shared, " << own.device_bytes << " bytes unshared");
  CHECK(shared.device_bytes < own.device_bytes);
  CHECK(shared.params == own.params);
  CHECK(shared.grads == own.grads);
  CHECK(shared.optim == own.optim);
  CHECK(shared.state == own.state);
  CHECK(shared.input_grad == own.input_grad);
  CHECK(shared.sums == own.sums);
  // The programs computed something: the steps moved the weights and the
  // probes produced gradients.
  nn::ModelOptions o;
  o.batch = 13;
  o.channel_mean = {0.4, 0.6};
  o.channel_std = {0.3, 0.2};
  nn::Model fresh(test::context(), spec, o);
  fresh.init_parameters(7);
  CHECK(fresh.download_parameters() != shared.params);
  auto nonzero = [](const std::vector<float>& v) {
    return std::any_of(v.begin(), v.end(), [](float x) { return x != 0.0f; });
  };
  CHECK(nonzero(shared.grads));
  CHECK(nonzero(shared.input_grad));
}

TEST_CASE("fashion_cnn's training step takes at most 1.3x the device memory training needs", "[model][memory]") {
  const nn::ModelSpec spec = nn::load_model_spec(std::string(FOVEA_SOURCE_DIR) + "/assets/models/fashion_cnn.json");
  nn::ModelOptions o;
  o.batch = 128;
  o.channel_mean = {0.5};
  o.channel_std = {0.25};
  o.train_blur = false;  // as `fovea train` and `fovea bench` without a sharpening schedule
  nn::MemoryFigures shared, own;
  {
    nn::Model m(test::context(), spec, o);
    shared = m.memory_figures();
  }
  o.share_memory = false;
  {
    nn::Model m(test::context(), spec, o);
    own = m.memory_figures();
  }
  INFO("shared: " << nn::memory_text(shared) << "unshared: " << nn::memory_text(own));
  // The need follows the values, not where they live: the same either way.
  CHECK(shared.needed() == own.needed());
  CHECK(shared.saved_activations > 0);
  CHECK(shared.total() < own.total());
  CHECK(shared.ratio() <= 1.3);
}

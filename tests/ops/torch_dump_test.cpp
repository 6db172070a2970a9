// Kernel outputs for tests/cli/ops_torch_test.py, which compares them with
// PyTorch itself: the class-weighted cross-entropy (CrossEntropyLoss(weight=,
// label_smoothing=), mixed rows as lam CE(y) + (1 - lam) CE(y_j)), FGSM and
// PGD steps, channel shuffle (nn.ChannelShuffle) and squeeze-excitation's
// channel scale, forward and backward. Hidden ([.torch]): the script runs it
// with FOVEA_TEST_OUT naming the directory to write one JSON file per case.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/augment.h"
#include "data/split.h"
#include "gpu/harness.h"
#include "ops/adversarial.h"
#include "ops/channel_scale.h"
#include "ops/channel_shuffle.h"
#include "ops/loss.h"
#include "ops/op_check.h"

namespace fovea::test {
namespace {

using nlohmann::json;

void dump(const std::string& name, const json& j) {
  const char* dir = std::getenv("FOVEA_TEST_OUT");
  REQUIRE(dir != nullptr);
  std::ofstream out(std::string(dir) + "/" + name + ".json");
  out << j.dump();
  REQUIRE(out.good());
}

void weighted_xent(const std::string& name, uint32_t batch, uint32_t classes, uint32_t rows, float e, float lam,
                   uint32_t shift, uint64_t seed) {
  const uint64_t n = uint64_t(batch) * classes;
  const auto z = random_floats(n, seed, -3, 3), w = random_floats(classes, seed + 1, 0.2f, 3.0f);
  data::Rng rng(seed + 2);
  std::vector<uint32_t> words(batch + data::kMixWords);
  for (uint32_t b = 0; b < batch; ++b) words[b] = uint32_t(rng.below(classes));
  data::MixDraw draw;
  draw.mode = lam < 1 ? 1 : 0, draw.shift = shift, draw.lam = lam;
  std::memcpy(words.data() + batch, &draw, sizeof draw);
  OpRun run;
  auto zv = run.tensor("z", n), yv = run.tensor("y", words.size()), wv = run.tensor("w", classes);
  auto dz = run.tensor("dz", n), st = run.tensor("stats", 2ull * batch);
  run.commit();
  run.set(zv, z);
  run.set_u32(yv, words);
  run.set(wv, w);
  ops::record_softmax_xent_weighted(run.program(), batch, classes, zv, yv, wv, dz, st, true, e, lam < 1, "xent");
  nn::StepParams params;
  params.rows = rows;
  run.run(params);
  words.resize(batch);
  dump(name, {{"op", "weighted_xent"}, {"batch", batch}, {"classes", classes}, {"rows", rows}, {"smoothing", e},
              {"lam", lam}, {"shift", shift}, {"logits", z}, {"labels", words}, {"weights", w},
              {"stats", run.get(st, 2ull * batch)}, {"dlogits", run.get(dz, n)}});
}

void adversarial(const std::string& name, uint32_t steps, float eps, float alpha, uint64_t seed) {
  const uint32_t batch = 5, channels = 3, plane = 7 * 6, rows = 4;
  const uint64_t n = uint64_t(batch) * channels * plane;
  const auto mean = random_floats(channels, seed, 0.2f, 0.6f), stddev = random_floats(channels, seed + 1, 0.2f, 0.5f);
  std::vector<float> stats = mean;
  for (float s : stddev) stats.push_back(1.0f / s);
  const auto u = random_floats(n, seed + 2, 0.0f, 256.0f);
  std::vector<float> x0(n);
  for (uint64_t e = 0; e < n; ++e) {
    const uint64_t c = e / plane % channels;
    x0[e] = (std::floor(u[e]) / 255.0f - mean[c]) * stats[channels + c];
  }
  auto g = random_floats(n, seed + 3);
  for (uint64_t e = 0; e < n; e += 5) g[e] = 0.0f;
  OpRun run;
  auto sv = run.tensor("stats", stats.size()), x0v = run.tensor("x0", n), gv = run.tensor("g", n);
  auto xv = run.tensor("x", n);
  run.commit();
  run.set(sv, stats);
  run.set(x0v, x0);
  run.set(gv, g);
  for (uint32_t t = 0; t < steps; ++t) {
    ops::AdversarialStep a;
    a.shape = {batch, channels, 7, 6};
    a.eps = eps, a.alpha = alpha, a.first = t == 0;
    ops::record_adversarial_step(run.program(), a, sv, x0v, gv, xv, "pgd");
  }
  nn::StepParams params;
  params.rows = rows;
  run.run(params);
  dump(name, {{"op", "adversarial"}, {"shape", {batch, channels, 7, 6}}, {"rows", rows}, {"steps", steps},
              {"eps", eps}, {"alpha", alpha}, {"mean", mean}, {"std", stddev}, {"x0", x0}, {"g", g},
              {"x", run.get(xv, n)}});
}

void channel_ops(const std::string& name, uint32_t batch, uint32_t channels, uint32_t h, uint32_t w,
                 uint32_t groups, uint64_t seed) {
  const uint64_t n = uint64_t(batch) * channels * h * w, rows = uint64_t(batch) * channels;
  const auto x = random_floats(n, seed), dy = random_floats(n, seed + 1), s = random_floats(rows, seed + 2);
  OpRun run;
  auto xv = run.tensor("x", n), dyv = run.tensor("dy", n), sv = run.tensor("s", rows);
  auto shuffled = run.tensor("shuffled", n), dshuffle = run.tensor("dshuffle", n);
  auto scaled = run.tensor("scaled", n), dx = run.tensor("dx", n), ds = run.tensor("ds", rows);
  run.commit();
  run.set(xv, x);
  run.set(dyv, dy);
  run.set(sv, s);
  const ops::ChannelShuffleShape sh{batch, channels, h * w, groups};
  ops::record_channel_shuffle_forward(run.program(), sh, xv, shuffled, "shuffle");
  ops::record_channel_shuffle_backward(run.program(), sh, dyv, dshuffle, "shuffle.backward");
  const ops::ChannelScaleShape sc{batch, channels, h * w};
  ops::record_channel_scale_forward(run.program(), sc, xv, sv, scaled, "scale");
  ops::record_channel_scale_backward(run.program(), sc, xv, sv, dyv, dx, ds, "scale.backward");
  run.run();
  dump(name, {{"op", "channel"}, {"shape", {batch, channels, h, w}}, {"groups", groups}, {"x", x}, {"dy", dy},
              {"s", s}, {"shuffled", run.get(shuffled, n)}, {"dshuffle", run.get(dshuffle, n)},
              {"scaled", run.get(scaled, n)}, {"dx", run.get(dx, n)}, {"ds", run.get(ds, rows)}});
}

}  // namespace

TEST_CASE("kernel outputs for the PyTorch comparison", "[.torch]") {
  weighted_xent("xent_plain", 17, 10, 17, 0.0f, 1.0f, 0, 1);
  weighted_xent("xent_partial_smoothed", 37, 31, 23, 0.1f, 1.0f, 0, 2);
  weighted_xent("xent_mixed", 29, 7, 29, 0.05f, 0.3f, 6, 3);
  adversarial("fgsm", 1, 0.1f, 0.1f, 4);
  adversarial("pgd", 4, 0.05f, 2.5f * 0.05f / 4, 5);
  channel_ops("channel_vec4", 3, 12, 4, 4, 3, 6);
  channel_ops("channel_odd", 2, 10, 5, 3, 5, 7);
}

}  // namespace fovea::test

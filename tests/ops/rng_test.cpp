// rng: Philox-4x32-10 against the published known-answer vectors (Random123's
// kat_vectors), the GPU against the reference on counters that wrap and block
// counts that are not multiples of the workgroup, and the keyed uniforms'
// distribution.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstring>

#include "gpu/harness.h"
#include "ops/op_check.h"
#include "ops/rng.h"
#include "reference/rng.h"

namespace fovea::test {
namespace {

struct Kat {
  ref::Words ctr;
  std::array<uint32_t, 2> key;
  ref::Words want;
};
// philox4x32 10 rounds: the three vectors of Random123's kat_vectors.
const Kat kKats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

std::vector<uint32_t> gpu_bits(uint32_t blocks, const ref::Words& ctr, const std::array<uint32_t, 2>& key) {
  OpRun run;
  auto out = run.tensor("out", 4ull * blocks);
  run.commit();
  run.set(out, random_floats(4ull * blocks, 3));  // garbage the kernel must overwrite
  ops::record_philox_bits(run.program(), blocks, ctr, key, out, "philox");
  run.run();
  std::vector<uint32_t> words;
  for (float f : run.get(out, 4ull * blocks)) words.push_back(std::bit_cast<uint32_t>(f));
  return words;
}

}  // namespace

TEST_CASE("philox reference matches the known-answer vectors", "[rng]") {
  for (const auto& k : kKats) CHECK(ref::philox4x32(k.ctr, k.key) == k.want);
}

TEST_CASE("philox on the GPU matches the known-answer vectors and the reference", "[rng]") {
  for (const auto& k : kKats) {
    auto got = gpu_bits(1, k.ctr, k.key);
    CHECK(ref::Words{got[0], got[1], got[2], got[3]} == k.want);
  }
  // 4,999 blocks from a counter that wraps past 2^32 - 1 part-way.
  const ref::Words ctr = {0xfffff000u, 17, 0x9e3779b9u, 5};
  const std::array<uint32_t, 2> key = {0xdeadbeef, 12345};
  const uint32_t blocks = 4999;
  auto got = gpu_bits(blocks, ctr, key);
  uint32_t wrong = 0;
  for (uint32_t i = 0; i < blocks; ++i) {
    auto want = ref::philox4x32({ctr[0] + i, ctr[1], ctr[2], ctr[3]}, key);
    for (int j = 0; j < 4; ++j) wrong += got[4 * i + j] != want[j];
  }
  CHECK(wrong == 0);
}

TEST_CASE("philox keyed uniforms are uniform and independent across keys", "[rng]") {
  // 64 bins over 2^16 draws: chi-square with 63 degrees of freedom has mean
  // 63 and sd 11.2; 130 is beyond 6 sd. Each key and counter part changes
  // the stream: equal words at the same element are rare (~2^-24 each).
  const uint64_t n = 1 << 16;
  std::vector<double> bins(64, 0);
  double sum = 0;
  uint32_t same_seed = 0, same_stream = 0, same_step = 0, same_purpose = 0;
  for (uint64_t e = 0; e < n; ++e) {
    const double u = ref::philox_uniform(7, 3, 11, 0, e);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    bins[size_t(u * 64)] += 1;
    sum += u;
    const uint32_t w = ref::philox_bits(7, 3, 11, 0, e);
    same_seed += w == ref::philox_bits(8, 3, 11, 0, e);
    same_stream += w == ref::philox_bits(7, 4, 11, 0, e);
    same_step += w == ref::philox_bits(7, 3, 12, 0, e);
    same_purpose += w == ref::philox_bits(7, 3, 11, 1, e);
  }
  double chi2 = 0;
  for (double b : bins) chi2 += (b - n / 64.0) * (b - n / 64.0) / (n / 64.0);
  CHECK(chi2 < 130);
  CHECK(std::abs(sum / n - 0.5) < 6 * std::sqrt(1.0 / 12 / n));
  CHECK(same_seed + same_stream + same_step + same_purpose <= 1);
}

}  // namespace fovea::test

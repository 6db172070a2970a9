// The --augment list (values, defaults, one clear error per bad item) and
// the host's per-step mixing draw (Beta-distributed lambda, partner shift,
// cutmix box and its exact area), seeded by (seed, step).
#include <catch2/catch.hpp>
#include <cmath>
#include <initializer_list>

#include "data/augment.h"
#include "util/error.h"

using Catch::Contains;
using fovea::data::AugmentConfig;
using fovea::data::draw_mix;
using fovea::data::MixDraw;
using fovea::data::describe_augment;
using fovea::data::parse_attack;
using fovea::data::parse_augment;

namespace {
// A list parse_augment refuses and a part of its error line.
struct Bad {
  const char* list;
  const char* message;
};
void check_refused(std::initializer_list<Bad> bad) {
  for (Bad b : bad) {
    INFO(b.list);
    CHECK_THROWS_AS(parse_augment(b.list), fovea::Error);
    CHECK_THROWS_WITH(parse_augment(b.list), Contains(b.message));
  }
}
}  // namespace

TEST_CASE("augment lists parse into their values with torchvision's defaults", "[augment]") {
  const AugmentConfig a = parse_augment(
      "flip,vflip:0.2,crop:4,rotate:10,translate:0.1,scale:0.8-1.25,shear:5,brightness:0.3,"
      "contrast:0.4,noise:0.05,cutout:8,erase,mixup:0.2,cutmix:1");
  CHECK(a.hflip == 0.5);
  CHECK(a.vflip == 0.2);
  CHECK(a.crop_pad == 4);
  CHECK(a.rotate_deg == 10);
  CHECK(a.translate == 0.1);
  CHECK(a.scale_lo == 0.8);
  CHECK(a.scale_hi == 1.25);
  CHECK(a.shear_deg == 5);
  CHECK(a.brightness == 0.3);
  CHECK(a.contrast == 0.4);
  CHECK(a.noise_std == 0.05);
  CHECK(a.cutout == 8);
  CHECK(a.erase == 0.5);
  CHECK(a.mixup_alpha == 0.2);
  CHECK(a.cutmix_alpha == 1);
  CHECK(a.geometric());
  CHECK(a.pixelwise());
  CHECK(a.mixing());
  const AugmentConfig s = parse_augment("scale:0.1,hflip:0.25");
  CHECK(s.scale_lo == Approx(0.9));
  CHECK(s.scale_hi == Approx(1.1));
  CHECK(s.hflip == 0.25);
  CHECK_FALSE(s.pixelwise());
  CHECK_FALSE(parse_augment("").any());
  CHECK(fovea::data::describe_augment(parse_augment("crop:2,mixup:0.2")) == "crop pad 2, mixup alpha 0.2");
}

TEST_CASE("bad augment items are refused naming the item and the value", "[augment]") {
  check_refused({Bad{"rotate:abc", "--augment: 'rotate:abc': the angle must be a number in (0, 180]"},
                 Bad{"rotate", "--augment: 'rotate': needs a value"},
                 Bad{"flip,blur:2", "--augment: 'blur:2': unknown item (known: flip,"},
                 Bad{"crop:2.5", "--augment: 'crop:2.5': the padding must be a whole number in 1..1024"},
                 Bad{"crop:0", "--augment: 'crop:0': the padding"},
                 Bad{"hflip:1.5", "--augment: 'hflip:1.5': the probability must be a number in (0, 1]"},
                 Bad{"erase:-1", "--augment: 'erase:-1': the probability"},
                 Bad{"scale:1.2-0.8", "--augment: 'scale:1.2-0.8': LO must not exceed HI"},
                 Bad{"scale:1", "--augment: 'scale:1': S (zoom in [1-S, 1+S])"},
                 Bad{"mixup:0", "--augment: 'mixup:0': alpha must be a number in (0, 100]"},
                 Bad{"noise:nan", "--augment: 'noise:nan': the std"},
                 Bad{"flip,hflip", "--augment: 'hflip': given twice"},
                 Bad{"flip,,crop:2", "--augment: empty item in 'flip,,crop:2'"},
                 Bad{"flip,", "--augment: empty item"}});
}

TEST_CASE("fgsm and pgd items and the eval attack options parse, bad values name the option", "[augment][adversarial]") {
  const AugmentConfig f = parse_augment("flip,fgsm:0.1");
  CHECK(f.adversarial.steps == 1);
  CHECK(f.adversarial.eps == 0.1);
  CHECK(f.adversarial.probability == 1.0);
  CHECK(f.adversarial.alpha() == 0.1);
  CHECK(f.hflip == 0.5);
  CHECK_FALSE(parse_augment("fgsm:0.1").any());  // no pixel op: the augment kernels stay out of the step
  const AugmentConfig p = parse_augment("pgd:0.05:4:0.25");
  CHECK(p.adversarial.steps == 4);
  CHECK(p.adversarial.probability == 0.25);
  CHECK(p.adversarial.alpha() == Approx(2.5 * 0.05 / 4));
  CHECK(describe_augment(p) == "pgd eps 0.05 x 4 steps of 0.03125, p 0.25");
  CHECK(parse_attack("0", false, "--fgsm").eps == 0.0);  // evaluation takes eps 0: the clean figures
  CHECK(parse_attack("0.1:7", true, "--pgd").steps == 7);
  check_refused({Bad{"fgsm:-1", "--augment: 'fgsm:-1': EPS (pixel units) must be a number in (0, 1], got '-1'"},
                 Bad{"fgsm:0", "EPS (pixel units) must be a number in (0, 1]"},
                 Bad{"pgd:0.1:0", "--augment: 'pgd:0.1:0': STEPS must be a whole number in 1..1000, got '0'"},
                 Bad{"fgsm:0.1:2", "--augment: 'fgsm:0.1:2': the probability P must be a number in (0, 1], got '2'"},
                 Bad{"pgd:0.1", "--augment: 'pgd:0.1': expected EPS:STEPS[:P]"},
                 Bad{"fgsm:0.1:0.5:1", "expected EPS[:P]"},
                 Bad{"fgsm:0.1,pgd:0.1:2", "--augment: 'pgd:0.1:2': fgsm and pgd exclude each other"}});
  CHECK_THROWS_WITH(parse_attack("0.1:0.5", false, "--fgsm"), "--fgsm '0.1:0.5': expected EPS");
  CHECK_THROWS_WITH(parse_attack("1.5", false, "--fgsm"),
                    Contains("--fgsm '1.5': EPS (pixel units) must be a number in [0, 1]"));
}

TEST_CASE("the mixing draw is seeded by (seed, step) and its lambda is Beta(alpha, alpha)", "[augment][mix]") {
  const AugmentConfig mixup = parse_augment("mixup:0.4");
  const MixDraw a = draw_mix(mixup, 7, 3, 100, 28, 28), b = draw_mix(mixup, 7, 3, 100, 28, 28);
  CHECK(a.lam == b.lam);
  CHECK(a.shift == b.shift);
  CHECK(draw_mix(mixup, 7, 4, 100, 28, 28).lam != a.lam);
  CHECK(draw_mix(mixup, 8, 3, 100, 28, 28).lam != a.lam);
  CHECK(draw_mix(mixup, 7, 3, 1, 28, 28).mode == 0);  // nobody to mix with
  CHECK(draw_mix(parse_augment("flip"), 7, 3, 100, 28, 28).mode == 0);
  // Beta(0.4, 0.4): mean 1/2, variance 1 / (4 (2 alpha + 1)) = 0.1389.
  const uint32_t N = 4000;
  double sum = 0, sq = 0;
  for (uint32_t step = 0; step < N; ++step) {
    const MixDraw m = draw_mix(mixup, 1, step, 64, 28, 28);
    REQUIRE(m.mode == 1);
    REQUIRE(m.lam >= 0);
    REQUIRE(m.lam <= 1);
    REQUIRE(m.shift >= 1);
    REQUIRE(m.shift <= 63);
    sum += m.lam;
    sq += double(m.lam) * m.lam;
  }
  const double mean = sum / N, var = sq / N - mean * mean;
  CHECK(std::fabs(mean - 0.5) < 0.025);  // sd of the mean 0.006
  CHECK(var == Approx(1.0 / (4 * 1.8)).epsilon(0.06));
  // alpha 2: variance 1 / 20.
  sum = sq = 0;
  for (uint32_t step = 0; step < N; ++step) {
    const double l = draw_mix(parse_augment("mixup:2"), 2, step, 8, 5, 5).lam;
    sum += l;
    sq += l * l;
  }
  CHECK(sq / N - (sum / N) * (sum / N) == Approx(0.05).epsilon(0.08));
}

TEST_CASE("the cutmix box is clipped and lambda is its exact complement", "[augment][mix]") {
  const AugmentConfig cutmix = parse_augment("cutmix:1");
  uint32_t clipped = 0;
  for (uint32_t step = 0; step < 500; ++step) {
    const MixDraw m = draw_mix(cutmix, 3, step, 16, 13, 17);
    REQUIRE(m.mode == 2);
    REQUIRE(m.x0 <= m.x1);
    REQUIRE(m.x1 <= 17);
    REQUIRE(m.y0 <= m.y1);
    REQUIRE(m.y1 <= 13);
    const double area = double(m.x1 - m.x0) * (m.y1 - m.y0);
    CHECK(double(m.lam) == Approx(1 - area / (13.0 * 17.0)).margin(1e-7));
    clipped += m.x0 == 0 || m.y0 == 0 || m.x1 == 17 || m.y1 == 13;
  }
  CHECK(clipped > 50);
  // With both, each step picks one of them, about half each.
  uint32_t cut = 0;
  for (uint32_t step = 0; step < 1000; ++step) cut += draw_mix(parse_augment("mixup:1,cutmix:1"), 4, step, 8, 9, 9).mode == 2;
  CHECK(std::abs(int(cut) - 500) < 80);
}

#include "data/augment.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "util/error.h"

namespace fovea::data {
namespace {

const char* kItems =
    "flip, hflip, vflip, crop, rotate, translate, scale, shear, brightness, contrast, noise, cutout, "
    "erase, mixup, cutmix, fgsm, pgd";

[[noreturn]] void bad(const std::string& item, const std::string& why) {
  throw Error("--augment: '" + item + "': " + why);
}

// A finite number taking the whole of `text`.
bool parse_number(const std::string& text, double& v) {
  if (text.empty()) return false;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(v);
}

double number_in(const std::string& item, const std::string& text, double lo, double hi,
                 bool lo_open, const std::string& what) {
  double v = 0;
  const bool ok = parse_number(text, v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (!ok) {
    std::ostringstream range;
    range << (lo_open ? "(" : "[") << lo << ", " << hi << "]";
    bad(item, what + " must be a number in " + range.str() + ", got '" + text + "'");
  }
  return v;
}

uint32_t whole_in(const std::string& item, const std::string& text, uint32_t lo, uint32_t hi,
                  const std::string& what) {
  double v = 0;
  if (!parse_number(text, v) || v != std::floor(v) || v < lo || v > hi)
    bad(item, what + " must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi) +
                  ", got '" + text + "'");
  return uint32_t(v);
}

std::vector<std::string> split_colons(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = text.find(':', start)) != std::string::npos; start = colon + 1)
    parts.push_back(text.substr(start, colon - start));
  parts.push_back(text.substr(start));
  return parts;
}

// EPS[:P] (fgsm) or EPS:STEPS[:P] (pgd); `item` names the text in errors.
AdversarialConfig parse_adversarial(const std::string& item, const std::string& value, bool pgd, bool training) {
  const std::vector<std::string> parts = split_colons(value);
  const size_t fixed = pgd ? 2 : 1;
  if (parts.size() < fixed || parts.size() > fixed + (training ? 1 : 0))
    bad(item, std::string(pgd ? "expected EPS:STEPS" : "expected EPS") + (training ? "[:P]" : ""));
  AdversarialConfig a;
  a.eps = number_in(item, parts[0], 0, 1, training, "EPS (pixel units)");
  a.steps = pgd ? whole_in(item, parts[1], 1, 1000, "STEPS") : 1;
  if (parts.size() > fixed) a.probability = number_in(item, parts[fixed], 0, 1, true, "the probability P");
  return a;
}

}  // namespace

AdversarialConfig parse_attack(const std::string& text, bool pgd, const std::string& option) {
  try {
    return parse_adversarial(text, text, pgd, false);
  } catch (const Error& e) {
    // bad() names --augment; these are fovea eval's options.
    const std::string m = e.what(), prefix = "--augment: ";
    throw Error(option + " " + (m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m));
  }
}

std::string describe_attack(const AdversarialConfig& a) {
  std::ostringstream s;
  s.precision(4);
  s << (a.steps > 1 ? "pgd eps " : "fgsm eps ") << a.eps;
  if (a.steps > 1) s << " x " << a.steps << " steps of " << a.alpha();
  if (a.probability < 1) s << ", p " << a.probability;
  return s.str();
}

AugmentConfig parse_augment(const std::string& list) {
  AugmentConfig c;
  c.text = list;
  if (list.empty()) return c;
  std::vector<std::string> seen;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) throw Error("--augment: empty item in '" + list + "'");
    const size_t colon = item.find(':');
    std::string name = item.substr(0, colon);
    const bool has_value = colon != std::string::npos;
    const std::string value = has_value ? item.substr(colon + 1) : "";
    if (name == "flip") name = "hflip";
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) bad(item, "given twice");
    seen.push_back(name);
    auto need = [&](const char* what) {
      if (!has_value) bad(item, std::string("needs a value: ") + what);
    };
    if (name == "hflip" || name == "vflip" || name == "erase") {
      const double p = has_value ? number_in(item, value, 0, 1, true, "the probability") : 0.5;
      (name == "hflip" ? c.hflip : name == "vflip" ? c.vflip : c.erase) = p;
    } else if (name == "crop") {
      need("crop:PAD, the padding in pixels");
      c.crop_pad = whole_in(item, value, 1, 1024, "the padding");
    } else if (name == "rotate") {
      need("rotate:DEG, the largest angle in degrees");
      c.rotate_deg = number_in(item, value, 0, 180, true, "the angle");
    } else if (name == "translate") {
      need("translate:FRAC, the largest shift as a fraction of the size");
      c.translate = number_in(item, value, 0, 1, true, "the fraction");
    } else if (name == "scale") {
      need("scale:LO-HI or scale:S");
      const size_t dash = value.find('-', 1);
      if (dash == std::string::npos) {
        const double s = number_in(item, value, 0, 1, true, "S (zoom in [1-S, 1+S])");
        if (s >= 1) bad(item, "S (zoom in [1-S, 1+S]) must be below 1, got '" + value + "'");
        c.scale_lo = 1 - s;
        c.scale_hi = 1 + s;
      } else {
        c.scale_lo = number_in(item, value.substr(0, dash), 0, 10, true, "LO");
        c.scale_hi = number_in(item, value.substr(dash + 1), 0, 10, true, "HI");
        if (c.scale_lo > c.scale_hi) bad(item, "LO must not exceed HI");
      }
    } else if (name == "shear") {
      need("shear:DEG, the largest angle in degrees");
      c.shear_deg = number_in(item, value, 0, 80, true, "the angle");
    } else if (name == "brightness" || name == "contrast") {
      need("the largest change of the factor, e.g. 0.2");
      (name == "brightness" ? c.brightness : c.contrast) = number_in(item, value, 0, 10, true, "the change");
    } else if (name == "noise") {
      need("noise:STD, in [0, 1] pixel units");
      c.noise_std = number_in(item, value, 0, 1, true, "the std");
    } else if (name == "cutout") {
      need("cutout:SIZE, the square's side in pixels");
      c.cutout = whole_in(item, value, 1, 4096, "the size");
    } else if (name == "mixup" || name == "cutmix") {
      need("the Beta distribution's alpha, e.g. 0.2");
      (name == "mixup" ? c.mixup_alpha : c.cutmix_alpha) = number_in(item, value, 0, 100, true, "alpha");
    } else if (name == "fgsm" || name == "pgd") {
      need(name == "fgsm" ? "fgsm:EPS[:P], EPS in [0, 1] pixel units" : "pgd:EPS:STEPS[:P]");
      if (c.adversarial.any()) bad(item, "fgsm and pgd exclude each other");
      c.adversarial = parse_adversarial(item, value, name == "pgd", true);
    } else {
      bad(item, "unknown item (known: " + std::string(kItems) + ")");
    }
  }
  return c;
}

std::string describe_augment(const AugmentConfig& c) {
  if (!c.any() && !c.adversarial.any()) return "none";
  std::ostringstream s;
  s.precision(4);
  auto add = [&](const char* name, double v) { s << (s.tellp() > 0 ? ", " : "") << name << " " << v; };
  if (c.hflip > 0) add("hflip p", c.hflip);
  if (c.vflip > 0) add("vflip p", c.vflip);
  if (c.crop_pad > 0) add("crop pad", c.crop_pad);
  if (c.rotate_deg > 0) add("rotate +-deg", c.rotate_deg);
  if (c.translate > 0) add("translate +-", c.translate);
  if (c.scale_lo != 1 || c.scale_hi != 1) {
    add("scale", c.scale_lo);
    s << "-" << c.scale_hi;
  }
  if (c.shear_deg > 0) add("shear +-deg", c.shear_deg);
  if (c.brightness > 0) add("brightness +-", c.brightness);
  if (c.contrast > 0) add("contrast +-", c.contrast);
  if (c.noise_std > 0) add("noise std", c.noise_std);
  if (c.cutout > 0) add("cutout", c.cutout);
  if (c.erase > 0) add("erase p", c.erase);
  if (c.mixup_alpha > 0) add("mixup alpha", c.mixup_alpha);
  if (c.cutmix_alpha > 0) add("cutmix alpha", c.cutmix_alpha);
  if (c.adversarial.any()) s << (s.tellp() > 0 ? ", " : "") << describe_attack(c.adversarial);
  return s.str();
}

namespace {

// log of a Gamma(a, 1) draw. Marsaglia and Tsang (2000) for a >= 1; for
// a < 1, Gamma(a) = Gamma(a + 1) U^(1/a), kept in logs.
double log_gamma_draw(Rng& rng, double a) {
  if (a < 1) {
    const double u = std::max(double(rng.uniform01()), 1.0 / 16777216.0);
    return log_gamma_draw(rng, a + 1) + std::log(u) / a;
  }
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  // Each try is accepted with probability > 0.95; 1000 tries never all fail
  // in practice, and the bound keeps the loop finite regardless.
  for (int tries = 0; tries < 1000; ++tries) {
    const double u1 = 1.0 - double(rng.uniform01()), u2 = rng.uniform01();
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    const double v = std::pow(1.0 + c * z, 3);
    if (v <= 0) continue;
    const double u = 1.0 - double(rng.uniform01());
    if (std::log(u) < 0.5 * z * z + d - d * v + d * std::log(v)) return std::log(d * v);
  }
  return std::log(d);
}

}  // namespace

double sample_beta(Rng& rng, double alpha) {
  const double lx = log_gamma_draw(rng, alpha), ly = log_gamma_draw(rng, alpha);
  return 1.0 / (1.0 + std::exp(ly - lx));  // x / (x + y)
}

MixDraw draw_mix(const AugmentConfig& cfg, uint64_t seed, uint32_t step, uint32_t rows,
                 uint32_t height, uint32_t width) {
  MixDraw m;
  if (!cfg.mixing() || rows < 2) return m;
  // A generator of its own per (seed, step): SplitMix64 from a mixed state.
  Rng rng(seed * 0x9E3779B97F4A7C15ull ^ (uint64_t(step) << 20) ^ 0x6d69780000000000ull);
  rng.next();
  bool cutmix = cfg.cutmix_alpha > 0;
  if (cfg.mixup_alpha > 0 && cfg.cutmix_alpha > 0) cutmix = rng.uniform01() < 0.5f;
  const double lam = sample_beta(rng, cutmix ? cfg.cutmix_alpha : cfg.mixup_alpha);
  m.shift = uint32_t(1 + rng.below(rows - 1));
  if (!cutmix) {
    m.mode = 1;
    m.lam = float(lam);
    return m;
  }
  m.mode = 2;
  const double side = std::sqrt(1.0 - lam);
  const int64_t cw = int64_t(std::floor(width * side)), ch = int64_t(std::floor(height * side));
  const int64_t cx = int64_t(rng.below(width)), cy = int64_t(rng.below(height));
  auto clip = [](int64_t v, int64_t n) { return uint32_t(std::clamp<int64_t>(v, 0, n)); };
  m.x0 = clip(cx - cw / 2, width);
  m.x1 = clip(cx - cw / 2 + cw, width);
  m.y0 = clip(cy - ch / 2, height);
  m.y1 = clip(cy - ch / 2 + ch, height);
  m.lam = float(1.0 - double(m.x1 - m.x0) * (m.y1 - m.y0) / (double(width) * height));
  return m;
}

}  // namespace fovea::data

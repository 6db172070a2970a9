#include "data/sharpening.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "util/error.h"

namespace fovea::data {

namespace {

// A finite number filling the whole of `text`, or an error naming `what`.
double parse_number(const std::string& text, const std::string& what) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (text.empty() || end != begin + text.size() || !std::isfinite(v))
    throw Error(what + ": '" + text + "' is not a number");
  return v;
}

void check_sigma(double s, const std::string& what) {
  if (!(s >= 0 && s <= kMaxSharpenSigma))
    throw Error(what + " must be in [0, " + std::to_string(int(kMaxSharpenSigma)) + "] pixels, got " +
                std::to_string(s));
}

std::vector<std::pair<double, double>> parse_list(const std::string& spec) {
  const std::string body = spec.substr(5);
  const std::string where = "--sharpen " + spec;
  if (body.empty()) throw Error(where + ": the list is empty (expected e.g. list:3,2,1,0@2)");
  std::vector<std::pair<double, double>> items;
  std::vector<bool> has_epochs;
  std::stringstream ss(body);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t at = item.find('@');
    const double sigma = parse_number(item.substr(0, at), where + ": sigma");
    check_sigma(sigma, where + ": sigma");
    double epochs = 0;
    if (at != std::string::npos) {
      epochs = parse_number(item.substr(at + 1), where + ": epochs");
      if (!(epochs > 0)) throw Error(where + ": epochs after @ must be positive, got " + item.substr(at + 1));
    }
    items.push_back({sigma, epochs});
    has_epochs.push_back(at != std::string::npos);
  }
  if (body.back() == ',') throw Error(where + ": empty item at the end of the list");
  // Items without @E take the duration of the next item that has one.
  double next = 1.0;
  for (size_t i = items.size(); i-- > 0;) {
    if (has_epochs[i])
      next = items[i].second;
    else
      items[i].second = next;
  }
  return items;
}

}  // namespace

SharpenSchedule::SharpenSchedule(const SharpenConfig& c, uint32_t run_epochs) {
  const std::string& s = c.schedule;
  if (s.rfind("list:", 0) == 0) {
    kind_ = "list";
    list_ = parse_list(s);
    for (const auto& [sigma, epochs] : list_) {
      span_ += epochs;
      sigma0_ = std::max(sigma0_, sigma);
    }
    active_ = sigma0_ > 0;
    return;
  }
  if (s != "none" && s != "constant" && s != "step" && s != "linear" && s != "cosine" &&
      s != "exponential" && s != "pyramid")
    throw Error("--sharpen: unknown schedule '" + s +
                "' (expected none, constant, step, linear, cosine, exponential, pyramid or list:S1,S2,...@E)");
  kind_ = s;
  if (s == "none") return;
  if (s != "pyramid") check_sigma(c.sigma0, "--sigma0");
  if (c.sharpen_epochs == 0 || c.sharpen_epochs < -1)
    throw Error("--sharpen-epochs must be at least 1, got " + std::to_string(c.sharpen_epochs));
  if ((s == "step" || s == "pyramid") && c.levels == 0) throw Error("--levels must be at least 1");
  if (s == "pyramid" && c.levels > 12) throw Error("--levels " + std::to_string(c.levels) + ": pyramid takes at most 12");
  sigma0_ = s == "pyramid" ? 0.0 : c.sigma0;
  levels_ = c.levels;
  if (c.sharpen_epochs > 0)
    span_ = double(c.sharpen_epochs);
  else if (s == "constant")
    span_ = double(run_epochs);
  else
    span_ = std::max(1.0, std::floor(3.0 * run_epochs / 4.0));
  active_ = sigma0_ > 0;
}

uint32_t SharpenSchedule::downsample(double t) const {
  if (kind_ != "pyramid" || t < 0 || t >= span_ - 1e-9) return 0;
  const double k = std::floor(levels_ * (t / span_) + 1e-9);  // as step's levels
  return levels_ - 1 - uint32_t(k);
}

double SharpenSchedule::sigma(double t) const {
  if (!active_ || t < 0) return 0;
  if (kind_ == "list") {
    double end = 0;
    for (const auto& [sigma, epochs] : list_) {
      end += epochs;
      if (t < end - 1e-9) return sigma;
    }
    return 0;
  }
  if (t >= span_ - 1e-9) return 0;
  const double u = t / span_;
  if (kind_ == "constant") return sigma0_;
  if (kind_ == "step") {
    // Level k from a position that may sit exactly on a boundary (t = 1.0
    // of 3 epochs with 3 levels is level 1, not 0.999...).
    const double k = std::floor(levels_ * u + 1e-9);
    return sigma0_ * (1.0 - k / levels_);
  }
  if (kind_ == "linear") return sigma0_ * (1.0 - u);
  if (kind_ == "cosine") return sigma0_ * 0.5 * (1.0 + std::cos(M_PI * u));
  // exponential
  const double a = std::log(100.0);
  return sigma0_ * (std::exp(-a * u) - std::exp(-a)) / (1.0 - std::exp(-a));
}

std::string SharpenSchedule::describe() const {
  std::ostringstream o;
  o << kind_;
  if (kind_ == "none") return o.str();
  if (kind_ == "list") {
    o << ":";
    for (size_t i = 0; i < list_.size(); ++i) o << (i ? "," : "") << list_[i].first << "@" << list_[i].second;
    return o.str();
  }
  if (kind_ == "pyramid") {
    o << " levels " << levels_ << " over " << span_ << " epochs (";
    for (uint32_t k = levels_ - 1; k > 0; --k) o << "1/" << (1u << k) << " size, ";
    o << "then the originals)";
    return o.str();
  }
  o << " sigma0 " << sigma0_;
  if (kind_ == "step") o << " levels " << levels_;
  o << " over " << span_ << " epochs";
  return o.str();
}

}  // namespace fovea::data

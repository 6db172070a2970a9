#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "util/error.h"

namespace fovea::train {

LrSchedule::LrSchedule(const LrConfig& c, uint32_t epochs) : c_(c), epochs_(epochs) {
  const std::string& s = c.schedule;
  if (s != "constant" && s != "step" && s != "multistep" && s != "exponential" && s != "inverse-time" &&
      s != "inverse-sqrt" && s != "cosine" && s != "plateau")
    throw Error("--lr-schedule: unknown schedule '" + s +
                "' (expected constant, step, multistep, exponential, inverse-time, inverse-sqrt, cosine or plateau)");
  if (!(c.lr > 0) || !std::isfinite(c.lr)) throw Error("--lr must be a positive number");
  gamma_ = c.gamma >= 0 ? c.gamma : (s == "exponential" ? 0.9 : 0.1);
  if (!(gamma_ > 0 && gamma_ <= 1) && s != "constant" && s != "cosine" && s != "inverse-time" &&
      s != "inverse-sqrt")
    throw Error("--lr-gamma must be in (0, 1], got " + std::to_string(gamma_));
  if (s == "step" && c.step_size == 0) throw Error("--lr-step-size must be at least 1");
  if (s == "multistep") {
    if (c.milestones.empty()) throw Error("--lr-schedule multistep needs --lr-milestones (e.g. 30,60)");
    for (size_t i = 1; i < c.milestones.size(); ++i)
      if (c.milestones[i] <= c.milestones[i - 1])
        throw Error("--lr-milestones must increase, got " + std::to_string(c.milestones[i - 1]) + " then " +
                    std::to_string(c.milestones[i]));
  }
  if (!(c.decay >= 0) || !std::isfinite(c.decay)) throw Error("--lr-decay must be >= 0");
  if (!(c.lr_min >= 0 && c.lr_min <= c.lr)) throw Error("--lr-min must be in [0, --lr]");
  if (c.restart_mult == 0) throw Error("--lr-restart-mult must be at least 1");
  if (!(c.warmup_epochs >= 0) || !std::isfinite(c.warmup_epochs))
    throw Error("--warmup-epochs must be >= 0");
  if (c.warmup != "linear" && c.warmup != "exponential")
    throw Error("--warmup: unknown kind '" + c.warmup + "' (expected linear or exponential)");
  if (!(c.warmup_start > 0 && c.warmup_start <= 1)) throw Error("--warmup-start must be in (0, 1]");
  if (!(c.threshold >= 0)) throw Error("--plateau-threshold must be >= 0");
}

double LrSchedule::decayed(uint32_t e) const {
  const std::string& s = c_.schedule;
  const double lr0 = c_.lr;
  if (s == "step") return lr0 * std::pow(gamma_, double(e / c_.step_size));
  if (s == "multistep") {
    const auto passed = std::upper_bound(c_.milestones.begin(), c_.milestones.end(), e) - c_.milestones.begin();
    return lr0 * std::pow(gamma_, double(passed));
  }
  if (s == "exponential") return lr0 * std::pow(gamma_, double(e));
  if (s == "inverse-time") return lr0 / (1.0 + c_.decay * e);
  if (s == "inverse-sqrt") return lr0 / std::sqrt(1.0 + c_.decay * e);
  if (s == "cosine") {
    double cur = e, period;
    if (c_.restart == 0) {
      period = std::max(1.0, double(epochs_) - std::ceil(c_.warmup_epochs));
    } else {
      period = c_.restart;
      while (cur >= period) {
        cur -= period;
        period *= c_.restart_mult;
      }
    }
    return c_.lr_min + (lr0 - c_.lr_min) * (1.0 + std::cos(M_PI * cur / period)) / 2.0;
  }
  if (s == "plateau") return std::max(lr0 * factor_, c_.lr_min);
  return lr0;
}

double LrSchedule::rate(double t) const {
  if (t < c_.warmup_epochs) {
    const double u = t / c_.warmup_epochs;
    const double f = c_.warmup == "linear" ? c_.warmup_start + (1.0 - c_.warmup_start) * u
                                           : std::pow(c_.warmup_start, 1.0 - u);
    return decayed(0) * f;
  }
  const double after = std::floor(t + 1e-9) - std::ceil(c_.warmup_epochs - 1e-9);
  return decayed(uint32_t(std::max(0.0, after)));
}

void LrSchedule::end_epoch(double loss) {
  if (c_.schedule != "plateau" || !std::isfinite(loss)) return;
  if (!has_best_ || loss < best_ * (1.0 - c_.threshold)) {
    best_ = loss;
    has_best_ = true;
    bad_epochs_ = 0;
    return;
  }
  if (++bad_epochs_ > c_.patience) {
    factor_ *= gamma_;
    bad_epochs_ = 0;
  }
}

std::string LrSchedule::describe() const {
  std::ostringstream o;
  o << c_.schedule << " from " << c_.lr;
  if (c_.warmup_epochs > 0) o << " after " << c_.warmup << " warm-up over " << c_.warmup_epochs << " epochs";
  return o.str();
}

}  // namespace fovea::train

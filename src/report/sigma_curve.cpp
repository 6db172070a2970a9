#include "report/sigma_curve.h"

#include <algorithm>
#include <cmath>

#include "data/sharpening.h"

namespace fovea::report {

namespace {

bool smooth(const std::string& kind) { return kind == "linear" || kind == "cosine" || kind == "exponential"; }

// Every step's sigma, kept where it changes.
SigmaCurve per_step(const ScheduleRecord& r, size_t epochs_run) {
  const data::SharpenSchedule schedule({r.spec, r.sigma0, r.sharpen_epochs, r.levels}, r.epochs);
  SigmaCurve c;
  c.per_step = true;
  c.x_end = double(epochs_run);
  for (size_t e = 0; e < epochs_run; ++e)
    for (uint64_t first = 0; first < r.train_images; first += r.batch) {
      const double t = double(e) + double(first) / double(r.train_images);
      const double v = schedule.sigma(t);
      if (c.y.empty() || std::abs(v - c.y.back()) > 1e-12) {
        c.x.push_back(t);
        c.y.push_back(v);
      }
    }
  if (c.x.size() > kMaxCurvePoints) {  // a ramp: evenly chosen steps, the last kept
    SigmaCurve ramp;
    ramp.per_step = true;
    ramp.steps = false;
    ramp.x_end = c.x_end;
    const size_t n = c.x.size();
    for (size_t k = 0; k < kMaxCurvePoints; ++k) {
      const size_t i = k * (n - 1) / (kMaxCurvePoints - 1);
      ramp.x.push_back(c.x[i]);
      ramp.y.push_back(c.y[i]);
    }
    ramp.x.push_back(c.x_end);  // the last value holds to the end
    ramp.y.push_back(c.y.back());
    return ramp;
  }
  return c;
}

}  // namespace

SigmaCurve sigma_curve(const std::optional<ScheduleRecord>& record, const std::string& kind,
                       const std::vector<double>& epoch_sigmas) {
  if (record && record->train_images > 0 && record->batch > 0) {
    const uint64_t steps = (record->train_images + record->batch - 1) / record->batch;
    if (steps <= kMaxCurveSteps / std::max<uint64_t>(1, epoch_sigmas.size())) return per_step(*record, epoch_sigmas.size());
  }
  SigmaCurve c;
  c.steps = !smooth(kind);
  c.x_end = double(epoch_sigmas.size());
  for (size_t e = 0; e < epoch_sigmas.size(); ++e) {
    c.x.push_back(double(e));
    c.y.push_back(epoch_sigmas[e]);
  }
  return c;
}

}  // namespace fovea::report

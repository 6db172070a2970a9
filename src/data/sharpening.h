// The progressive-sharpening curriculum: the input blur sigma (pixels) as a
// function of the position in the run, in epochs (fractional: epoch e, step
// i of n is e + i / n). Host math only; the value goes to the per-step
// parameter buffer, so the recorded step never changes.
//
//   none                 0 throughout (the default)
//   constant             sigma0 for N epochs (default: the whole run), then 0
//   step                 K levels sigma0 (1 - k/K), k = 0..K-1, each held N/K
//                        epochs, then 0
//   linear               sigma0 (1 - u), u = t / N
//   cosine               sigma0 (1 + cos(pi u)) / 2
//   exponential          sigma0 (exp(-a u) - exp(-a)) / (1 - exp(-a)), a = ln 100
//                        (a decay to 1 % shifted so it ends exactly at 0)
//   list:S1[@E1],S2...   explicit sigmas, each held for its epochs E; an item
//                        without @E takes the E of the next item that has
//                        one (so "list:3,2,1,0@2" holds each value 2 epochs),
//                        1 epoch when none follows; then 0
//   pyramid              no blur: K levels of resolution, level k = 0..K-1
//                        trained on the images downsampled by 2^(K-1-k),
//                        each held N/K epochs, then the originals (so the
//                        last level is the originals too); downsample()
//
// N (--sharpen-epochs) defaults to 3/4 of the run's epochs rounded down (at
// least 1), the whole run for `constant`; the smooth schedules fall per step
// and are 0 from epoch N on.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fovea::data {

// The largest sigma a schedule may use (the blur kernel's radius cap, 3
// sigma, is 64 pixels).
constexpr double kMaxSharpenSigma = 20.0;

struct SharpenConfig {
  std::string schedule = "none";  // --sharpen
  double sigma0 = 2.0;            // --sigma0, pixels
  int64_t sharpen_epochs = -1;    // --sharpen-epochs; -1 = the default above
  uint32_t levels = 4;            // --levels (step)
};

class SharpenSchedule {
 public:
  SharpenSchedule() = default;
  // Checks the configuration; throws fovea::Error naming the option and
  // value (--sharpen, --sigma0, --sharpen-epochs, --levels).
  SharpenSchedule(const SharpenConfig& c, uint32_t run_epochs);

  // Sigma at position t (epochs from the start of the run, t >= 0).
  double sigma(double t) const;
  // pyramid: the images are downsampled by 2^downsample(t) at t; 0 for
  // every other schedule and once the originals are reached.
  uint32_t downsample(double t) const;
  uint32_t levels() const { return levels_; }
  // False for `none` (and for lists of zeros): the run never blurs.
  bool active() const { return active_; }
  const std::string& kind() const { return kind_; }
  double sigma0() const { return sigma0_; }
  // Epochs until sigma is 0 for good (the list's total for lists).
  double span() const { return span_; }
  // One line for the log: "step sigma0 3 levels 3 over 3 epochs".
  std::string describe() const;

 private:
  std::string kind_ = "none";
  double sigma0_ = 0, span_ = 0;
  uint32_t levels_ = 1;
  std::vector<std::pair<double, double>> list_;  // (sigma, epochs)
  bool active_ = false;
};

}  // namespace fovea::data

// Evaluation: the loop that replays a model's eval program over a list of
// images (shared by `fovea train` for validation, test and robustness, and
// by `fovea eval`), and the evaluation of a finished run directory: loss,
// accuracy, per-class accuracy, the confusion matrix and, on request, the
// logits.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/corrupt.h"
#include "data/idx.h"
#include "data/source.h"
#include "gpu/recorder.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "ops/metrics.h"

namespace fovea::gpu { class Context; }

namespace fovea::train {

// Metric sums read back from the GPU, in double.
struct Totals {
  double loss = 0;
  uint64_t correct = 0, count = 0;
  void add(const ops::MetricSums& s) {
    loss += double(s.loss_sum) - double(s.loss_compensation);
    correct += s.correct;
    count += s.count;
  }
  double mean_loss() const { return count ? loss / double(count) : 0; }
  double accuracy() const { return count ? double(correct) / double(count) : 0; }
};

// Writes rows [first, first + rows) (positions in what the caller hands a
// step or pass) into ring slot `slot` of the model's images and labels; the
// slot is free when it is called (its previous run has finished).
using FillRows = std::function<void(uint32_t slot, uint64_t first, uint32_t rows)>;

// Copies the images and labels of `set` at idx[0 .. rows) into ring slot
// `slot`; labels past `rows` are 0. Rows past `rows` keep stale bytes; the
// decode kernel zeroes them on the GPU.
void fill_from_set(nn::Model& m, const data::ImageSet& set, const uint32_t* idx, uint32_t rows, uint32_t slot);
// Copies `rows` images (u8) and labels (u32, or class 0 when null) from
// host memory into ring slot `slot`; labels past `rows` are 0.
void fill_from_host(nn::Model& m, uint32_t slot, const uint8_t* images, const uint32_t* labels, uint32_t rows);
// The session layer's (evaluate below, Session::probe): writes `base` with
// the batch's rows and slot and first_image base.first_image + `first` (the
// batch's position in its pass) into ring slot `slot` of the model's step
// parameters.
void write_pass_params(nn::Model& m, uint32_t slot, const nn::StepParams& base, uint32_t rows, uint64_t first);
void zero_sums(const gpu::View& v, uint32_t slots);
Totals read_sums(const gpu::View& v, uint32_t slots);

// Receives the logits [rows, classes] of indices[first .. first + rows).
using LogitsSink = std::function<void(size_t first, uint32_t rows, const float* logits)>;

// Runs the eval program over `indices` of `set`; returns loss and accuracy.
// `base` carries the corruption (blur_sigma, noise_std) and the feature
// smoothing sigma; rows and slot are set here, first_image to
// base.first_image + the batch's position in `indices` (a data-parallel
// rank's share of a pass starts at its offset). With a sink (the
// model must have been built with ModelOptions::read_logits), every batch's
// logits go to it once the batch has run.
Totals evaluate(nn::Model& m, gpu::Replayer& r, const data::ImageSet& set,
                const std::vector<uint32_t>& indices, const nn::StepParams& base,
                const LogitsSink& sink = {});
// The same over `n` rows that `fill` writes (train::Session::evaluate).
Totals evaluate(nn::Model& m, gpu::Replayer& r, uint64_t n, const FillRows& fill, const nn::StepParams& base,
                const LogitsSink& sink = {});

// The images under one test corruption (data/corrupt.h): blur and noise
// become step parameters of `base` (their values replace base's), the others
// are applied to a copy of `set`'s images at `indices`; `run` evaluates.
using EvaluateFn = std::function<Totals(const data::ImageSet&, const nn::StepParams&)>;
Totals evaluate_corrupted(const data::Corruption& c, const data::ImageSet& set,
                          const std::vector<uint32_t>& indices, nn::StepParams base, const EvaluateFn& run);

// A copy of `m` built from `mo` (m's options) whose eval program attacks
// each batch by `a` (ModelOptions::attack), with m's current parameters,
// state and step count: --test-fgsm on the final weights.
struct AttackedModel {
  std::unique_ptr<nn::Model> model;
  std::unique_ptr<gpu::Replayer> step;  // of its eval program
};
AttackedModel attacked_copy(gpu::Context& ctx, const nn::Model& m, nn::ModelOptions mo,
                            const data::AdversarialConfig& a);

// What a run directory of `fovea train` holds that evaluation and export
// need: the model spec, weights and input standardisation from
// model.safetensors, and from summary.json the data, the split settings, the
// batch and the final feature-smoothing sigma.
struct RunInfo {
  std::string dir, weights_path;
  io::SafetensorsFile weights;
  nn::ModelSpec spec;
  std::vector<double> mean, std;
  std::string data_dir;
  uint64_t seed = 0;
  uint32_t limit = 0, batch = 128;
  std::optional<std::string> val_split;  // absent in runs of older versions
  double feature_sigma = 0;              // conv2d output smoothing of the last step
  // How the run read its data (summary.json "classes" and "data_source";
  // older runs: the class indices, crop, no skipping).
  std::vector<std::string> classes;
  data::Resize resize = data::Resize::crop;
  bool skip_bad_images = false;
};

// Throws fovea::Error naming the directory or file that is missing or bad.
RunInfo load_run(const std::string& dir);

// Opens `data` ("" = the run's --data) as the run read its data: the
// model's input, --resize, --skip-bad-images; the run's class names.
data::Source open_run_data(const RunInfo& run, const std::string& data, bool progress = true);

// The model of a run with its final weights loaded (the run's batch, or
// max_batch when that is smaller and not 0; the run's standardisation and
// feature smoothing; `mo` gives the rest), and the evaluation step
// parameters of the run (its seed and final feature sigma).
std::unique_ptr<nn::Model> load_run_model(gpu::Context& ctx, const RunInfo& run, nn::ModelOptions mo,
                                          nn::StepParams& base, uint32_t max_batch = 0);

// The logits of the run's final weights on `indices` of `set`, batch by
// batch to `sink`, as `fovea eval` computes them (load_run_model's
// evaluation parameters): `fovea predict`, `fovea audit --folds`.
void run_logits(gpu::Context& ctx, const RunInfo& run, const data::ImageSet& set,
                const std::vector<uint32_t>& indices, const LogitsSink& sink);

struct EvalOptions {
  std::string data_dir;  // "" = the run's
  std::string split = "test";  // test, val (the run's holdout) or train (the run's training images)
  double blur_sigma = 0;  // pixels, [0, 20]
  double noise_std = 0;   // [0, 1] pixel units, the run's seed (as --test-noise)
  // --test-corrupt items: the split also evaluated under each, on the
  // original images (without blur_sigma and noise_std).
  std::vector<std::string> corrupt;
  bool logits = false;
  // --fgsm EPS / --pgd EPS:STEPS: every figure is under that attack (model.h).
  std::string fgsm, pgd;
};

// The split under one of EvalOptions::corrupt.
struct EvalCorrupted {
  std::string corruption;
  double value = 0, loss = 0, accuracy = 0;
};

struct EvalResult {
  std::string split, data_dir;
  data::AdversarialConfig attack;                 // from EvalOptions::fgsm / pgd (steps 0: none)
  uint32_t classes = 0;
  std::vector<std::string> class_names;           // [classes]
  uint64_t images = 0;
  double loss = 0, accuracy = 0;
  std::vector<uint64_t> class_images;             // [classes]
  std::vector<std::vector<uint64_t>> confusion;  // [true][predicted]
  std::vector<float> logits;                      // [images, classes], data-file order (when asked)
  std::vector<uint32_t> indices, labels;          // [images] each row's position in the split's set and
                                                  // its class (with the logits)
  std::vector<EvalCorrupted> corrupted;           // one per --test-corrupt item
  double class_accuracy(uint32_t k) const {
    return class_images[k] ? double(confusion[k][k]) / double(class_images[k]) : 0;
  }
};

// Evaluates the run's final weights on one split. Loss and accuracy are the
// GPU's metric sums (as `fovea train` reports them); per-class counts and
// the confusion matrix come from the logits' argmax (first maximum).
EvalResult evaluate_run(gpu::Context& ctx, const RunInfo& run, const EvalOptions& opts);

// The result as a JSON document and as the printed table.
std::string eval_json(const RunInfo& run, const EvalOptions& opts, const EvalResult& r);
std::string eval_table(const EvalResult& r);

}  // namespace fovea::train

// The `fovea` command: `fovea devices`, `fovea train`, `fovea cv`, `fovea blur`, `fovea augment`,
// `fovea report`, `fovea eval`, `fovea predict`, `fovea export`, `fovea sharpness`, `fovea bench`. Every user error is
// one line on stderr and a non-zero exit: 2 for a bad command line, 1 for a
// bad file, value or a failure while running, 3 when --validate saw messages.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/predict.h"
#include "cli/run_args.h"
#include "cli/train_options.h"
#include "data/idx.h"
#include "data/source.h"
#include "dist/comm.h"
#include "gpu/context.h"
#include "io/atomic_file.h"
#include "io/npy.h"
#include "io/onnx_export.h"
#include "io/png.h"
#include "train/bench.h"
#include "train/checkpoint.h"
#include "train/cv.h"
#include "train/evaluate.h"
#include "train/samples.h"
#include "train/sharpness.h"
#include "train/trainer.h"
#include "util/error.h"

namespace {

using fovea::cli::add_train_options;
using fovea::cli::expand_resume;
using fovea::cli::expand_run_config;
using fovea::cli::given_and_read;
using fovea::cli::join_ranks;
using fovea::cli::kAugmentHelp;
using fovea::cli::open_device;
using fovea::cli::resolve_train_options;
using fovea::cli::run_settings;
using fovea::cli::TrainOptions;

int finish_validation(fovea::gpu::Context& ctx) {
  if (!ctx.validating()) return 0;
  uint64_t n = ctx.validation().count();
  if (n == 0) {
    std::fprintf(stderr, "validation: no messages\n");
    return 0;
  }
  std::fprintf(stderr, "fovea: the validation layer reported %llu message(s)\n", (unsigned long long)n);
  return 3;
}

// Any --data source for the commands without a model (`fovea blur`,
// `fovea augment`): image files take the first training image's shape.
fovea::data::Source open_images(const std::string& path, const std::string& resize) {
  fovea::data::SourceOptions o;
  o.resize = fovea::data::parse_resize(resize);
  o.decode.progress = true;
  return fovea::data::open_source(path, o);
}

const char* const kDataHelp =
    "The data: a folder of IDX files (raw or .gz), a folder with train/<class>/ subfolders, or a .csv manifest";
const char* const kResizeHelp =
    "Image files of another size than the first training image: crop, stretch or pad (as fovea train --resize)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fovea: train neural networks with Vulkan compute (progressive sharpening)", "fovea"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");

  auto* devices = app.add_subcommand("devices", "List Vulkan devices (duplicates removed), best marked, with the limits and features kernels are chosen from (FOVEA_LIMITS=vulkan11-min clamps them; FOVEA_FAST=0 forces the portable kernels; see docs/portability.md)");

  TrainOptions topts;
  auto* train = app.add_subcommand(
      "train", "Train a model on IDX files (Fashion-MNIST by default), class folders of images or a CSV manifest");
  add_train_options(train, topts);

  // `fovea cv`: every train option, plus the protocol and its settings.
  TrainOptions copts;
  auto* cv = app.add_subcommand("cv", "Cross-validate: train a fresh model per split of the training images, "
                                      "report each split and the mean and sample std");
  add_train_options(cv, copts);
  std::string protocol;
  uint32_t folds = 5, repeats = 1, p = 1, max_splits = 0;
  const char* cv_group = "Cross-validation";
  cv->add_option("--protocol", protocol,
                 "holdout, stratified-holdout, repeated-random (sub-sampling), kfold, stratified-kfold or leave-p-out")
      ->required()
      ->group(cv_group);
  auto cv_option = [&](const char* name, uint32_t& value, const char* help) {
    return cv->add_option(name, value, help)->capture_default_str()->group(cv_group);
  };
  auto* folds_option = cv_option("--folds", folds, "kfold, stratified-kfold: the number of folds K (2 <= K <= images)");
  auto* repeats_option = cv_option("--repeats", repeats,
                                   "repeated-random, stratified-holdout: holdouts drawn; kfold, stratified-kfold: "
                                   "reshuffled k-fold repeats (repeated k-fold)");
  auto* p_option = cv_option("--p", p, "leave-p-out: images left out per split (1 = leave-one-out)");
  auto* max_splits_option = cv_option(
      "--max-splits", max_splits,
      "leave-p-out: train on a seeded sample of this many distinct p-subsets, at most 1000 (0 = every subset, "
      "refused past 1000)");
  CLI::Option* cv_val_split_option = cv->get_option("--val-split");
  cv_val_split_option->description(
      "holdout, stratified-holdout, repeated-random: the validation holdout, a count N or a fraction in (0, 1) "
      "(default 1/12)");
  cv->get_option("--out")->description("cv directory: cv.jsonl and a run directory split-<i> per split "
                                       "(default runs/cv-<timestamp>)");
  cv->get_option("--seed")->description("Seed for the splits, initialisation (the same in every split) and shuffles");
  cv->footer("Protocols: holdout (one seeded --val-split holdout, the one `fovea train` uses), stratified-holdout\n"
             "(each class's share of the holdout within one image), repeated-random (--repeats holdouts),\n"
             "kfold and stratified-kfold (--folds folds, every fold's count of each class within one of\n"
             "n_c/K; --repeats reshuffles), leave-p-out (every p-subset, at most 1000 splits, or\n"
             "--max-splits sampled). --limit N keeps the first N images; each split trains a fresh model\n"
             "with the same options and seed into DIR/split-<i>. DIR/cv.jsonl holds a line per split\n"
             "(val_* of the epoch kept, test_*), then a summary line with the mean and sample std (n-1).\n\n" +
             train->get_footer());

  fovea::train::BlurGridConfig grid;
  std::string blur_data = "/usr/share/datasets/fashion-mnist", blur_out, blur_split = "train", blur_device,
              blur_resize = "crop";
  auto* blur = app.add_subcommand("blur", "Write a PNG grid of sample images at each blur sigma (a row per sigma)");
  blur->add_option("--data", blur_data, kDataHelp)->capture_default_str();
  blur->add_option("--resize", blur_resize, kResizeHelp)->capture_default_str();
  blur->add_option("--sigma", grid.sigmas, "Blur sigmas in pixels, comma-separated (a row each)")
      ->delimiter(',')
      ->capture_default_str();
  blur->add_option("--count", grid.count, "Images per row")->capture_default_str();
  blur->add_option("--first", grid.first, "Index of the first image shown")->capture_default_str();
  blur->add_option("--split", blur_split, "Which images: train or test")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  blur->add_flag("--pyramid", grid.pyramid, "Row k also decimated by 2, k times (shown enlarged)");
  blur->add_option("--out", blur_out, "Output PNG file")->required();
  blur->add_option("--device", blur_device, "Device index or name substring (also FOVEA_DEVICE)");

  std::string report_dir, report_device;
  auto* report = app.add_subcommand("report", "Write DIR/report.html again from a run directory's files "
                                              "(train writes it at the end of every run)");
  report->add_option("DIR", report_dir, "Run directory (metrics.jsonl, summary.json, eval-test.json)")->required();
  report->add_option("--device", report_device, "Device for the sample grid: index or name substring (also FOVEA_DEVICE)");

  fovea::train::AugmentGridConfig aug_grid;
  std::string aug_data = "/usr/share/datasets/fashion-mnist", aug_list, aug_out, aug_device, aug_resize = "crop";
  auto* augment = app.add_subcommand(
      "augment", "Write a PNG grid: a row of training images, then rows of them augmented at steps 0, 1, ...");
  augment->add_option("--data", aug_data, kDataHelp)->capture_default_str();
  augment->add_option("--resize", aug_resize, kResizeHelp)->capture_default_str();
  augment->add_option("--augment", aug_list, kAugmentHelp)->required();
  augment->add_option("--count", aug_grid.count, "Images per row (one batch)")->capture_default_str();
  augment->add_option("--first", aug_grid.first, "Index of the first training image shown")->capture_default_str();
  augment->add_option("--rows", aug_grid.rows, "Augmented rows (training steps 0..R-1)")->capture_default_str();
  augment->add_option("--seed", aug_grid.seed, "The run seed the draws are keyed by")->capture_default_str();
  augment->add_option("--out", aug_out, "Output PNG file")->required();
  augment->add_option("--device", aug_device, "Device index or name substring (also FOVEA_DEVICE)");

  // ---- fovea eval, fovea export: a finished run directory ----
  fovea::train::EvalOptions eval_opts;
  std::string eval_run, eval_json_path, eval_logits, eval_device;
  bool eval_validate = false;
  auto* eval = app.add_subcommand("eval", "Evaluate a run's final weights: loss, accuracy, per-class accuracy, confusion matrix");
  eval->add_option("--run", eval_run, "Run directory (the --out of fovea train)")->required();
  eval->add_option("--data", eval_opts.data_dir, "The data, any source (default: the run's)");
  eval->add_option("--split", eval_opts.split,
                   "test; val (the source's validation images, else the run's holdout, rebuilt from its seed, "
                   "--limit and --val-split); train (the run's training images without the holdout)")
      ->capture_default_str();
  eval->add_option("--json", eval_json_path, "Write the results here (default RUN/eval-<split>.json; with "
                                             "corruption RUN/eval-<split>-blur<S>-noise<STD>.json)");
  eval->add_option("--logits", eval_logits,
                   "Also write the logits as float32 .npy of shape [N, classes], in the source's order of the split's "
                   "images (a manifest's rows, a folder's bytewise paths)");
  eval->add_option("--blur-sigma", eval_opts.blur_sigma, "Blur the images by this Gaussian sigma, pixels (robustness)")
      ->capture_default_str();
  eval->add_option("--noise", eval_opts.noise_std,
                   "Add Gaussian noise of this std, [0, 1] pixel units, seeded as fovea train --test-noise (robustness)")
      ->capture_default_str();
  eval->add_option("--device", eval_device, "Device index or name substring (also FOVEA_DEVICE)");
  eval->add_flag("--validate", eval_validate, "Enable the Khronos validation layer (also FOVEA_VALIDATION=1)");

  std::string export_run, export_onnx;
  auto* exporter = app.add_subcommand("export", "Export a run's model as ONNX (opset 13, evaluation mode)");
  exporter->add_option("--run", export_run, "Run directory (the --out of fovea train)")->required();
  exporter->add_option("--onnx", export_onnx,
                       "Output .onnx file: input [batch, C, H, W] float32 already standardised, output logits [batch, classes]")
      ->required();

  fovea::cli::PredictCommand predict;
  fovea::cli::add_predict(app, predict);

  // ---- fovea sharpness: the loss Hessian and Jacobian of a run's weights ----
  fovea::train::SharpnessOptions sharp_opts;
  std::string sharp_run, sharp_data, sharp_device;
  bool sharp_validate = false;
  auto* sharpness = app.add_subcommand(
      "sharpness", "Probe a run's final weights: top Hessian eigenvalues, Hessian trace and input-output Jacobian "
                   "norm of the mean loss over the first N training images; one JSON object on stdout");
  sharpness->add_option("--run", sharp_run, "Run directory (the --out of fovea train)")->required();
  sharpness->add_option("--data", sharp_data, "The data, any source (default: the run's)");
  sharpness->add_option("--images", sharp_opts.images, "The first N training images, in file order")
      ->capture_default_str();
  sharpness->add_option("--method", sharp_opts.method, "Top eigenvalue by lanczos (full reorthogonalisation) or power iteration")
      ->capture_default_str();
  sharpness->add_option("--top", sharp_opts.top, "Eigenvalues reported in 'top' (Lanczos)")->capture_default_str();
  sharpness->add_option("--tolerance", sharp_opts.tolerance,
                        "Stop when the top eigenvalue(s) moved by less than this, relative, in one iteration")
      ->capture_default_str();
  sharpness->add_option("--max-iterations", sharp_opts.max_iterations, "Cap on Lanczos steps or power iterations")
      ->capture_default_str();
  sharpness->add_option("--trace-probes", sharp_opts.trace_probes,
                        "Rademacher probes of Hutchinson's trace estimate (0 = no trace)")
      ->capture_default_str();
  sharpness->add_option("--jacobian-probes", sharp_opts.jacobian_probes,
                        "Rademacher probes per image of the Jacobian norm (0 = none)")
      ->capture_default_str();
  sharpness->add_option("--seed", sharp_opts.seed, "Seed of the start vector and the probes")->capture_default_str();
  sharpness->add_option("--step", sharp_opts.step,
                        "Finite-difference step of the Hessian-vector products, relative to max(1, |weights|)")
      ->capture_default_str();
  sharpness->add_option("--device", sharp_device, "Device index or name substring (also FOVEA_DEVICE)");
  sharpness->add_flag("--validate", sharp_validate, "Enable the Khronos validation layer (also FOVEA_VALIDATION=1)");
  sharpness->footer(
      "Prints one JSON object on stdout (logs go to stderr): lambda_max, top, trace, trace_se, jacobian_fro,\n"
      "iterations, converged, hvps, loss, images, method, seconds. BatchNorm runs on its running statistics,\n"
      "random layers are off. Hessian-vector products are central differences of float32 GPU gradients\n"
      "(docs/study-sharpening.md gives their measured error); jacobian_fro is sqrt(mean over images of\n"
      "||d logits / d standardised input||_F^2).");

  // ---- fovea bench: the training step on synthetic data, per-kernel time and roofline ----
  fovea::train::BenchConfig bench_cfg;
  std::string bench_device, bench_json_path;
  bool bench_validate = false;
  auto* bench = app.add_subcommand(
      "bench", "Time a model's training step on synthetic data (no data set): images/s, GPU time per kernel, "
               "device memory; with --roofline each kernel's FLOPs, bytes and fraction of the device's roofline");
  bench->add_option("--model", bench_cfg.model_path, "Model spec (JSON)")->required();
  bench->add_option("--batch", bench_cfg.batch, "Batch size")->capture_default_str();
  bench->add_option("--steps", bench_cfg.steps, "Timed training steps")->capture_default_str();
  bench->add_option("--warmup", bench_cfg.warmup, "Untimed steps first (kernels compile at their first use)")
      ->capture_default_str();
  bench->add_flag("--roofline", bench_cfg.roofline,
                  "Per kernel: FLOPs and bytes per step, GFLOP/s, GB/s, FLOP/byte and the fraction of "
                  "min(peak FLOP/s, FLOP/byte x peak bandwidth) it reaches");
  bench->add_flag("--memory", bench_cfg.memory,
                  "Also list every buffer of the device arena: size, offset, and its life in the training step "
                  "(first and last dispatch using it); buffers whose lives do not overlap share bytes");
  bench->add_option("--peak-gflops", bench_cfg.peak_gflops,
                    "The device's arithmetic peak, GFLOP/s (with --peak-gbps; default: measured by an FMA loop)");
  bench->add_option("--peak-gbps", bench_cfg.peak_gbps,
                    "The device's memory bandwidth, GB/s (with --peak-gflops; default: measured by a streaming copy)");
  bench->add_option("--json", bench_json_path, "Also write the figures as JSON to this file");
  bench->add_option("--seed", bench_cfg.seed, "Seed of the initial weights and the synthetic batches")
      ->capture_default_str();
  bench->add_option("--device", bench_device, "Device index or name substring (also FOVEA_DEVICE)");
  bench->add_flag("--validate", bench_validate, "Enable the Khronos validation layer (also FOVEA_VALIDATION=1)");

  try {
    std::vector<std::string> args(argv, argv + argc);
    try {
      for (const CLI::App* sub : {train, cv})
        if (args.size() > 1 && args[1] == sub->get_name()) {
          if (sub == train) args = expand_resume(args);
          args = expand_run_config(args, *sub);
          // A cv split's checkpoint records no settings: --resume cannot rebuild its split.
          if (sub == train) topts.cfg.args = run_settings(args);
        }
    } catch (const fovea::Error& e) {
      std::fprintf(stderr, "fovea: %s\n", e.what());
      return 1;
    }
    std::reverse(args.begin() + 1, args.end());  // CLI11 parses a vector in reverse
    args.erase(args.begin());
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "fovea: %s (see fovea --help)\n", e.what());
    return 2;
  }

  try {
    if (*devices) {
      auto list = fovea::gpu::list_devices();
      size_t best = fovea::gpu::best_device(list);
      for (size_t i = 0; i < list.size(); ++i)
        std::printf("%s%s\n", fovea::gpu::describe(list[i]).c_str(), i == best ? "\n    (best: used by default)" : "");
      return 0;
    }
    if (*blur) {
      auto ctx = fovea::gpu::Context::create({blur_device, false});
      const fovea::data::Source ds = open_images(blur_data, blur_resize);
      if (blur_split == "test" && !ds.test) throw fovea::Error("--split test: " + blur_data + " has no test set");
      const fovea::data::ImageSet& set = blur_split == "train" ? ds.train : *ds.test;
      fovea::train::Image img = fovea::train::blur_grid(*ctx, set, grid);
      fovea::io::write_png(blur_out, img.width, img.height, img.channels, img.pixels);
      std::string sig;
      for (double s : grid.sigmas) sig += (sig.empty() ? "" : ", ") + CLI::detail::to_string(s);
      std::printf("wrote %s: %zu rows (sigma %s%s) x %u images, %ux%u pixels\n", blur_out.c_str(),
                  grid.sigmas.size(), sig.c_str(), grid.pyramid ? ", pyramid" : "", grid.count, img.width,
                  img.height);
      return 0;
    }
    if (*report) {
      // The sample grid needs the run's data and a device; without the data
      // (or any device, unless --device named one) the page still renders,
      // with a note instead of the grid.
      fovea::train::ReportExtras extras;
      const std::string data = fovea::train::report_data_dir(report_dir);
      std::optional<fovea::data::Source> ds;
      std::unique_ptr<fovea::gpu::Context> ctx;
      try {
        if (data.empty()) throw fovea::Error("summary.json names no data directory");
        ds = fovea::train::open_run_data(fovea::train::load_run(report_dir), "");
        ctx = fovea::gpu::Context::create({report_device, false});
      } catch (const fovea::Error& e) {
        if (ds && !report_device.empty()) throw;
        extras.grid_note = std::string("no sample grid: ") + e.what();
      }
      if (ctx) extras = fovea::train::report_samples(*ctx, ds->train, report_dir);
      std::printf("wrote %s\n", fovea::train::write_report(report_dir, extras).c_str());
      return ctx ? finish_validation(*ctx) : 0;
    }
    if (*augment) {
      aug_grid.augment = fovea::data::parse_augment(aug_list);
      auto ctx = fovea::gpu::Context::create({aug_device, false});
      const fovea::data::Source ds = open_images(aug_data, aug_resize);
      fovea::train::Image img = fovea::train::augment_grid(*ctx, ds.train, aug_grid);
      fovea::io::write_png(aug_out, img.width, img.height, img.channels, img.pixels);
      std::printf("wrote %s: originals and %u augmented rows (%s) x %u images, %ux%u pixels\n",
                  aug_out.c_str(), aug_grid.rows, fovea::data::describe_augment(aug_grid.augment).c_str(),
                  aug_grid.count, img.width, img.height);
      return 0;
    }
    if (*eval) {
      eval_opts.logits = !eval_logits.empty();
      const fovea::train::RunInfo run = fovea::train::load_run(eval_run);
      auto ctx = fovea::gpu::Context::create({eval_device, eval_validate});
      const fovea::train::EvalResult r = fovea::train::evaluate_run(*ctx, run, eval_opts);
      if (eval_json_path.empty()) {
        std::string name = "eval-" + eval_opts.split;
        if (eval_opts.blur_sigma > 0 || eval_opts.noise_std > 0)
          name += "-blur" + CLI::detail::to_string(eval_opts.blur_sigma) + "-noise" + CLI::detail::to_string(eval_opts.noise_std);
        eval_json_path = run.dir + "/" + name + ".json";
      }
      std::printf("run %s (device: %s)\n%s", run.dir.c_str(), ctx->info().name.c_str(), fovea::train::eval_table(r).c_str());
      fovea::io::write_file_atomically(eval_json_path, fovea::train::eval_json(run, eval_opts, r));
      std::printf("wrote %s\n", eval_json_path.c_str());
      if (!eval_logits.empty()) {
        fovea::io::write_npy_f32(eval_logits, r.logits, r.images, r.classes);
        std::printf("wrote %s: logits [%llu, %u] float32\n", eval_logits.c_str(), (unsigned long long)r.images, r.classes);
      }
      return finish_validation(*ctx);
    }
    if (*predict.app) return fovea::cli::run_predict(predict);
    if (*exporter) {
      const fovea::train::RunInfo run = fovea::train::load_run(export_run);
      if (run.feature_sigma > 0)
        throw fovea::Error("cannot export " + export_run + ": its conv2d outputs are smoothed (--feature-smoothing, final sigma " +
                           CLI::detail::to_string(run.feature_sigma) + "), which the ONNX graph does not include");
      const fovea::io::onnx::Model m =
          fovea::io::export_onnx({&run.spec, &run.weights, run.weights_path, run.mean, run.std, ""});
      fovea::io::onnx::write_model(export_onnx, m);
      std::printf("wrote %s: %zu nodes, %zu initializers, opset %lld; input [batch, %u, %u, %u] standardised "
                  "per channel ((pixel / 255 - mean) / std, see its metadata), output logits [batch, %u]\n",
                  export_onnx.c_str(), m.graph.nodes.size(), m.graph.initializers.size(), (long long)m.opset,
                  run.spec.channels, run.spec.height, run.spec.width, run.spec.classes);
      return 0;
    }
    if (*sharpness) {
      fovea::train::validate_sharpness_options(sharp_opts);
      const fovea::train::RunInfo run = fovea::train::load_run(sharp_run);
      auto ctx = fovea::gpu::Context::create({sharp_device, sharp_validate});
      const fovea::train::SharpnessResult r = fovea::train::sharpness_of_run(*ctx, run, sharp_data, sharp_opts);
      std::fprintf(stderr, "sharpness of %s on the first %u training images: %llu Hessian-vector products, %.1f s "
                   "(device: %s)\n", run.dir.c_str(), sharp_opts.images, (unsigned long long)r.hvps, r.seconds,
                   ctx->info().name.c_str());
      std::fputs(fovea::train::sharpness_json(r, sharp_opts).c_str(), stdout);
      return finish_validation(*ctx);
    }
    if (*bench) {
      auto ctx = fovea::gpu::Context::create({bench_device, bench_validate});
      std::printf("device: %s (%s)\n", ctx->info().name.c_str(), fovea::gpu::device_type_name(ctx->info().type));
      std::fflush(stdout);
      const fovea::train::BenchResult r = fovea::train::run_bench(*ctx, bench_cfg);
      std::fputs(fovea::train::bench_text(r).c_str(), stdout);
      if (!bench_json_path.empty()) {
        fovea::io::write_file_atomically(bench_json_path, fovea::train::bench_json(r));
        std::printf("wrote %s\n", bench_json_path.c_str());
      }
      return finish_validation(*ctx);
    }
    if (*train) {
      fovea::dist::Comm comm;  // MPI when an MPI launcher started this process
      try {
        resolve_train_options(topts, argc, argv, "");
        join_ranks(topts, comm);
        auto ctx = open_device(topts);
        fovea::train::train(*ctx, topts.cfg);
        return finish_validation(*ctx);
      } catch (const fovea::Error& e) {
        // One rank's failure stops them all (MPI_Abort), never a hang.
        if (comm.distributed()) comm.abort(e.what());
        throw;
      } catch (const std::exception& e) {
        if (comm.distributed()) comm.abort(std::string("unexpected error: ") + e.what());
        throw;
      }
    }
    if (*cv) {
      fovea::train::CvConfig c;
      c.cv.protocol = fovea::data::parse_protocol(protocol);
      const std::vector<std::string> reads = fovea::data::protocol_options(c.cv.protocol);
      for (CLI::Option* opt : {folds_option, repeats_option, p_option, max_splits_option, cv_val_split_option})
        given_and_read(opt, reads, "--protocol " + protocol);
      c.cv.folds = folds;
      c.cv.repeats = repeats;
      c.cv.p = p;
      c.cv.max_splits = max_splits;
      if (fovea::dist::Comm::launched_size() > 1)
        throw fovea::Error("fovea cv does not run data-parallel; start it without mpirun (fovea train does)");
      resolve_train_options(copts, argc, argv, "cv-");
      c.train = copts.cfg;
      auto ctx = open_device(copts);
      fovea::train::cross_validate(*ctx, c);
      return finish_validation(*ctx);
    }
  } catch (const fovea::Error& e) {
    std::fprintf(stderr, "fovea: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fovea: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}

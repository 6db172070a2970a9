// `fovea prune`: a finished run's weights magnitude-pruned into a new run
// directory, evaluated before and after, and optionally fine-tuned with the
// mask fixed (every train option applies to the fine-tuning).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/train_options.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "train/evaluate.h"
#include "train/prune_run.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

namespace fs = std::filesystem;

class Prune final : public Command {
 public:
  explicit Prune(CLI::App& app)
      : Command(app.add_subcommand("prune", "Magnitude-prune a run's weights, evaluate before and after, and "
                                            "optionally fine-tune with the mask fixed")) {
    add_train_options(sub_, opts_);
    // The model, its weights and the epochs come from the run and --fine-tune-epochs.
    for (const char* name : {"--model", "--epochs", "--init", "--resume", "--config"})
      sub_->remove_option(sub_->get_option(name));
    add_run_option(sub_, run_)->required();
    sub_->add_option("--sparsity", sparsity_, "Fraction of the weights to zero, in [0, 1]")->capture_default_str();
    sub_->add_option("--scope", scope_, "layer: that fraction of each weight tensor; global: of all of them together")
        ->check(CLI::IsMember({"layer", "global"}))
        ->capture_default_str();
    sub_->add_option("--fine-tune-epochs", epochs_,
                     "Then train this many epochs with the pruned weights held at 0 (0 = no fine-tuning)")
        ->capture_default_str();
    sub_->add_option("--split", split_, "Evaluate on test or val (as fovea eval --split)")
        ->check(CLI::IsMember({"test", "val"}))
        ->capture_default_str();
    sub_->get_option("--out")->description("The pruned run's directory (default RUN-pruned)");
    data_ = sub_->get_option("--data");
  }

  int run(const std::vector<std::string>& args) override {
    const train::RunInfo run = train::load_run(run_);
    train::TrainConfig& cfg = opts_.cfg;
    if (cfg.out_dir.empty()) cfg.out_dir = fs::path(run_).lexically_normal().string() + "-pruned";
    const fs::path out(cfg.out_dir);
    if (fs::exists(out / "model.safetensors") || fs::exists(out / "metrics.jsonl"))
      throw Error("--out " + out.string() + " already holds a run; choose another directory");
    io::SafetensorsFile pruned = io::read_safetensors(run.weights_path);
    const auto mask = train::prune_weights(run.spec, pruned, sparsity_, ops::parse_prune_scope(scope_));
    resolve_train_options(opts_, args, "");
    auto ctx = open_context(opts_.dev);
    train::EvalOptions eo;
    eo.split = split_;
    eo.data_dir = data_->count() ? cfg.data_dir : "";
    const train::EvalResult before = train::evaluate_run(*ctx, run, eo);

    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw Error("cannot create --out " + out.string() + ": " + ec.message());
    io::write_file_atomically((out / "model.json").string(), run.spec.json + "\n");
    io::write_safetensors((out / "pruned.safetensors").string(), pruned);
    io::write_safetensors((out / "model.safetensors").string(), pruned);
    fs::copy_file(fs::path(run_) / "summary.json", out / "summary.json", fs::copy_options::overwrite_existing);
    const train::EvalResult after = train::evaluate_run(*ctx, train::load_run(out.string()), eo);

    nlohmann::json report = {{"run", run_},           {"sparsity", sparsity_}, {"scope", scope_},
                             {"split", split_},       {"fine_tune_epochs", epochs_},
                             {"before", result(before)}, {"after_pruning", result(after)}};
    std::printf("%s: %llu images\n  before pruning      loss %.4f  accuracy %.4f\n  after pruning       loss %.4f  "
                "accuracy %.4f\n",
                split_.c_str(), (unsigned long long)before.images, before.loss, before.accuracy, after.loss,
                after.accuracy);
    if (epochs_ > 0) fine_tune(*ctx, run, mask, eo, report);
    const io::SafetensorsFile final_weights = io::read_safetensors((out / "model.safetensors").string());
    report["layers"] = layers(run.spec, final_weights, mask);
    report["mask_violations"] = train::mask_violations(mask, final_weights);
    io::write_file_atomically((out / "prune.json").string(), report.dump(2) + "\n");
    std::printf("wrote %s\n", (out / "prune.json").string().c_str());
    return finish_validation(*ctx);
  }

 private:
  static nlohmann::json result(const train::EvalResult& r) {
    return {{"loss", r.loss}, {"accuracy", r.accuracy}, {"images", r.images}};
  }

  // Trains the pruned weights for --fine-tune-epochs with the run's data,
  // seed, --limit, --val-split and batch unless the command line gives them.
  void fine_tune(gpu::Context& ctx, const train::RunInfo& run, const std::map<std::string, std::vector<uint32_t>>& mask,
                 const train::EvalOptions& eo, nlohmann::json& report) {
    train::TrainConfig& cfg = opts_.cfg;
    const fs::path out(cfg.out_dir);
    cfg.model_path = (out / "model.json").string();
    cfg.init = (out / "pruned.safetensors").string();
    cfg.epochs = epochs_;
    cfg.pruned = mask;
    if (!data_->count()) cfg.data_dir = run.data_dir;
    if (!sub_->get_option("--seed")->count()) cfg.seed = run.seed;
    if (!sub_->get_option("--limit")->count()) cfg.limit = run.limit;
    if (!sub_->get_option("--batch")->count()) cfg.batch = run.batch;
    if (!sub_->get_option("--val-split")->count() && run.val_split) cfg.val_split = *run.val_split;
    cfg.resize = run.resize;
    cfg.skip_bad_images = run.skip_bad_images;
    train::train(ctx, cfg);
    const train::EvalResult tuned = train::evaluate_run(ctx, train::load_run(out.string()), eo);
    std::printf("  after fine-tuning   loss %.4f  accuracy %.4f  (%u epochs)\n", tuned.loss, tuned.accuracy, epochs_);
    report["after_fine_tune"] = result(tuned);
  }

  static nlohmann::json layers(const nn::ModelSpec& spec, const io::SafetensorsFile& w,
                               const std::map<std::string, std::vector<uint32_t>>& mask) {
    nlohmann::json out = nlohmann::json::array();
    std::printf("  tensor                      size   pruned  sparsity\n");
    for (const train::TensorSparsity& s : train::measure_sparsity(spec, w)) {
      const auto m = mask.find(s.tensor);
      const size_t pruned = m == mask.end() ? 0 : m->second.size();
      std::printf("  %-24s %9llu %8zu  %8.4f\n", s.tensor.c_str(), (unsigned long long)s.size, pruned, s.fraction());
      out.push_back({{"tensor", s.tensor}, {"size", s.size}, {"pruned", pruned}, {"zeros", s.zeros},
                     {"sparsity", s.fraction()}});
    }
    return out;
  }

  TrainOptions opts_;
  std::string run_, scope_ = "layer", split_ = "test";
  double sparsity_ = 0.5;
  uint32_t epochs_ = 0;
  CLI::Option* data_ = nullptr;
};

}  // namespace

std::unique_ptr<Command> add_prune(CLI::App& app) { return std::make_unique<Prune>(app); }

}  // namespace fovea::cli

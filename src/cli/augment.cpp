// `fovea augment`: a PNG grid of training images as they are, then as the
// training steps 0, 1, ... of a run augment them.
#include <cstdio>

#include "cli/command.h"
#include "cli/train_options.h"
#include "io/png.h"
#include "report/samples.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

class Augment final : public Command {
 public:
  explicit Augment(CLI::App& app)
      : Command(app.add_subcommand(
            "augment", "Write a PNG grid: a row of training images, then rows of them augmented at steps 0, 1, ...")) {
    add_data_option(sub_, data_);
    add_resize_option(sub_, resize_);
    sub_->add_option("--augment", list_, kAugmentHelp)->required();
    sub_->add_option("--count", grid_.count, "Images per row (one batch)")->capture_default_str();
    sub_->add_option("--first", grid_.first, "Index of the first training image shown")->capture_default_str();
    sub_->add_option("--rows", grid_.rows, "Augmented rows (training steps 0..R-1)")->capture_default_str();
    sub_->add_option("--seed", grid_.seed, "The run seed the draws are keyed by")->capture_default_str();
    sub_->add_option("--out", out_, "Output PNG file")->required();
    add_device_options(sub_, device_);
  }

  int run(const std::vector<std::string>&) override {
    grid_.augment = data::parse_augment(list_);
    if (grid_.augment.adversarial.any())
      throw Error("--augment: fgsm and pgd attack a model's loss; fovea augment shows the other items only");
    auto ctx = open_context(device_);
    const data::Source ds = open_images(data_, resize_);
    const report::Image img = report::augment_grid(*ctx, ds.train, grid_);
    io::write_png(out_, img.width, img.height, img.channels, img.pixels);
    std::printf("wrote %s: originals and %u augmented rows (%s) x %u images, %ux%u pixels\n", out_.c_str(),
                grid_.rows, data::describe_augment(grid_.augment).c_str(), grid_.count, img.width, img.height);
    return finish_validation(*ctx);
  }

 private:
  report::AugmentGridConfig grid_;
  std::string data_ = kDefaultDataDir, list_, out_, resize_ = "crop";
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_augment(CLI::App& app) { return std::make_unique<Augment>(app); }

}  // namespace fovea::cli

// `fovea blur`: a PNG grid of sample images, a row per blur sigma, blurred
// on the GPU by the kernel training uses.
#include <cstdio>

#include "cli/command.h"
#include "io/png.h"
#include "report/samples.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

class Blur final : public Command {
 public:
  explicit Blur(CLI::App& app)
      : Command(app.add_subcommand("blur", "Write a PNG grid of sample images at each blur sigma (a row per sigma, "
                                           "labelled)")) {
    grid_.scale = 4;  // enlarged for a screen by default (the library's default is 1)
    add_data_option(sub_, data_);
    add_resize_option(sub_, resize_);
    sub_->add_option("--sigma", grid_.sigmas, "Blur sigmas in pixels, comma-separated (a row each)")
        ->delimiter(',')
        ->capture_default_str();
    sub_->add_option("--count", grid_.count, "Images per row")->capture_default_str();
    sub_->add_option("--first", grid_.first, "Index of the first image shown")->capture_default_str();
    sub_->add_option("--split", split_, "Which images: train or test")
        ->check(CLI::IsMember({"train", "test"}))
        ->capture_default_str();
    sub_->add_flag("--pyramid", grid_.pyramid, "Row k also decimated by 2, k times (shown enlarged)");
    sub_->add_option("--scale", grid_.scale, "Enlarge the grid this many times, nearest pixel (1..16)")
        ->capture_default_str();
    sub_->add_flag("--no-labels", no_labels_, "No margin with each row's sigma");
    sub_->add_option("--out", out_, "Output PNG file")->required();
    add_device_options(sub_, device_);
  }

  int run(const std::vector<std::string>&) override {
    grid_.labels = !no_labels_;
    auto ctx = open_context(device_);
    const data::Source ds = open_images(data_, resize_);
    if (split_ == "test" && !ds.test) throw Error("--split test: " + data_ + " has no test set");
    const data::ImageSet& set = split_ == "train" ? ds.train : *ds.test;
    const report::Image img = report::blur_grid(*ctx, set, grid_);
    io::write_png(out_, img.width, img.height, img.channels, img.pixels);
    std::string sigmas;
    for (double s : grid_.sigmas) sigmas += (sigmas.empty() ? "" : ", ") + CLI::detail::to_string(s);
    std::printf("wrote %s: %zu rows (sigma %s%s) x %u images, %ux%u pixels\n", out_.c_str(), grid_.sigmas.size(),
                sigmas.c_str(), grid_.pyramid ? ", pyramid" : "", grid_.count, img.width, img.height);
    return finish_validation(*ctx);
  }

 private:
  report::BlurGridConfig grid_;
  bool no_labels_ = false;
  std::string data_ = kDefaultDataDir, out_, split_ = "train", resize_ = "crop";
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_blur(CLI::App& app) { return std::make_unique<Blur>(app); }

}  // namespace fovea::cli

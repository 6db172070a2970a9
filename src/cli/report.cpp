// `fovea report DIR` (or --run DIR): DIR/report.html again from the run's
// files.
#include <cstdio>
#include <optional>

#include "cli/command.h"
#include "report/report.h"
#include "report/samples.h"
#include "train/evaluate.h"
#include "util/error.h"

namespace fovea::cli {

namespace {

class Report final : public Command {
 public:
  explicit Report(CLI::App& app)
      : Command(app.add_subcommand("report", "Write DIR/report.html again from a run directory's files "
                                             "(train writes it at the end of every run)")) {
    sub_->add_option("DIR", dir_, "Run directory (metrics.jsonl, summary.json, eval-test.json); or --run DIR");
    add_run_option(sub_, run_);
    add_device_options(sub_, device_);
  }

  // The sample grid needs the run's data and a device; without the data (or
  // any device, unless --device named one) the page still renders, with a
  // note instead of the grid.
  int run(const std::vector<std::string>&) override {
    if (dir_.empty() == run_.empty()) {
      std::fprintf(stderr, "fovea report: %s (see fovea report --help)\n",
                   dir_.empty() ? "a run directory is required: DIR or --run DIR"
                                : "give the run directory once: DIR or --run DIR");
      return 2;
    }
    if (dir_.empty()) dir_ = run_;
    report::ReportExtras extras;
    const std::string data = report::report_data_dir(dir_);
    std::optional<data::Source> ds;
    std::unique_ptr<gpu::Context> ctx;
    try {
      if (data.empty()) throw Error("summary.json names no data directory");
      ds = train::open_run_data(train::load_run(dir_), "");
      ctx = open_context(device_);
    } catch (const Error& e) {
      if (ds && !device_.device.empty()) throw;
      extras.grid_note = std::string("no sample grid: ") + e.what();
    }
    if (ctx) extras = report::report_samples(*ctx, ds->train, dir_);
    std::printf("wrote %s\n", report::write_report(dir_, extras).c_str());
    return ctx ? finish_validation(*ctx) : 0;
  }

 private:
  std::string dir_, run_;
  DeviceOptions device_;
};

}  // namespace

std::unique_ptr<Command> add_report(CLI::App& app) { return std::make_unique<Report>(app); }

}  // namespace fovea::cli

// DIR/report.html: one self-contained page about a run, built from the
// run's files (summary.json, metrics.jsonl, eval-test.json when present)
// and extras the caller computed (the sample grid needs a GPU; this module
// does not): settings, device, learning curves, learning rate and blur
// sigma per epoch, sharpness when measured, throughput, the confusion
// matrix and the sample grid. Plots are inline SVG, images data: URIs; the
// page loads nothing and runs no script. The same files give the same page.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fovea::report {

// Test-set counts: counts[t][p] images of true class t predicted as p.
struct ConfusionMatrix {
  std::vector<std::string> classes;  // K names (the indices when none are given)
  std::vector<std::vector<uint64_t>> counts;  // [K][K]
};

struct ReportExtras {
  std::optional<ConfusionMatrix> confusion;  // none: read DIR/eval-test.json if it exists
  std::string sample_grid_png;    // PNG bytes, a row per grid_sigmas entry ("" = no grid)
  std::vector<double> grid_sigmas;  // pixels
  std::string grid_note;          // shown instead of the grid when there is none
};

// The blur sigmas of the sample grid: 0 and the distinct blur_sigma values
// of DIR/metrics.jsonl, ascending, at most 6 (evenly chosen, both ends
// kept); 0, 1, 2, 4 when the run never blurred. Throws fovea::Error on a
// missing or malformed metrics.jsonl.
std::vector<double> report_grid_sigmas(const std::string& run_dir);

// The data directory the run trained on (summary.json's "data"); "" when
// summary.json or the field is missing. Throws fovea::Error on a malformed file.
std::string report_data_dir(const std::string& run_dir);

// The eval-<split>.json confusion matrix: {"confusion": [[...], ...],
// "classes": [...]} (classes optional). std::nullopt when the file does
// not exist; fovea::Error naming the file and field when it is malformed.
std::optional<ConfusionMatrix> read_confusion(const std::string& path);

// The pages' stylesheet, a <style> element (the run report, the search report).
extern const char* const kReportStyle;

// The page's HTML. summary.json may be missing (a run that did not finish);
// metrics.jsonl must hold at least one line. Throws fovea::Error naming the
// file (and line, field) on malformed input.
std::string render_report(const std::string& run_dir, const ReportExtras& extras);

// render_report written atomically to DIR/report.html; returns its path.
std::string write_report(const std::string& run_dir, const ReportExtras& extras);

}  // namespace fovea::report

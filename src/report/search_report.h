// DIR/report.html of `fovea search`: the best trial, one scatter chart per
// searched option (the metric of every trial against the option's value;
// a log x axis for a log_uniform range, names along the axis for strings)
// and a table of the trials. Self-contained (inline SVG, no script), like
// the run report (report/report.h).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "train/search_space.h"

namespace fovea::report {

std::string render_search_report(const std::string& title, const std::vector<train::SearchDim>& space,
                                  const std::vector<train::TrialRecord>& trials, const std::string& metric,
                                  std::optional<size_t> best);

// render_search_report written atomically to DIR/report.html; returns its path.
std::string write_search_report(const std::string& dir, const std::vector<train::SearchDim>& space,
                                const std::vector<train::TrialRecord>& trials, const std::string& metric,
                                std::optional<size_t> best);

}  // namespace fovea::report

#include "report/search_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "report/report.h"
#include "report/svg_chart.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::report {

namespace {

using train::SearchDim;
using train::TrialRecord;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string number(const std::optional<double>& v, const char* format = "%.4f") {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

// The metric against one option: numbers on a linear or log axis, anything
// else as categories in the space's order.
std::string option_chart(const SearchDim& d, const std::vector<TrialRecord>& trials, const std::string& metric,
                         std::optional<size_t> best) {
  Chart c;
  c.title = metric + " by " + d.key;
  c.x_label = d.key;
  c.y_label = metric + " (mean over the trial's runs)";
  c.points_only = true;
  c.integer_x = false;
  bool numeric = true;
  for (const TrialRecord& r : trials) numeric = numeric && r.settings.contains(d.key) && r.settings[d.key].is_number();
  std::vector<std::string> names;
  if (!numeric) {
    for (const auto& v : d.values) names.push_back(value_text(v));
    for (const TrialRecord& r : trials) {
      const std::string t = r.settings.contains(d.key) ? value_text(r.settings[d.key]) : "";
      if (std::find(names.begin(), names.end(), t) == names.end()) names.push_back(t);
    }
    c.x_names = names;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const TrialRecord& r : trials) {
    if (numeric) {
      const double x = r.settings[d.key].get<double>();
      c.x.push_back(x);
      lo = std::min(lo, x), hi = std::max(hi, x);
    } else {
      const std::string t = r.settings.contains(d.key) ? value_text(r.settings[d.key]) : "";
      c.x.push_back(double(std::find(names.begin(), names.end(), t) - names.begin()));
    }
  }
  c.log_x = numeric && (d.kind == SearchDim::Kind::log_uniform || (lo > 0 && hi / lo >= 100));
  ChartSeries done{"trials", {}, "#1f77b4"}, pruned{"abandoned after epoch 1", {}, "#ff7f0e"},
      top{"best", {}, "#d62728"};
  for (size_t i = 0; i < trials.size(); ++i) {
    const double y = trials[i].mean ? *trials[i].mean : kNaN;
    const bool is_best = best && *best == i;  // drawn on its own, above the others
    done.y.push_back(!trials[i].pruned && !is_best ? y : kNaN);
    pruned.y.push_back(trials[i].pruned ? y : kNaN);
    top.y.push_back(is_best ? y : kNaN);
  }
  c.series = {done};
  if (std::any_of(trials.begin(), trials.end(), [](const TrialRecord& r) { return r.pruned; }))
    c.series.push_back(pruned);
  if (best) c.series.push_back(top);
  return "<figure>" + svg_line_chart(c) + "</figure>\n";
}

std::string trials_table(const std::vector<SearchDim>& space, const std::vector<TrialRecord>& trials,
                         const std::string& metric, std::optional<size_t> best) {
  std::string s = "<h2>Trials</h2>\n<table>\n<tr><th>trial</th><th>" + xml_escape(metric) +
                  "</th><th>std</th><th>after epoch 1</th><th>seconds</th><th>stop</th>";
  for (const SearchDim& d : space) s += "<th>" + xml_escape(d.key) + "</th>";
  s += "</tr>\n";
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& r = trials[i];
    s += std::string(best && *best == i ? "<tr style=\"font-weight:600\">" : "<tr>") + "<td>" +
         std::to_string(r.trial) + "</td><td>" + number(r.mean) + "</td><td>" + number(r.std) + "</td><td>" +
         number(r.epoch1) + "</td><td>" + number(r.seconds, "%.1f") + "</td><td>" +
         xml_escape(r.pruned ? "abandoned" : r.stop_reason) + "</td>";
    for (const SearchDim& d : space)
      s += "<td>" + xml_escape(r.settings.contains(d.key) ? value_text(r.settings[d.key]) : "") + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

}  // namespace

std::string render_search_report(const std::string& title, const std::vector<SearchDim>& space,
                                  const std::vector<TrialRecord>& trials, const std::string& metric,
                                  std::optional<size_t> best) {
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Fovea search " +
                  xml_escape(title) + "</title>\n" + kReportStyle + "</head>\n<body>\n";
  s += "<h1>Fovea search report: " + xml_escape(title) + "</h1>\n";
  if (best) {
    const TrialRecord& b = trials[*best];
    s += "<p>Best of " + std::to_string(trials.size()) + " trials: trial " + std::to_string(b.trial) + ", " +
         xml_escape(metric) + " " + number(b.mean) + (b.std ? " ± " + number(b.std) : "") + ", settings <code>" +
         xml_escape(b.settings.dump()) + "</code> (best.json).</p>\n";
  } else {
    s += "<p class=\"note\">No trial finished (each diverged or was abandoned).</p>\n";
  }
  s += "<h2>" + xml_escape(metric) + " by option</h2>\n<div class=\"charts\">\n";
  for (const SearchDim& d : space) s += option_chart(d, trials, metric, best);
  s += "</div>\n" + trials_table(space, trials, metric, best);
  return s + "</body>\n</html>\n";
}

std::string write_search_report(const std::string& dir, const std::vector<SearchDim>& space,
                                const std::vector<TrialRecord>& trials, const std::string& metric,
                                std::optional<size_t> best) {
  namespace fs = std::filesystem;
  fs::path full = fs::absolute(dir).lexically_normal();
  if (full.filename().empty()) full = full.parent_path();
  const fs::path path = fs::path(dir) / "report.html";
  write_atomically(path, render_search_report(full.filename().string(), space, trials, metric, best));
  return path.string();
}

}  // namespace fovea::report

#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "report/image.h"
#include "report/sigma_curve.h"
#include "report/svg_chart.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::report {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The per-epoch numbers of metrics.jsonl the report reads; any other field
// is ignored. "sharpness" (the top Hessian eigenvalue) and "two_over_lr"
// (2 / lr, the edge of stability) come from the probe when it ran.
const char* const kMetricFields[] = {"epoch",      "train_loss", "train_acc",         "val_loss",
                                     "val_acc",    "lr",         "blur_sigma",        "seconds",
                                     "images_per_second", "penalty", "sharpness", "two_over_lr",
                                     "val_balanced_acc"};

// metrics.jsonl as columns: field -> one value per line (NaN when the line
// lacks the field or holds null).
struct Metrics {
  size_t lines = 0;
  std::map<std::string, std::vector<double>> columns;
  const std::vector<double>& operator[](const std::string& field) const { return columns.at(field); }
  bool any(const std::string& field) const {
    const auto& c = columns.at(field);
    return std::any_of(c.begin(), c.end(), [](double v) { return std::isfinite(v); });
  }
};

std::optional<json> read_json_file(const fs::path& path, bool required) {
  std::ifstream f(path);
  if (!f) {
    if (!required && !fs::exists(path)) return std::nullopt;
    throw Error("cannot read " + path.string());
  }
  try {
    return json::parse(f);
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// A number field of `obj`: NaN when absent or null; an error naming `where`
// and the field when it holds anything else.
double number_field(const json& obj, const std::string& key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return kNaN;
  if (!it->is_number()) throw Error(where + ": '" + key + "' is not a number (" + it->dump() + ")");
  return it->get<double>();
}

std::string text_field(const json& obj, const std::string& key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string()) throw Error(where + ": '" + key + "' is not a string (" + it->dump() + ")");
  return it->get<std::string>();
}

Metrics read_metrics(const fs::path& dir) {
  const fs::path path = dir / "metrics.jsonl";
  std::ifstream f(path);
  if (!f) throw Error("cannot read " + path.string() + " (is " + dir.string() + " a run directory?)");
  Metrics m;
  for (const char* field : kMetricFields) m.columns[field];
  std::string line;
  for (size_t n = 1; std::getline(f, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path.string() + " line " + std::to_string(n);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw Error(where + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw Error(where + ": expected a JSON object");
    for (const char* field : kMetricFields) m.columns[field].push_back(number_field(j, field, where));
    double& epoch = m.columns["epoch"].back();
    if (std::isnan(epoch)) epoch = double(m.lines + 1);
    ++m.lines;
  }
  if (m.lines == 0) throw Error(path.string() + ": no epochs recorded");
  return m;
}

json read_summary(const fs::path& dir) {
  const fs::path path = dir / "summary.json";
  std::optional<json> j = read_json_file(path, false);
  if (!j) return json::object();
  if (!j->is_object()) throw Error(path.string() + ": expected a JSON object");
  return *j;
}

// A JSON value as table text: strings bare, numbers as JSON writes them.
std::string value_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string number_text(double v, const char* format = "%.4g") {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string row(const std::string& key, const std::string& value_html) {
  return "<tr><th>" + xml_escape(key) + "</th><td>" + value_html + "</td></tr>\n";
}

// Every field of summary.json, nested objects as "outer.inner".
void flatten(const json& j, const std::string& prefix, std::string& out) {
  for (const auto& [key, value] : j.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object())
      flatten(value, name, out);
    else
      out += row(name, xml_escape(value_text(value)));
  }
}

std::string optimizer_text(const json& summary) {
  auto it = summary.find("optimizer");
  if (it == summary.end() || !it->is_object()) return summary.contains("optimizer") ? value_text(*it) : "-";
  std::string s = it->contains("name") ? value_text((*it)["name"]) : "?", params;
  for (const auto& [key, value] : it->items())
    if (key != "name") params += (params.empty() ? "" : ", ") + key + " " + value_text(value);
  return params.empty() ? s : s + " (" + params + ")";
}

std::string nested_text(const json& summary, const char* outer, const char* inner) {
  auto it = summary.find(outer);
  if (it == summary.end() || !it->is_object() || !it->contains(inner)) return "-";
  return value_text((*it)[inner]);
}

std::string results_section(const json& summary, const Metrics& m, const std::string& where) {
  std::string s = "<h2>Results</h2>\n";
  if (summary.empty())
    s += "<p class=\"note\">summary.json is missing: the run did not finish (no test results).</p>\n";
  s += "<table class=\"kv\">\n";
  if (!summary.empty()) {
    s += row("test accuracy", number_text(number_field(summary, "test_acc", where)));
    s += row("test loss", number_text(number_field(summary, "test_loss", where)));
    s += row("test images", number_text(number_field(summary, "test_images", where), "%.0f"));
    s += row("stop reason", xml_escape(text_field(summary, "stop_reason", where)));
    s += row("weights kept", "epoch " + number_text(number_field(summary, "best_epoch", where), "%.0f"));
  }
  double seconds = 0;
  for (double v : m["seconds"]) seconds += std::isfinite(v) ? v : 0;
  s += row("epochs run", std::to_string(m.lines));
  s += row("last validation accuracy", number_text(m["val_acc"].back()));
  s += row("training time", number_text(seconds, "%.1f") + " s");
  s += "</table>\n";
  auto corrupted = summary.find("test_corrupted");
  if (corrupted != summary.end() && corrupted->is_array() && !corrupted->empty()) {
    s += "<h3>Test set under corruption</h3>\n<table class=\"grid\"><tr><th>corruption</th><th>value</th>"
         "<th>loss</th><th>accuracy</th></tr>\n";
    for (const json& c : *corrupted) {
      if (!c.is_object()) throw Error(where + ": 'test_corrupted' holds a non-object " + c.dump());
      s += "<tr><td>" + xml_escape(text_field(c, "corruption", where)) + "</td><td>" +
           number_text(number_field(c, "value", where)) + "</td><td>" + number_text(number_field(c, "loss", where)) +
           "</td><td>" + number_text(number_field(c, "acc", where)) + "</td></tr>\n";
    }
    s += "</table>\n";
  }
  return s;
}

std::string settings_section(const json& summary, const std::string& where) {
  std::string s = "<h2>Settings and device</h2>\n<table class=\"kv\">\n";
  s += row("device", xml_escape(text_field(summary, "device", where)) + " (" +
                         xml_escape(text_field(summary, "device_type", where)) + ")");
  s += row("command", "<code>" + xml_escape(text_field(summary, "command", where)) + "</code>");
  s += row("model", xml_escape(text_field(summary, "model", where)));
  s += row("parameters", number_text(number_field(summary, "parameters", where), "%.0f"));
  s += row("data", xml_escape(text_field(summary, "data", where)));
  s += row("images (train / validation)", number_text(number_field(summary, "train_images", where), "%.0f") +
                                              " / " + number_text(number_field(summary, "val_images", where), "%.0f"));
  s += row("epochs, batch", number_text(number_field(summary, "epochs", where), "%.0f") + ", " +
                                number_text(number_field(summary, "batch", where), "%.0f"));
  s += row("optimizer", xml_escape(optimizer_text(summary)));
  s += row("learning rate", xml_escape(nested_text(summary, "lr_schedule", "describe")));
  s += row("sharpening", xml_escape(nested_text(summary, "sharpen", "describe")));
  s += row("seed", xml_escape(summary.contains("seed") ? value_text(summary["seed"]) : "-"));
  s += "</table>\n<details><summary>Every field of summary.json</summary>\n<table class=\"kv\">\n";
  json rest = summary;
  rest.erase("test_corrupted");
  flatten(rest, "", s);
  s += "</table>\n</details>\n";
  return s;
}

const char* const kTrainColor = "#1f77b4";
const char* const kValColor = "#d62728";

// How a chart's y axis is drawn.
enum class YAxis { fit, log_if_wide, from_zero };

std::string chart(const Metrics& m, const std::string& title, const std::string& y_label,
                  std::vector<ChartSeries> series, YAxis y) {
  Chart c;
  c.title = title;
  c.x_label = "epoch";
  c.y_label = y_label;
  c.x = m["epoch"];
  c.series = std::move(series);
  c.allow_log = y == YAxis::log_if_wide;
  c.y_from_zero = y == YAxis::from_zero;
  return "<figure>" + svg_line_chart(c) + "</figure>\n";
}

// What summary.json records of the sharpening schedule; none for runs
// written before it recorded the schedule's settings.
std::optional<ScheduleRecord> schedule_record(const json& summary, const std::string& where) {
  auto sharpen = summary.find("sharpen");
  if (sharpen == summary.end() || !sharpen->is_object() || !sharpen->contains("spec")) return std::nullopt;
  ScheduleRecord r;
  r.spec = text_field(*sharpen, "spec", where + " 'sharpen'");
  const double fields[] = {number_field(*sharpen, "sigma0", where), number_field(*sharpen, "sharpen_epochs", where),
                           number_field(*sharpen, "levels", where), number_field(summary, "epochs", where),
                           number_field(summary, "train_images", where), number_field(summary, "batch", where)};
  for (double v : fields)
    if (!std::isfinite(v)) return std::nullopt;
  const char* names[] = {"sharpen.sigma0", "sharpen.sharpen_epochs", "sharpen.levels", "epochs", "train_images",
                         "batch"};
  const double lo[] = {0, -1, 0, 0, 0, 1}, hi[] = {1e3, 1e7, 1e7, 1e7, 1e12, 1e12};
  for (size_t i = 0; i < 6; ++i)
    if (!(fields[i] >= lo[i] && fields[i] <= hi[i]) || (i > 0 && fields[i] != std::floor(fields[i])))
      throw Error(where + ": '" + names[i] + "' is " + number_text(fields[i], "%g") + ", not " +
                  (i > 0 ? "a whole number" : "a number") + " in [" + number_text(lo[i], "%g") + ", " +
                  number_text(hi[i], "%g") + "]");
  r.sigma0 = fields[0];
  r.sharpen_epochs = int64_t(fields[1]);
  r.levels = uint32_t(fields[2]);
  r.epochs = uint32_t(fields[3]);
  r.train_images = uint64_t(fields[4]);
  r.batch = uint64_t(fields[5]);
  return r;
}

// Blur sigma over the run: every step's, from the schedule summary.json
// records (steps where it holds levels, a ramp where it falls every step);
// else metrics.jsonl's value at each epoch's start, held for the epoch.
std::string sigma_chart(const Metrics& m, const json& summary, const std::string& where) {
  SigmaCurve curve;
  try {
    curve = sigma_curve(schedule_record(summary, where), nested_text(summary, "sharpen", "schedule"), m["blur_sigma"]);
  } catch (const Error& e) {
    throw Error(where + ": 'sharpen' does not describe a schedule (" + e.what() + ")");
  }
  Chart c;
  c.title = curve.per_step ? "Blur \u03c3 (every training step)" : "Blur \u03c3 (from the start of each epoch)";
  c.x_label = "epochs trained";
  c.y_label = "pixels";
  c.x = curve.x;
  c.x_end = curve.x_end;
  c.series = {{"blur \u03c3", curve.y, "#9467bd", curve.steps}};
  c.y_from_zero = true;
  return "<figure>" + svg_line_chart(c) + "</figure>\n";
}

std::string curves_section(const Metrics& m, const json& summary, const std::string& where) {
  std::string s = "<h2>Learning curves</h2>\n<div class=\"charts\">\n";
  // The loss summary.json names (older runs: cross-entropy, the only one then).
  std::string loss = "cross-entropy";
  if (summary.is_object() && summary.contains("loss") && summary["loss"].is_object()) {
    const json& l = summary["loss"];
    const std::string type = l.value("type", "cross_entropy");
    loss = type == "mse" ? "MSE" : type == "bce_with_logits" ? "BCE with logits" : loss;
    if (type == "cross_entropy" && l.contains("label_smoothing") && l["label_smoothing"].is_number() &&
        l["label_smoothing"].get<double>() > 0)
      loss += " (label smoothing " + value_text(l["label_smoothing"]) + ")";
  }
  s += chart(m, "Loss", loss,
             {{"train", m["train_loss"], kTrainColor}, {"validation", m["val_loss"], kValColor}}, YAxis::log_if_wide);
  std::vector<ChartSeries> accuracy = {{"train", m["train_acc"], kTrainColor}, {"validation", m["val_acc"], kValColor}};
  // The mean per-class recall (train/class_balance.h), from runs that log it.
  if (m.any("val_balanced_acc")) accuracy.push_back({"validation, balanced", m["val_balanced_acc"], "#9467bd"});
  s += chart(m, "Accuracy", "fraction correct", accuracy, YAxis::fit);
  s += "</div>\n<h2>Schedules</h2>\n<div class=\"charts\">\n";
  s += chart(m, "Learning rate (first step of each epoch)", "lr", {{"lr", m["lr"], "#2ca02c"}}, YAxis::log_if_wide);
  s += sigma_chart(m, summary, where);
  s += "</div>\n<h2>Sharpness</h2>\n";
  if (m.any("sharpness"))
    s += "<div class=\"charts\">\n" +
         chart(m, "Sharpness (top Hessian eigenvalue) and 2 / lr", "eigenvalue",
               {{"sharpness", m["sharpness"], "#8c564b"}, {"2 / lr", m["two_over_lr"], "#7f7f7f"}},
               YAxis::log_if_wide) +
         "</div>\n";
  else
    s += "<p class=\"note\">Sharpness: not measured in this run.</p>\n";
  s += "<h2>Throughput</h2>\n<div class=\"charts\">\n";
  s += chart(m, "Training throughput", "images / s", {{"images/s", m["images_per_second"], "#ff7f0e"}},
             YAxis::from_zero);
  s += "</div>\n";
  return s;
}

std::string epochs_table(const Metrics& m) {
  const bool penalty = m.any("penalty") &&
                       std::any_of(m["penalty"].begin(), m["penalty"].end(), [](double v) { return v != 0; });
  const bool sharpness = m.any("sharpness");
  std::string s = "<h2>Epochs</h2>\n<table class=\"grid\"><tr><th>epoch</th><th>train loss</th><th>train acc</th>"
                  "<th>val loss</th><th>val acc</th><th>lr</th><th>blur \u03c3</th><th>seconds</th><th>images/s</th>";
  s += std::string(penalty ? "<th>penalty</th>" : "") + (sharpness ? "<th>sharpness</th><th>2 / lr</th>" : "") +
       "</tr>\n";
  for (size_t i = 0; i < m.lines; ++i) {
    s += "<tr><td>" + number_text(m["epoch"][i], "%.0f") + "</td>";
    for (const char* f : {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "blur_sigma"})
      s += "<td>" + number_text(m[f][i]) + "</td>";
    s += "<td>" + number_text(m["seconds"][i], "%.1f") + "</td><td>" + number_text(m["images_per_second"][i], "%.0f") +
         "</td>";
    if (penalty) s += "<td>" + number_text(m["penalty"][i]) + "</td>";
    if (sharpness) s += "<td>" + number_text(m["sharpness"][i]) + "</td><td>" + number_text(m["two_over_lr"][i]) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

// Rows are true classes, columns predictions; a cell's shade is its share
// of the row (blue on the diagonal, red off it).
std::string confusion_section(const std::optional<ConfusionMatrix>& cm) {
  std::string s = "<h2>Confusion matrix (test set)</h2>\n";
  if (!cm) {
    return s + "<p class=\"note\">confusion matrix: run <code>fovea eval --run DIR</code> (it is added to the "
               "report when eval-test.json exists)</p>\n";
  }
  const size_t K = cm->counts.size();
  if (cm->classes.size() != K || std::any_of(cm->counts.begin(), cm->counts.end(),
                                             [&](const std::vector<uint64_t>& r) { return r.size() != K; }))
    throw Error("confusion matrix: expected " + std::to_string(cm->classes.size()) + " x " +
                std::to_string(cm->classes.size()) + " counts for its classes");
  s += "<table class=\"confusion\"><tr><th>true \\ predicted</th>";
  for (const std::string& c : cm->classes) s += "<th>" + xml_escape(c) + "</th>";
  s += "<th>recall</th></tr>\n";
  for (size_t t = 0; t < K; ++t) {
    uint64_t total = 0;
    for (uint64_t v : cm->counts[t]) total += v;
    s += "<tr><th>" + xml_escape(cm->classes[t]) + "</th>";
    for (size_t p = 0; p < K; ++p) {
      const double share = total ? double(cm->counts[t][p]) / double(total) : 0;
      const double alpha = t == p ? share : std::min(1.0, 3 * share);
      char style[96];
      std::snprintf(style, sizeof style, "background:rgba(%s,%.3f)%s", t == p ? "31,119,180" : "214,39,40", alpha,
                    alpha > 0.55 ? ";color:#fff" : "");
      s += std::string("<td style=\"") + style + "\">" + std::to_string(cm->counts[t][p]) + "</td>";
    }
    s += "<td>" + (total ? number_text(double(cm->counts[t][t]) / double(total), "%.3f") : "-") + "</td></tr>\n";
  }
  return s + "</table>\n";
}

// The PNG's size from its IHDR chunk (0 x 0 when the bytes are no PNG).
std::pair<uint32_t, uint32_t> png_size(const std::string& png) {
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | uint8_t(png[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

std::string samples_section(const ReportExtras& extras) {
  std::string s = "<h2>Sample images at each blur level</h2>\n";
  const auto [w, h] = png_size(extras.sample_grid_png);
  if (w == 0) {
    const std::string note = extras.grid_note.empty() ? "no sample grid was made for this report" : extras.grid_note;
    return s + "<p class=\"note\">" + xml_escape(note) + "</p>\n";
  }
  std::string sigmas;
  for (double v : extras.grid_sigmas) sigmas += (sigmas.empty() ? "" : ", ") + short_number(v);
  // Shown three times enlarged, pixels kept sharp.
  s += "<figure><img class=\"samples\" alt=\"sample images, a row per blur sigma\" width=\"" + std::to_string(3 * w) +
       "\" height=\"" + std::to_string(3 * h) + "\" src=\"data:image/png;base64," +
       base64_encode(extras.sample_grid_png) + "\">\n<figcaption>Rows, top to bottom: \u03c3 = " + xml_escape(sigmas) +
       " px (the first training images, blurred on the GPU by the training kernel)" +
       (extras.grid_note.empty() ? "" : "; " + xml_escape(extras.grid_note)) + "</figcaption></figure>\n";
  return s;
}

}  // namespace

const char* const kReportStyle = R"(<style>
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1260px; color: #222; padding: 0 12px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; } h3 { font-size: 15px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
table.kv th { text-align: left; background: #f6f6f6; } table.kv td { text-align: left; }
.note { color: #555; font-style: italic; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } figure { margin: 0; }
svg.chart { background: #fff; border: 1px solid #eee; font-size: 11px; }
svg .title { font-size: 14px; font-weight: 600; } svg .legend { font-size: 12px; } svg .label { font-size: 12px; }
svg .grid { stroke: #e6e6e6; } svg .frame { fill: none; stroke: #888; }
svg .series { fill: none; stroke-width: 2; }
img.samples { image-rendering: pixelated; border: 1px solid #ddd; }
code { font-size: 12px; word-break: break-all; }
</style>
)";

std::vector<double> report_grid_sigmas(const std::string& run_dir) {
  const Metrics m = read_metrics(run_dir);
  std::vector<double> sigmas = {0};
  for (double v : m["blur_sigma"])
    if (std::isfinite(v) && v > 0) sigmas.push_back(v);
  std::sort(sigmas.begin(), sigmas.end());
  sigmas.erase(std::unique(sigmas.begin(), sigmas.end(), [](double a, double b) { return std::abs(a - b) < 1e-6; }),
               sigmas.end());
  if (sigmas.size() == 1) return {0, 1, 2, 4};
  constexpr size_t kRows = 6;
  if (sigmas.size() <= kRows) return sigmas;
  std::vector<double> picked;
  for (size_t i = 0; i < kRows; ++i) picked.push_back(sigmas[i * (sigmas.size() - 1) / (kRows - 1)]);
  return picked;
}

std::string report_data_dir(const std::string& run_dir) {
  const json summary = read_summary(run_dir);
  return text_field(summary, "data", (fs::path(run_dir) / "summary.json").string());
}

// The object `j` (from `path`) holds the matrix under `key` (rows: true
// class) and, optionally, "classes": names or the class count.
ConfusionMatrix parse_confusion(const json* j, const std::string& path, const std::string& key) {
  auto bad = [&](const std::string& what) { return Error(path + ": " + what); };
  if (!j->is_object() || !j->contains(key)) throw bad("expected an object with a '" + key + "' matrix");
  const json& rows = (*j)[key];
  if (!rows.is_array() || rows.empty()) throw bad("'confusion' is not a non-empty array of rows");
  ConfusionMatrix cm;
  const size_t K = rows.size();
  for (size_t t = 0; t < K; ++t) {
    if (!rows[t].is_array() || rows[t].size() != K)
      throw bad("'confusion' row " + std::to_string(t) + " does not hold " + std::to_string(K) + " counts");
    std::vector<uint64_t>& r = cm.counts.emplace_back();
    for (const json& v : rows[t]) {
      if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        throw bad("'confusion' row " + std::to_string(t) + " holds " + v.dump() + ", not a count");
      r.push_back(v.get<uint64_t>());
    }
  }
  // `fovea eval` writes "classes" as the class count (the IDX files name no
  // classes); an array gives the names.
  auto names = j->find("classes");
  if (names != j->end() && names->is_number_unsigned()) {
    if (names->get<uint64_t>() != K) throw bad("'classes' is " + names->dump() + " but the matrix has " + std::to_string(K) + " rows");
    for (size_t k = 0; k < K; ++k) cm.classes.push_back(std::to_string(k));
  } else if (names != j->end() && !names->is_null()) {
    if (!names->is_array() || names->size() != K)
      throw bad("'classes' is not an array of " + std::to_string(K) + " names");
    for (const json& n : *names) cm.classes.push_back(value_text(n));
  } else {
    for (size_t k = 0; k < K; ++k) cm.classes.push_back(std::to_string(k));
  }
  return cm;
}

std::optional<ConfusionMatrix> read_confusion(const std::string& path) {
  std::optional<json> j = read_json_file(path, false);
  if (!j) return std::nullopt;
  return parse_confusion(&*j, path, "confusion");
}

std::string render_report(const std::string& run_dir, const ReportExtras& extras) {
  const fs::path dir(run_dir);
  const Metrics m = read_metrics(dir);
  const json summary = read_summary(dir);
  const std::string where = (dir / "summary.json").string();
  // The caller's matrix, else `fovea eval`'s, else the one the run computed
  // on the test set (summary.json "test_confusion").
  std::optional<ConfusionMatrix> cm =
      extras.confusion ? extras.confusion : read_confusion((dir / "eval-test.json").string());
  if (!cm && summary.is_object() && summary.contains("test_confusion") && !summary["test_confusion"].is_null())
    cm = parse_confusion(&summary, where, "test_confusion");
  fs::path full = fs::absolute(dir).lexically_normal();
  if (full.filename().empty()) full = full.parent_path();  // "DIR/"
  const std::string name = full.filename().string();
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Fovea run " +
                  xml_escape(name) + "</title>\n" + kReportStyle + "</head>\n<body>\n";
  s += "<h1>Fovea run report: " + xml_escape(name) + "</h1>\n";
  s += results_section(summary, m, where);
  if (!summary.empty()) s += settings_section(summary, where);
  s += curves_section(m, summary, where);
  s += confusion_section(cm);
  s += samples_section(extras);
  s += epochs_table(m);
  s += "</body>\n</html>\n";
  return s;
}

std::string write_report(const std::string& run_dir, const ReportExtras& extras) {
  const fs::path path = fs::path(run_dir) / "report.html";
  write_atomically(path, render_report(run_dir, extras));
  return path.string();
}

}  // namespace fovea::report

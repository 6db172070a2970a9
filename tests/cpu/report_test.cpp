// The run report: the SVG chart's ticks, labels and escaping, base64 against
// RFC 4648's vectors, in-memory PNGs decoded back, and pages built from
// fixture run directories (optional fields missing, the confusion matrix,
// sharpness, the sample grid), with malformed files rejected by name.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "io/png.h"
#include "report/report.h"
#include "report/sigma_curve.h"
#include "report/svg_chart.h"
#include "temp_dir.h"
#include "util/base64.h"
#include "util/error.h"

namespace fs = std::filesystem;
using Catch::Contains;
using fovea::test::TempDir;
using namespace fovea::report;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Equal to within rounding (ticks are computed as first + i x step).
bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > 1e-12 * std::max(1.0, std::abs(b[i]))) return false;
  return true;
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// A finished two-epoch run; the second line lacks the optional fields and
// its validation numbers are null (as with --val-split 0).
const char* const kMetrics =
    R"({"epoch": 1, "train_loss": 0.9137, "train_acc": 0.6812, "val_loss": 0.7021, "val_acc": 0.7433, "lr": 0.05, "blur_sigma": 2, "seconds": 3.5, "images_per_second": 1234.5, "penalty": 0, "train_images": 367, "val_images": 33}
{"epoch": 2, "train_loss": 0.6551, "train_acc": 0.7731, "val_loss": null, "val_acc": null, "lr": 0.005, "blur_sigma": 0, "seconds": 2.25, "images_per_second": 1500}
)";

const char* const kSummary = R"({"test_loss": 0.6789, "test_acc": 0.7654, "test_images": 10000,
 "device": "llvmpipe <LLVM 15>", "device_type": "cpu", "command": "fovea train --model m.json --note '<b>&'",
 "seed": 3, "model": "m.json", "data": "/nowhere", "epochs": 2, "batch": 64,
 "optimizer": {"name": "sgd", "momentum": 0.9},
 "sharpen": {"describe": "step: sigma 2 then 0"},
 "test_corrupted": [{"corruption": "blur", "value": 1.5, "loss": 1.1, "acc": 0.6512}]})";

struct Run {
  TempDir dir{"fovea_report_test"};
  explicit Run(const std::string& metrics = kMetrics, const char* summary = kSummary) {
    write(dir.path / "metrics.jsonl", metrics);
    if (summary) write(dir.path / "summary.json", summary);
  }
  std::string path() const { return dir.path.string(); }
  std::string page(const ReportExtras& extras = {}) const { return render_report(path(), extras); }
};

std::string render_error(const Run& run) {
  try {
    run.page();
  } catch (const fovea::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("report: nice_ticks: round steps that cover the range", "[report]") {
  CHECK(same(nice_ticks(0, 1, 6), {0, 0.2, 0.4, 0.6, 0.8, 1}));
  CHECK(same(nice_ticks(1, 2, 8, true), {1, 2}));
  CHECK(same(nice_ticks(1, 1, 8, true), {0, 1, 2}));
  CHECK(same(nice_ticks(1, 30, 8, true), {0, 5, 10, 15, 20, 25, 30}));
  CHECK(same(nice_ticks(812, 1517, 6), {800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600}));
  CHECK(same(nice_ticks(0.6812, 0.7731, 6), {0.68, 0.7, 0.72, 0.74, 0.76, 0.78}));
  // Random ranges: the first tick <= lo, the last >= hi, equal steps of
  // 1, 2 or 5 x 10^k, and between 3 and 12 ticks.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> exponent(-6, 6), unit(-1, 1);
  for (int i = 0; i < 500; ++i) {
    const double scale = std::pow(10.0, exponent(rng));
    double lo = unit(rng) * scale, hi = unit(rng) * scale;
    if (lo > hi) std::swap(lo, hi);
    const std::vector<double> t = nice_ticks(lo, hi, 6);
    INFO("lo " << lo << " hi " << hi);
    REQUIRE(t.size() >= 3);
    REQUIRE(t.size() <= 12);
    CHECK(t.front() <= lo);
    CHECK(t.back() >= hi);
    const double step = t[1] - t[0];
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    CHECK((std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6));
    for (size_t k = 1; k < t.size(); ++k) CHECK(std::abs(t[k] - t[k - 1] - step) <= step * 1e-6);
  }
}

TEST_CASE("report: log_ticks: decades, with 2 and 5 on short axes", "[report]") {
  CHECK(same(log_ticks(0.003, 2.5), {0.001, 0.01, 0.1, 1, 10}));
  CHECK(same(log_ticks(0.3, 0.9), {0.1, 0.2, 0.5, 1}));
  CHECK(same(log_ticks(1, 1), {1, 2, 5, 10}));
}

TEST_CASE("report: tick_label: the decimals the step needs, never -0", "[report]") {
  CHECK(tick_label(0.4, 0.2) == "0.4");
  CHECK(tick_label(-1e-17, 0.2) == "0.0");
  CHECK(tick_label(1500, 500) == "1500");
  CHECK(tick_label(0.05, 0.01) == "0.05");
  CHECK(tick_label(3, 1) == "3");
  CHECK(tick_label(0.0001, 0) == "0.0001");
}

TEST_CASE("report: xml_escape: the five special characters", "[report]") {
  CHECK(xml_escape("<a href=\"x\">&'</a> plain") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; plain");
  CHECK(xml_escape("") == "");
}

TEST_CASE("report: svg_line_chart: escaped text, broken lines, log scale", "[report]") {
  const double nan = std::nan("");
  Chart c;
  c.title = "Loss <&>";
  c.x_label = "epoch";
  c.y_label = "y";
  c.x = {1, 2, 3, 4};
  c.series = {{"train \"a\"", {1, nan, 3, 4}, "#123456"}, {"val", {2, 2.5, 3, 3.5}, "#654321"}};
  std::string svg = svg_line_chart(c);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(count(svg, "</svg>") == 1);
  CHECK_THAT(svg, Contains("<title>Loss &lt;&amp;&gt;</title>"));
  CHECK_THAT(svg, Contains(">train &quot;a&quot;</text>"));
  CHECK(count(svg, "Loss <") == 0);
  // The NaN splits the first series in two polylines; one dot per value.
  CHECK(count(svg, "<polyline") == 3);
  CHECK(count(svg, "<circle") == 7);
  CHECK(count(svg, "(log scale)") == 0);
  // Tick labels of the linear y axis.
  CHECK_THAT(svg, Contains(">1.5</text>"));
  CHECK_THAT(svg, Contains(">4.0</text>"));

  c.allow_log = true;
  c.series = {{"lr", {0.1, 0.01, 0.001, 0.0001}, "#000"}};
  svg = svg_line_chart(c);
  CHECK_THAT(svg, Contains("(log scale)"));
  CHECK_THAT(svg, Contains(">0.0001</text>"));
  CHECK_THAT(svg, Contains(">0.1</text>"));
  // Equal values stay linear; no values at all says so.
  c.series = {{"lr", {0.1, 0.1, 0.1, 0.1}, "#000"}};
  CHECK(count(svg_line_chart(c), "(log scale)") == 0);
  c.series = {{"lr", {nan, nan, nan, nan}, "#000"}};
  CHECK_THAT(svg_line_chart(c), Contains("no values"));
}

TEST_CASE("report: base64_encode: RFC 4648 test vectors and binary bytes", "[report]") {
  CHECK(fovea::base64_encode("") == "");
  CHECK(fovea::base64_encode("f") == "Zg==");
  CHECK(fovea::base64_encode("fo") == "Zm8=");
  CHECK(fovea::base64_encode("foo") == "Zm9v");
  CHECK(fovea::base64_encode("foob") == "Zm9vYg==");
  CHECK(fovea::base64_encode("fooba") == "Zm9vYmE=");
  CHECK(fovea::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(fovea::base64_encode(std::string("\x00\xff\xfe\x7f", 4)) == "AP/+fw==");
}

TEST_CASE("report: encode_png: decodes back to the same pixels", "[report]") {
  std::mt19937 rng(11);
  for (uint32_t channels : {1u, 3u}) {
    const uint32_t w = 37, h = 13;
    std::vector<uint8_t> pixels(size_t(w) * h * channels);
    for (auto& p : pixels) p = uint8_t(rng());
    const std::string png = fovea::io::encode_png(w, h, channels, pixels);
    int dw = 0, dh = 0, dc = 0;
    unsigned char* back = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), int(png.size()),
                                                &dw, &dh, &dc, 0);
    REQUIRE(back != nullptr);
    CHECK(dw == int(w));
    CHECK(dh == int(h));
    CHECK(dc == int(channels));
    CHECK(std::vector<uint8_t>(back, back + pixels.size()) == pixels);
    stbi_image_free(back);
  }
  CHECK_THROWS_WITH(fovea::io::encode_png(4, 4, 2, std::vector<uint8_t>(32)), Contains("bad image geometry"));
}

TEST_CASE("report: render_report: settings, curves and notes from a fixture run", "[report]") {
  Run run;
  const std::string page = run.page();
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  for (const char* heading : {"<h2>Results</h2>", "<h2>Settings and device</h2>", "<h2>Learning curves</h2>",
                              "<h2>Schedules</h2>", "<h2>Sharpness</h2>", "<h2>Throughput</h2>",
                              "<h2>Confusion matrix (test set)</h2>", "<h2>Sample images at each blur level</h2>",
                              "<h2>Epochs</h2>"})
    CHECK_THAT(page, Contains(heading));
  // Loss, accuracy, lr, blur sigma, throughput; no sharpness chart.
  CHECK(count(page, "<svg") == 5);
  CHECK_THAT(page, Contains("Sharpness: not measured"));
  CHECK_THAT(page, Contains("run <code>fovea eval --run DIR</code>"));
  CHECK_THAT(page, Contains("no sample grid was made"));
  // Fixture values land in the tables, escaped.
  CHECK_THAT(page, Contains("<td>0.7654</td>"));
  CHECK_THAT(page, Contains("llvmpipe &lt;LLVM 15&gt; (cpu)"));
  CHECK_THAT(page, Contains("--note &#39;&lt;b&gt;&amp;&#39;"));
  CHECK(count(page, "<b>") == 0);
  CHECK_THAT(page, Contains("sgd (momentum 0.9)"));
  CHECK_THAT(page, Contains("<td>blur</td><td>1.5</td><td>1.1</td><td>0.6512</td>"));
  CHECK_THAT(page, Contains("<td>0.6812</td>"));
  CHECK_THAT(page, Contains("<td>1500</td>"));
  CHECK_THAT(page, Contains("<td>5.8 s</td>"));  // training time: 3.5 + 2.25 s
  // The same files give the same page.
  CHECK(run.page() == page);
  // No script, nothing fetched.
  CHECK(count(page, "<script") == 0);
  CHECK(count(page, "http:") == count(page, "xmlns=\"http://www.w3.org/2000/svg\""));
}

TEST_CASE("report: render_report: sharpness, an unfinished run, a sample grid", "[report]") {
  Run sharp(R"({"epoch": 1, "train_loss": 1, "sharpness": 12.5, "two_over_lr": 40}
{"epoch": 2, "train_loss": 0.5, "sharpness": 30.25, "two_over_lr": 39.5}
)",
            nullptr);
  const std::string page = sharp.page();
  CHECK(count(page, "<svg") == 6);
  CHECK(count(page, "not measured") == 0);
  CHECK_THAT(page, Contains("<td>30.25</td><td>39.5</td>"));
  CHECK_THAT(page, Contains("2 / lr"));  // the edge of stability next to the sharpness
  CHECK_THAT(page, Contains("summary.json is missing"));
  CHECK(count(page, "<h2>Settings and device</h2>") == 0);

  ReportExtras extras;
  std::vector<uint8_t> pixels(size_t(20) * 9, 0);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 7);
  extras.sample_grid_png = fovea::io::encode_png(20, 9, 1, pixels);
  extras.grid_sigmas = {0, 1.5};
  const std::string with_grid = sharp.page(extras);
  CHECK_THAT(with_grid, Contains("src=\"data:image/png;base64," + fovea::base64_encode(extras.sample_grid_png) + "\""));
  CHECK_THAT(with_grid, Contains("width=\"60\" height=\"27\""));
  CHECK_THAT(with_grid, Contains("\u03c3 = 0, 1.5 px"));

  extras = {};
  extras.grid_note = "no sample grid: cannot read /gone <x>";
  CHECK_THAT(sharp.page(extras), Contains("no sample grid: cannot read /gone &lt;x&gt;"));
}

TEST_CASE("report: render_report: the confusion matrix from eval-test.json or the caller", "[report]") {
  Run run;
  write(run.dir.path / "eval-test.json", R"({"confusion": [[5, 1, 0], [2, 7, 1], [0, 0, 9]], "classes": ["T-shirt", "Trouser", "<Bag>"]})");
  std::string page = run.page();
  CHECK(count(page, "fovea eval --run DIR") == 0);
  CHECK_THAT(page, Contains("<th>&lt;Bag&gt;</th>"));
  CHECK_THAT(page, Contains("background:rgba(31,119,180,0.700);color:#fff\">7</td>"));  // 7 of 10 on the diagonal
  CHECK_THAT(page, Contains("background:rgba(214,39,40,0.600);color:#fff\">2</td>"));  // 2 of 10 off it, shaded x3
  CHECK_THAT(page, Contains("background:rgba(214,39,40,0.300)\">1</td>"));
  CHECK_THAT(page, Contains("<td>0.833</td>"));                               // recall 5 / 6

  ConfusionMatrix given;
  given.classes = {"a", "b"};
  given.counts = {{3, 1}, {0, 4}};
  ReportExtras extras;
  extras.confusion = given;
  page = run.page(extras);
  CHECK_THAT(page, Contains("<th>a</th><th>b</th>"));
  CHECK(count(page, "Trouser") == 0);
  given.counts = {{3, 1}};
  extras.confusion = given;
  CHECK_THROWS_WITH(run.page(extras), Contains("confusion matrix"));
}

TEST_CASE("report: read_confusion: missing file, defaults, malformed files named", "[report]") {
  TempDir d("fovea_report_test");
  CHECK_FALSE(read_confusion(d.file("eval-test.json")).has_value());
  write(d.path / "eval-test.json", R"({"confusion": [[1, 2], [3, 4]]})");
  auto cm = read_confusion(d.file("eval-test.json"));
  REQUIRE(cm.has_value());
  CHECK(cm->classes == std::vector<std::string>{"0", "1"});
  CHECK(cm->counts == std::vector<std::vector<uint64_t>>{{1, 2}, {3, 4}});
  const std::pair<const char*, const char*> bad[] = {
      {R"({"confusion": [[1, 2], [3]]})", "row 1 does not hold 2 counts"},
      {R"({"confusion": [[1, -2], [3, 4]]})", "row 0 holds -2"},
      {R"({"confusion": [[1, 2.5], [3, 4]]})", "row 0 holds 2.5"},
      {R"({"confusion": [[1, 2], [3, 4]], "classes": ["x"]})", "'classes'"},
      {R"({"matrix": []})", "'confusion'"},
      {R"({"confusion": [[1, 2], )", "not valid JSON"}};
  for (const auto& [text, message] : bad) {
    write(d.path / "eval-test.json", text);
    CHECK_THROWS_WITH(read_confusion(d.file("eval-test.json")), Contains(message) && Contains("eval-test.json"));
  }
}

TEST_CASE("report: render_report: malformed run files are named", "[report]") {
  {
    Run run(std::string(kMetrics) + "{\"epoch\": 3, \"train_loss\": \n");
    CHECK_THAT(render_error(run), Contains("metrics.jsonl line 3: not valid JSON"));
  }
  {
    Run run(R"({"epoch": 1, "val_acc": "high"})");
    CHECK_THAT(render_error(run), Contains("metrics.jsonl line 1: 'val_acc' is not a number"));
  }
  {
    Run run("[1, 2]\n");
    CHECK_THAT(render_error(run), Contains("metrics.jsonl line 1: expected a JSON object"));
  }
  {
    Run run("\n");
    CHECK_THAT(render_error(run), Contains("metrics.jsonl: no epochs recorded"));
  }
  {
    Run run(kMetrics, "[]");
    CHECK_THAT(render_error(run), Contains("summary.json: expected a JSON object"));
  }
  {
    Run run(kMetrics, R"({"test_acc": "0.9"})");
    CHECK_THAT(render_error(run), Contains("summary.json: 'test_acc' is not a number"));
  }
  {
    Run run(kMetrics, R"({"device": 7})");
    CHECK_THAT(render_error(run), Contains("summary.json: 'device' is not a string"));
  }
  {
    Run run(kMetrics, "{\"test_acc\": ");
    CHECK_THAT(render_error(run), Contains("summary.json: not valid JSON"));
  }
  TempDir empty("fovea_report_test");
  CHECK_THROWS_WITH(render_report(empty.path.string(), {}),
                    Contains((empty.path / "metrics.jsonl").string()) && Contains("a run directory"));
}

TEST_CASE("report: report_grid_sigmas: 0 and the run's sigmas, at most six", "[report]") {
  Run blurred;
  CHECK(report_grid_sigmas(blurred.path()) == std::vector<double>{0, 2});
  Run plain(R"({"epoch": 1, "blur_sigma": 0}
{"epoch": 2})",
            R"({"test_acc": 0.5})");
  CHECK(report_grid_sigmas(plain.path()) == std::vector<double>{0, 1, 2, 4});
  std::string many;
  for (int e = 0; e < 11; ++e) many += "{\"blur_sigma\": " + std::to_string(10 - e) + "}\n";
  Run linear(many);
  CHECK(report_grid_sigmas(linear.path()) == std::vector<double>{0, 2, 4, 6, 8, 10});
  CHECK(report_data_dir(blurred.path()) == "/nowhere");
  CHECK(report_data_dir(plain.path()) == "");
}

TEST_CASE("report: write_report: report.html written whole, nothing left behind", "[report]") {
  Run run;
  const std::string path = write_report(run.path(), {});
  CHECK(path == (run.dir.path / "report.html").string());
  std::ifstream f(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(text == run.page());
  CHECK_FALSE(fs::exists(run.dir.path / "report.html.tmp"));
  fs::create_directories(run.dir.path / "report.html.tmp");  // the temporary name is taken: an error, not a crash
  CHECK_THROWS_WITH(write_report(run.path(), {}), Contains("report.html"));
}

namespace {

// The points of the first polyline after `after` in `svg`, as (x, y) pixels.
std::vector<std::pair<double, double>> polyline_after(const std::string& svg, const std::string& after) {
  const size_t from = svg.find(after);
  const size_t at = svg.find("<polyline", from == std::string::npos ? 0 : from);
  const size_t open = svg.find("points=\"", at) + 8, close = svg.find('"', open);
  std::vector<std::pair<double, double>> points;
  std::istringstream in(svg.substr(open, close - open));
  std::string xy;
  while (in >> xy) {
    const size_t comma = xy.find(',');
    points.push_back({std::stod(xy.substr(0, comma)), std::stod(xy.substr(comma + 1))});
  }
  return points;
}

// A staircase: segments alternate between level (same y) and upright (same x).
bool staircase(const std::vector<std::pair<double, double>>& p) {
  for (size_t i = 1; i < p.size(); ++i) {
    const bool level = p[i].second == p[i - 1].second && p[i].first > p[i - 1].first;
    const bool upright = p[i].first == p[i - 1].first && p[i].second != p[i - 1].second;
    if ((i % 2 == 1 && !level) || (i % 2 == 0 && !upright)) return false;
  }
  return p.size() % 2 == 0;
}

}  // namespace

TEST_CASE("report: svg_line_chart: a steps series is a staircase held to x_end", "[report]") {
  Chart c;
  c.x = {0, 1, 3};
  c.x_end = 4;
  c.series = {{"sigma", {2, 1, 0}, "#000", true}};
  const std::string svg = svg_line_chart(c);
  const auto p = polyline_after(svg, "");
  REQUIRE(p.size() == 6);  // (0, 2) (1, 2) (1, 1) (3, 1) (3, 0) (4, 0)
  CHECK(staircase(p));
  CHECK(p[0].first < p[1].first);
  CHECK(p[5].first > p[4].first);
  CHECK(count(svg, "<circle") == 3);  // a dot per value, none at the corners
  c.series[0].steps = false;
  CHECK(polyline_after(svg_line_chart(c), "").size() == 3);
}

TEST_CASE("report: render_report: a step schedule's blur chart is steps, per step from summary.json", "[report]") {
  const std::string metrics = R"({"epoch": 1, "train_loss": 1, "blur_sigma": 2}
{"epoch": 2, "train_loss": 0.9, "blur_sigma": 1.3333333333333333}
{"epoch": 3, "train_loss": 0.8, "blur_sigma": 0.6666666666666666}
{"epoch": 4, "train_loss": 0.7, "blur_sigma": 0}
)";
  const std::string summary = R"({"test_loss": 0.5, "test_acc": 0.8, "epochs": 4, "batch": 128, "train_images": 1000,
 "sharpen": {"schedule": "step", "spec": "step", "sigma0": 2, "sharpen_epochs": -1, "levels": 3}})";
  Run run(metrics, summary.c_str());
  const std::string page = run.page();
  REQUIRE_THAT(page, Contains("Blur \u03c3 (every training step)"));
  auto p = polyline_after(page, "Blur \u03c3 (every training step)");
  CHECK(p.size() == 8);  // four levels, three drops, held to the end of epoch 4
  CHECK(staircase(p));
  // Without the schedule's settings (a run written before summary.json held
  // them, or no summary): the sigma of each epoch's start, held for the epoch.
  Run older(metrics, nullptr);
  p = polyline_after(older.page(), "Blur \u03c3 (from the start of each epoch)");
  CHECK(p.size() == 8);
  CHECK(staircase(p));
  // A schedule that falls every step: a step each of its 8 steps an epoch
  // for 3 epochs, then 0 ...
  const std::string cosine = R"({"epochs": 4, "batch": 128, "train_images": 1000,
 "sharpen": {"schedule": "cosine", "spec": "cosine", "sigma0": 2, "sharpen_epochs": 3, "levels": 4}})";
  Run few(metrics, cosine.c_str());
  p = polyline_after(few.page(), "Blur \u03c3 (every training step)");
  CHECK(p.size() == 2 * 25);
  CHECK(staircase(p));
  // ... and, with too many steps to draw (469 an epoch), a ramp.
  std::string many = cosine;
  many.replace(many.find("1000"), 4, "60000");
  Run ramp(metrics, many.c_str());
  p = polyline_after(ramp.page(), "Blur \u03c3 (every training step)");
  CHECK(p.size() == kMaxCurvePoints + 1);
  CHECK_FALSE(staircase(p));
  // A schedule summary.json cannot describe is an error naming the file.
  const std::string bad = R"({"epochs": 4, "batch": 128, "train_images": 1000,
 "sharpen": {"schedule": "step", "spec": "blurry", "sigma0": 2, "sharpen_epochs": -1, "levels": 3}})";
  Run broken(metrics, bad.c_str());
  CHECK_THAT(render_error(broken), Contains("summary.json") && Contains("unknown schedule 'blurry'"));
  std::string negative = summary;
  negative.replace(negative.find("\"levels\": 3"), 11, "\"levels\": -3");
  Run out_of_range(metrics, negative.c_str());
  CHECK_THAT(render_error(out_of_range), Contains("summary.json") && Contains("'sharpen.levels' is -3"));
}

TEST_CASE("report: render_report: the sample grid's caption rounds the sigmas", "[report]") {
  Run run;
  ReportExtras extras;
  extras.sample_grid_png = fovea::io::encode_png(4, 4, 1, std::vector<uint8_t>(16, 9));
  extras.grid_sigmas = {0, 0.6666666666666666, 1.3333333333333333, 2};
  CHECK_THAT(run.page(extras), Contains("\u03c3 = 0, 0.67, 1.33, 2 px"));
}

TEST_CASE("report: render_report: the loss chart names the run's loss", "[report]") {
  const std::string metrics = "{\"epoch\": 1, \"train_loss\": 1}\n{\"epoch\": 2, \"train_loss\": 0.9}\n";
  struct Case {
    const char* loss;
    const char* label;
  };
  for (const Case& c : {Case{"", "cross-entropy"}, Case{R"(, "loss": {"type": "mse"})", "MSE"},
                        Case{R"(, "loss": {"type": "bce_with_logits"})", "BCE with logits"},
                        Case{R"(, "loss": {"type": "cross_entropy", "label_smoothing": 0.1})",
                             "cross-entropy (label smoothing 0.1)"}}) {
    const std::string summary = std::string(R"({"test_loss": 0.5, "test_acc": 0.8, "epochs": 2)") + c.loss + "}";
    Run run(metrics, summary.c_str());
    INFO(summary);
    CHECK_THAT(run.page(), Contains(std::string(">") + c.label + "<"));
  }
}

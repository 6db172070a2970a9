// Line charts as inline SVG for the run report: axes with round tick
// values, grid lines, a legend, several series over one x axis, and a log
// y axis when the values span a wide positive range. No scripts, no fonts
// beyond the page's own, every text escaped.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace fovea::report {

struct ChartSeries {
  std::string name;       // legend text
  std::vector<double> y;  // one value per x; NaN = missing (the line breaks there)
  std::string color;      // CSS colour, e.g. "#1f77b4"
  bool steps = false;     // a staircase: each value holds from its x to the next (the last to Chart::x_end)
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<double> x;  // shared by every series (epochs)
  std::vector<ChartSeries> series;
  bool integer_x = true;  // x ticks at whole numbers only
  bool allow_log = false; // log y when every value is > 0 and max/min >= kLogRatio
  bool y_from_zero = false;  // a linear y axis reaches down (or up) to 0
  double x_end = std::numeric_limits<double>::quiet_NaN();  // where the last step ends (steps series)
  uint32_t width = 560, height = 300;  // pixels
  // Scatter charts (fovea search): dots without lines, a log x axis (every
  // x > 0), and names for the x ticks 0, 1, ... of a categorical axis
  // (its frame then spans -0.5 to n - 0.5).
  bool points_only = false;
  bool log_x = false;
  std::vector<std::string> x_names;
};

inline constexpr double kLogRatio = 20;

// The tick values of a linear axis covering [lo, hi]: multiples of a step
// 1, 2 or 5 x 10^k, the one nearest (hi - lo) / (target - 1), the first
// <= lo and the last >= hi. A zero-width range is widened first. With `integer`, the step
// is at least 1.
std::vector<double> nice_ticks(double lo, double hi, int target, bool integer = false);

// The tick values of a log axis covering [lo, hi] (0 < lo <= hi): powers of
// ten from 10^floor(log10 lo) to 10^ceil(log10 hi) (at least one decade),
// with 2 and 5 times each power added when the axis spans at most two decades.
std::vector<double> log_ticks(double lo, double hi);

// A tick's text: as many decimals as `step` needs (no "-0", no trailing
// noise), or %g when step <= 0 (log axes).
std::string tick_label(double value, double step);

// &, <, >, " and ' as entities: safe in HTML/SVG text and attribute values.
std::string xml_escape(std::string_view text);

// The <svg> element of the chart.
std::string svg_line_chart(const Chart& chart);

}  // namespace fovea::report

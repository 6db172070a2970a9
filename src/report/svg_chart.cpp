#include "report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace fovea::report {

namespace {

// The nearest of 1, 2, 5 or 10 x 10^k to x (> 0).
double nice_number(double x) {
  const double power = std::pow(10.0, std::floor(std::log10(x)));
  const double f = x / power;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// One axis: its domain (the first and last tick), ticks, and the tick step
// (0 for a log axis).
struct Axis {
  std::vector<double> ticks;
  double step = 0;
  bool log = false;
  double lo() const { return ticks.front(); }
  double hi() const { return ticks.back(); }
  // Where v falls in [0, 1] along the axis.
  double fraction(double v) const {
    if (log) return (std::log10(v) - std::log10(lo())) / (std::log10(hi()) - std::log10(lo()));
    return (v - lo()) / (hi() - lo());
  }
};

Axis linear_axis(double lo, double hi, int target, bool integer) {
  Axis a;
  a.ticks = nice_ticks(lo, hi, target, integer);
  a.step = a.ticks.size() > 1 ? a.ticks[1] - a.ticks[0] : 1;
  return a;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target, bool integer) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= std::abs(hi) * 1e-12) {
    // One value: a range around it (an integer axis keeps whole ends).
    const double pad = integer ? 1 : (hi == 0 ? 1 : std::abs(hi) * 0.1);
    lo -= pad;
    hi += pad;
  }
  target = std::max(target, 2);
  double step = nice_number((hi - lo) / double(target - 1));
  if (integer) step = std::max(step, 1.0);
  const double first = std::floor(lo / step + 1e-9) * step, last = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (int64_t i = 0; first + double(i) * step <= last + step * 1e-9; ++i) {
    const double v = first + double(i) * step;
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  int d0 = int(std::floor(std::log10(lo) + 1e-9)), d1 = int(std::ceil(std::log10(hi) - 1e-9));
  if (d1 <= d0) d1 = d0 + 1;
  std::vector<double> ticks;
  for (int d = d0; d <= d1; ++d) {
    const double p = std::pow(10.0, d);
    ticks.push_back(p);
    if (d1 - d0 <= 2 && d < d1) {
      ticks.push_back(2 * p);
      ticks.push_back(5 * p);
    }
  }
  return ticks;
}

std::string tick_label(double value, double step) {
  if (step <= 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", value);
    return buf;
  }
  const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  std::string s = fixed(value, decimals);
  if (s.find_first_not_of("-0.") == std::string::npos) s = fixed(0.0, decimals);  // "-0.00" -> "0.00"
  return s;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// A series: a polyline per unbroken run of values (through the corners of
// a staircase for a steps series), a dot per value. `xy` maps a point to
// its "x,y" text.
template <class XY>
std::string series_svg(const Chart& chart, const ChartSeries& series, XY xy, bool log_y) {
  const std::string color = xml_escape(series.color);
  std::string s, points, dots;
  auto flush = [&] {
    if (!points.empty() && !chart.points_only) s += "<polyline class=\"series\" stroke=\"" + color + "\" points=\"" + points + "\"/>\n";
    points.clear();
  };
  auto add = [&](const std::string& at) {
    if (!points.empty()) points += ' ';
    points += at;
  };
  auto point = [&](double x, double y) { add(xy(x, y)); };
  const size_t n = std::min(chart.x.size(), series.y.size());
  for (size_t i = 0; i < n; ++i) {
    const double v = series.y[i];
    if (!std::isfinite(v) || !std::isfinite(chart.x[i]) || (log_y && v <= 0)) {
      flush();
      continue;
    }
    const std::string at = xy(chart.x[i], v);
    if (series.steps && !points.empty()) point(chart.x[i], series.y[i - 1]);  // along, then up or down
    add(at);
    const size_t comma = at.find(',');
    dots += "<circle cx=\"" + at.substr(0, comma) + "\" cy=\"" + at.substr(comma + 1) + "\" r=\"2.5\"/>";
    const bool last = i + 1 == n || !std::isfinite(series.y[i + 1]) || !std::isfinite(chart.x[i + 1]);
    if (series.steps && last) {  // held to the next x, or to the end
      const double to = i + 1 < n && std::isfinite(chart.x[i + 1]) ? chart.x[i + 1] : chart.x_end;
      if (std::isfinite(to)) point(to, v);
    }
  }
  flush();
  if (!dots.empty()) s += "<g fill=\"" + color + "\">" + dots + "</g>\n";
  return s;
}

// The x axis over [xlo, xhi]: log, linear, or categories kept off the frame.
Axis x_axis(const Chart& chart, double xlo, double xhi) {
  if (!chart.x_names.empty()) xlo = -0.5, xhi = double(chart.x_names.size()) - 0.5;
  Axis xa;
  if (chart.log_x && xlo > 0 && xlo <= xhi) {
    xa.ticks = log_ticks(xlo, xhi);
    xa.log = true;
    return xa;
  }
  return linear_axis(xlo <= xhi ? xlo : 0, xlo <= xhi ? xhi : 1, 8, chart.integer_x || !chart.x_names.empty());
}

}  // namespace

std::string svg_line_chart(const Chart& chart) {
  const double W = chart.width, H = chart.height;
  const double left = 64, right = 16, top = 40, bottom = 46;
  const double pw = W - left - right, ph = H - top - bottom;

  double ylo = std::numeric_limits<double>::infinity(), yhi = -ylo, xlo = ylo, xhi = -ylo;
  for (double v : chart.x)
    if (std::isfinite(v)) xlo = std::min(xlo, v), xhi = std::max(xhi, v);
  if (std::isfinite(chart.x_end)) xlo = std::min(xlo, chart.x_end), xhi = std::max(xhi, chart.x_end);
  for (const ChartSeries& s : chart.series)
    for (double v : s.y)
      if (std::isfinite(v)) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
  const bool empty = !(ylo <= yhi);
  const Axis xa = x_axis(chart, xlo, xhi);
  Axis ya;
  if (!empty && chart.allow_log && ylo > 0 && yhi / ylo >= kLogRatio) {
    ya.ticks = log_ticks(ylo, yhi);
    ya.log = true;
  } else {
    if (!empty && chart.y_from_zero) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 0.0);
    ya = linear_axis(empty ? 0 : ylo, empty ? 1 : yhi, 6, false);
  }
  auto px = [&](double x) { return left + xa.fraction(x) * pw; };
  auto py = [&](double y) { return top + (1 - ya.fraction(y)) * ph; };

  std::string s;
  s += "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(W, 0) + "\" height=\"" +
       fixed(H, 0) + "\" viewBox=\"0 0 " + fixed(W, 0) + " " + fixed(H, 0) + "\" role=\"img\">\n";
  s += "<title>" + xml_escape(chart.title) + "</title>\n";
  s += "<text x=\"" + fixed(left, 1) + "\" y=\"18\" class=\"title\">" + xml_escape(chart.title) +
       (ya.log ? " (log scale)" : "") + "</text>\n";
  // Grid lines and tick labels.
  for (double t : ya.ticks) {
    const std::string y = fixed(py(t), 1);
    s += "<line class=\"grid\" x1=\"" + fixed(left, 1) + "\" x2=\"" + fixed(left + pw, 1) + "\" y1=\"" + y +
         "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" + fixed(left - 6, 1) + "\" y=\"" + y +
         "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + xml_escape(tick_label(t, ya.log ? 0 : ya.step)) +
         "</text>\n";
  }
  for (double t : xa.ticks) {
    const std::string x = fixed(px(t), 1);
    std::string text = tick_label(t, xa.log ? 0 : xa.step);
    if (!chart.x_names.empty())  // a category's name, or no label past the last one
      text = t >= 0 && size_t(t) < chart.x_names.size() && t == std::floor(t) ? chart.x_names[size_t(t)] : "";
    s += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + fixed(top, 1) + "\" y2=\"" +
         fixed(top + ph, 1) + "\"/><text class=\"tick\" x=\"" + x + "\" y=\"" + fixed(top + ph + 16, 1) +
         "\" text-anchor=\"middle\">" + xml_escape(text) + "</text>\n";
  }
  s += "<rect class=\"frame\" x=\"" + fixed(left, 1) + "\" y=\"" + fixed(top, 1) + "\" width=\"" + fixed(pw, 1) +
       "\" height=\"" + fixed(ph, 1) + "\"/>\n";
  s += "<text class=\"label\" x=\"" + fixed(left + pw / 2, 1) + "\" y=\"" + fixed(H - 8, 1) +
       "\" text-anchor=\"middle\">" + xml_escape(chart.x_label) + (xa.log ? " (log scale)" : "") + "</text>\n";
  s += "<text class=\"label\" transform=\"translate(14 " + fixed(top + ph / 2, 1) +
       ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(chart.y_label) + "</text>\n";
  if (empty)
    s += "<text class=\"label\" x=\"" + fixed(left + pw / 2, 1) + "\" y=\"" + fixed(top + ph / 2, 1) +
         "\" text-anchor=\"middle\">no values</text>\n";

  double legend_x = left + pw;
  for (size_t k = chart.series.size(); k-- > 0;) {
    const ChartSeries& series = chart.series[k];
    const std::string color = xml_escape(series.color);
    s += series_svg(chart, series, [&](double x, double y) { return fixed(px(x), 1) + "," + fixed(py(y), 1); },
                    ya.log);
    // Legend entries right-aligned in the top margin, last series rightmost.
    const double text_w = 7.0 * double(series.name.size());
    legend_x -= text_w;
    s += "<text class=\"legend\" x=\"" + fixed(legend_x, 1) + "\" y=\"30\">" + xml_escape(series.name) + "</text>";
    legend_x -= 18;
    s += "<line stroke=\"" + color + "\" stroke-width=\"3\" x1=\"" + fixed(legend_x, 1) + "\" x2=\"" +
         fixed(legend_x + 14, 1) + "\" y1=\"26\" y2=\"26\"/>\n";
    legend_x -= 14;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace fovea::report

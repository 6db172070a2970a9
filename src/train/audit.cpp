#include "train/audit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/png.h"
#include "train/predict.h"
#include "util/base64.h"

namespace fovea::train {

AuditImage audit_row(uint32_t index, uint32_t label, const float* logits, uint32_t classes) {
  const std::vector<double> p = softmax(logits, classes);
  AuditImage a;
  a.index = index;
  a.label = label;
  a.predicted = uint32_t(std::max_element(p.begin(), p.end()) - p.begin());
  a.p_label = p[label];
  double other = 0;
  for (uint32_t k = 0; k < classes; ++k)
    if (k != label) other = std::max(other, p[k]);
  a.margin = a.p_label - other;
  a.loss = -std::log(std::max(a.p_label, std::numeric_limits<double>::min()));
  return a;
}

void finish_audit(AuditResult& r, uint32_t classes) {
  std::sort(r.images.begin(), r.images.end(), [](const AuditImage& a, const AuditImage& b) {
    if (a.p_label != b.p_label) return a.p_label < b.p_label;
    if (a.margin != b.margin) return a.margin < b.margin;
    return a.index < b.index;
  });
  r.classes.assign(classes, {});
  for (const AuditImage& a : r.images) {
    AuditClass& c = r.classes[a.label];
    c.images++;
    c.correct += a.predicted == a.label;
    c.loss += a.loss;
  }
}

std::string audit_json(const AuditResult& r, const std::vector<std::string>& names) {
  nlohmann::json images = nlohmann::json::array();
  for (const AuditImage& a : r.images)
    images.push_back({{"index", a.index}, {"label", a.label}, {"predicted", a.predicted}, {"p_label", a.p_label},
                      {"margin", a.margin}});
  nlohmann::json classes = nlohmann::json::array();
  for (size_t k = 0; k < r.classes.size(); ++k)
    classes.push_back({{"class", k}, {"name", names[k]}, {"images", r.classes[k].images},
                       {"accuracy", r.classes[k].accuracy()}, {"mean_loss", r.classes[k].mean_loss()}});
  const nlohmann::json j = {{"in_sample", r.in_sample}, {"folds", r.folds}, {"images", images}, {"classes", classes}};
  return j.dump(1) + "\n";
}

std::string audit_table(const AuditResult& r, const std::vector<std::string>& names, uint32_t top) {
  std::ostringstream s;
  char line[160];
  s << (r.in_sample ? "in-sample predictions (the run's own weights saw these labels; --folds K gives "
                      "out-of-sample ones)\n"
                    : "out-of-sample predictions (" + std::to_string(r.folds) + " folds)\n");
  s << " rank   index  p_label   margin  given -> predicted\n";
  for (size_t i = 0; i < std::min<size_t>(top, r.images.size()); ++i) {
    const AuditImage& a = r.images[i];
    std::snprintf(line, sizeof line, "%5zu  %6u  %7.4f  %7.4f  ", i + 1, a.index, a.p_label, a.margin);
    s << line << names[a.label] << " -> " << names[a.predicted] << "\n";
  }
  s << "\nclass  images  accuracy  mean_loss  name\n";
  for (size_t k = 0; k < r.classes.size(); ++k) {
    std::snprintf(line, sizeof line, "%5zu  %6u  %8.4f  %9.4f  ", k, r.classes[k].images, r.classes[k].accuracy(),
                  r.classes[k].mean_loss());
    s << line << names[k] << "\n";
  }
  return s.str();
}

namespace {

std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

// Image `index` of `set` as a PNG data URL (planar bytes to interleaved).
std::string png_url(const data::ImageSet& set, uint32_t index) {
  const size_t plane = size_t(set.height) * set.width;
  const uint32_t channels = set.channels == 3 ? 3 : 1;
  std::vector<uint8_t> pixels(plane * channels);
  const uint8_t* src = set.pixels.data() + size_t(index) * set.image_bytes();
  for (size_t i = 0; i < plane; ++i)
    for (uint32_t c = 0; c < channels; ++c) pixels[i * channels + c] = src[c * plane + i];
  return "data:image/png;base64," + base64_encode(io::encode_png(set.width, set.height, channels, pixels));
}

}  // namespace

std::string audit_html(const AuditResult& r, const std::vector<std::string>& names, const data::ImageSet& set,
                       uint32_t top, const std::string& run) {
  std::ostringstream s;
  s << "<!doctype html><html><head><meta charset=\"utf-8\"><title>fovea audit: " << escaped(run)
    << "</title><style>body{font-family:sans-serif}figure{display:inline-block;margin:4px;text-align:center;"
       "font-size:11px;width:120px}img{width:84px;image-rendering:pixelated}</style></head><body>\n<h1>Suspect "
       "labels of "
    << escaped(run) << "</h1>\n<p>"
    << (r.in_sample ? "In-sample predictions: the run's own weights, which were trained on these labels."
                    : "Out-of-sample predictions from " + std::to_string(r.folds) + " models, each trained on the "
                      "other folds.")
    << " Most suspect first: the lowest predicted probability of the given label.</p>\n";
  for (size_t i = 0; i < std::min<size_t>(top, r.images.size()); ++i) {
    const AuditImage& a = r.images[i];
    s << "<figure><img src=\"" << png_url(set, a.index) << "\" alt=\"image " << a.index << "\"><figcaption>#"
      << a.index << "<br>given: " << escaped(names[a.label]) << "<br>predicted: " << escaped(names[a.predicted])
      << "<br>p(given) " << std::fixed;
    s.precision(3);
    s << a.p_label << "</figcaption></figure>\n";
  }
  s << "<h2>Classes</h2><table><tr><th>class</th><th>name</th><th>images</th><th>accuracy</th><th>mean loss</th></tr>\n";
  for (size_t k = 0; k < r.classes.size(); ++k)
    s << "<tr><td>" << k << "</td><td>" << escaped(names[k]) << "</td><td>" << r.classes[k].images << "</td><td>"
      << r.classes[k].accuracy() << "</td><td>" << r.classes[k].mean_loss() << "</td></tr>\n";
  s << "</table></body></html>\n";
  return s.str();
}

}  // namespace fovea::train

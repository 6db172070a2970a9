#include "cli/suggest.h"

#include <algorithm>

namespace fovea::cli {

namespace {

std::string undashed(const std::string& s) {
  const size_t i = s.find_first_not_of('-');
  return i == std::string::npos ? "" : s.substr(i);
}

}  // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
  // d[i][j]: the distance between a's first i and b's first j characters.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string w = undashed(word);
  if (w.empty()) return "";
  const size_t allowed = w.size() <= 4 ? 1 : w.size() <= 8 ? 2 : 3;
  std::string best;
  size_t best_distance = allowed + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(w, undashed(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  if (!best.empty() || w.size() < 3) return best;
  std::string prefixed;
  for (const std::string& c : candidates)
    if (undashed(c).rfind(w, 0) == 0) {
      if (!prefixed.empty()) return "";  // several: none is clearly meant
      prefixed = c;
    }
  return prefixed;
}

}  // namespace fovea::cli

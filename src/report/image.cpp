#include "report/image.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "util/error.h"

namespace fovea::report {

namespace {

// 5 x 7 glyphs, a row per byte, bit 4 the leftmost column.
struct Glyph {
  const char* utf8;
  std::array<uint8_t, 7> rows;
};

const Glyph kFont[] = {
    {"0", {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}}, {"1", {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {"2", {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}}, {"3", {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}},
    {"4", {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}}, {"5", {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}},
    {"6", {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}}, {"7", {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {"8", {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}}, {"9", {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}},
    {".", {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}}, {"-", {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}},
    {"=", {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00}}, {" ", {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    {"\u03c3", {0x00, 0x00, 0x0f, 0x12, 0x11, 0x11, 0x0e}},
};

// The glyphs of `text`, in order; an error naming a character the font lacks.
std::vector<const Glyph*> glyphs(const std::string& text) {
  std::vector<const Glyph*> out;
  for (size_t i = 0; i < text.size();) {
    const Glyph* found = nullptr;
    for (const Glyph& g : kFont) {
      const std::string u = g.utf8;
      if (text.compare(i, u.size(), u) == 0) found = &g;
    }
    if (!found) throw Error("label '" + text + "': the built-in font has no glyph for byte " + std::to_string(i));
    out.push_back(found);
    i += std::string(found->utf8).size();
  }
  return out;
}

}  // namespace

std::string short_number(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

Image scale_nearest(const Image& in, uint32_t factor) {
  if (factor == 0) throw Error("scale factor 0: it must be at least 1");
  Image out{in.width * factor, in.height * factor, in.channels, {}};
  out.pixels.resize(size_t(out.width) * out.height * out.channels);
  for (uint32_t y = 0; y < out.height; ++y)
    for (uint32_t x = 0; x < out.width; ++x)
      for (uint32_t c = 0; c < in.channels; ++c)
        out.pixels[(size_t(y) * out.width + x) * in.channels + c] =
            in.pixels[(size_t(y / factor) * in.width + x / factor) * in.channels + c];
  return out;
}

uint32_t text_width(const std::string& text, uint32_t pixel) {
  const size_t n = glyphs(text).size();
  return n == 0 ? 0 : uint32_t(n * 6 - 1) * pixel;
}

void draw_text(Image& img, int64_t x, int64_t y, const std::string& text, uint32_t pixel, uint8_t value) {
  int64_t left = x;
  for (const Glyph* g : glyphs(text)) {
    for (int64_t row = 0; row < 7 * int64_t(pixel); ++row)
      for (int64_t col = 0; col < 5 * int64_t(pixel); ++col) {
        if (!(g->rows[size_t(row / pixel)] >> (4 - col / pixel) & 1)) continue;
        const int64_t px = left + col, py = y + row;
        if (px < 0 || py < 0 || px >= int64_t(img.width) || py >= int64_t(img.height)) continue;
        for (uint32_t c = 0; c < img.channels; ++c) img.pixels[(size_t(py) * img.width + size_t(px)) * img.channels + c] = value;
      }
    left += 6 * int64_t(pixel);
  }
}

Image label_rows(const Image& grid, const std::vector<std::string>& labels, uint32_t first_row_y,
                 uint32_t row_pitch, uint32_t row_height, uint32_t pixel) {
  uint32_t widest = 0;
  for (const std::string& l : labels) widest = std::max(widest, text_width(l, pixel));
  const uint32_t pad = 3 * pixel, margin = widest + 2 * pad;
  Image out{grid.width + margin, grid.height, grid.channels, {}};
  out.pixels.resize(size_t(out.width) * out.height * out.channels);
  for (uint32_t y = 0; y < grid.height; ++y)
    for (uint32_t x = 0; x < out.width; ++x)
      for (uint32_t c = 0; c < grid.channels; ++c) {
        const size_t from = x < margin ? c : (size_t(y) * grid.width + (x - margin)) * grid.channels + c;
        out.pixels[(size_t(y) * out.width + x) * out.channels + c] = grid.pixels[from];
      }
  for (size_t r = 0; r < labels.size(); ++r) {
    const int64_t band = int64_t(first_row_y) + int64_t(r) * row_pitch;
    draw_text(out, pad, band + (int64_t(row_height) - int64_t(text_height(pixel))) / 2, labels[r], pixel, 255);
  }
  return out;
}

}  // namespace fovea::report

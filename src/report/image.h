// 8-bit images for PNG grids, and what the grids need done to them:
// enlarging by whole factors and labelling rows with a small built-in
// bitmap font (no font files, no dependency).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::report {

struct Image {
  uint32_t width = 0, height = 0, channels = 0;  // channels 1 or 3
  std::vector<uint8_t> pixels;                   // [height, width, channels]
};

// `value` with at most `decimals` decimals and no trailing zeros
// (0.666667 -> "0.67", 2 -> "2", -0.001 -> "0"), for labels and captions.
std::string short_number(double value, int decimals = 2);

// Each pixel repeated factor x factor times (nearest neighbour).
Image scale_nearest(const Image& in, uint32_t factor);

// The pixel width of `text` drawn with draw_text at `pixel` (each font
// pixel a pixel x pixel square; glyphs 5 x 7 with a column of space).
uint32_t text_width(const std::string& text, uint32_t pixel);
inline uint32_t text_height(uint32_t pixel) { return 7 * pixel; }

// Draws `text` with its top-left corner at (x, y) in grey level `value`
// (every channel); what falls outside the image is clipped. The font has
// the digits, '.', '-', '=', ' ' and the UTF-8 sigma; any other character
// is an error (fovea::Error), never a silent gap.
void draw_text(Image& img, int64_t x, int64_t y, const std::string& text, uint32_t pixel, uint8_t value);

// A copy of `grid` with a margin on the left holding labels[r] for row r,
// centred on the row's band: rows start at `first_row_y` and are
// `row_pitch` pixels apart, each `row_height` high. The margin has the
// colour of pixel (0, 0) of the grid; the text is white.
Image label_rows(const Image& grid, const std::vector<std::string>& labels, uint32_t first_row_y,
                 uint32_t row_pitch, uint32_t row_height, uint32_t pixel);

}  // namespace fovea::report

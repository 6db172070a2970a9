// fovea_test_images: data sets of image files for the CLI tests and the
// decoding benchmarks, written by us (no downloads):
//
//   fovea_test_images fashion IDX_DIR OUT N_TRAIN N_TEST
//       the first N_TRAIN training and N_TEST test images of the IDX files
//       in IDX_DIR as OUT/idx/ (the four IDX files, raw), lossless grey
//       PNGs OUT/png/{train,test}/NNNNN.png with OUT/manifest.csv listing
//       them in IDX order (path,label,split; integer labels), and a class
//       folder tree OUT/folders/{train,test}/<label>/NNNNN.png.
//   fovea_test_images shapes OUT N_TRAIN N_TEST SIDE
//       coloured shapes on a noisy background, SIDE x SIDE RGB PNGs in
//       OUT/{train,test}/<class>/NNNNN.png: ten classes, a red, green,
//       blue, yellow or cyan bar lying across or standing upright (colour
//       and shape decide the class; grey levels alone cannot tell every
//       colour apart), of random length, thickness and place.
//   fovea_test_images jpegs OUT N SIDE
//       N textured RGB JPEGs of SIDE x SIDE in OUT/train/{a,b}/NNNNN.jpg.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/idx.h"
#include "data/split.h"
#include "support/image_files.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace {

std::string name5(uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05u", i);
  return buf;
}

void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

// The first n images of `set` as an IDX pair in dir (prefix "train" or "t10k").
void write_idx(const fovea::data::ImageSet& set, uint32_t n, const fs::path& dir, const std::string& prefix) {
  std::vector<uint8_t> img, lab;
  put_be32(img, 0x803), put_be32(img, n), put_be32(img, set.height), put_be32(img, set.width);
  img.insert(img.end(), set.pixels.begin(), set.pixels.begin() + long(size_t(n) * set.image_bytes()));
  put_be32(lab, 0x801), put_be32(lab, n);
  for (uint32_t i = 0; i < n; ++i) lab.push_back(uint8_t(set.labels[i]));
  fovea::test::write_bytes((dir / (prefix + "-images-idx3-ubyte")).string(), img);
  fovea::test::write_bytes((dir / (prefix + "-labels-idx1-ubyte")).string(), lab);
}

int fashion(const std::string& idx_dir, const fs::path& out, uint32_t n_train, uint32_t n_test) {
  const fovea::data::Dataset ds = fovea::data::load_mnist_dir(idx_dir, 10);
  if (n_train == 0 || n_train > ds.train.count || n_test > ds.test.count)
    throw fovea::Error("asked for more images than " + idx_dir + " holds");
  fs::create_directories(out / "idx");
  write_idx(ds.train, n_train, out / "idx", "train");
  write_idx(ds.test, std::max(n_test, 1u), out / "idx", "t10k");
  std::string csv = "path,label,split\n";
  for (const auto& [set, n, split] : {std::tuple{&ds.train, n_train, "train"}, std::tuple{&ds.test, n_test, "test"}}) {
    for (uint32_t i = 0; i < n; ++i) {
      const std::vector<uint8_t> px(set->pixels.begin() + long(size_t(i) * set->image_bytes()),
                                    set->pixels.begin() + long(size_t(i + 1) * set->image_bytes()));
      const std::string label = std::to_string(set->labels[i]);
      const fs::path flat = out / "png" / split / (name5(i) + ".png");
      const fs::path tree = out / "folders" / split / label / (name5(i) + ".png");
      fs::create_directories(flat.parent_path());
      fs::create_directories(tree.parent_path());
      fovea::test::write_png(flat.string(), set->width, set->height, 1, px);
      fs::copy_file(flat, tree, fs::copy_options::overwrite_existing);
      csv += "png/" + std::string(split) + "/" + name5(i) + ".png," + label + "," + split + "\n";
    }
  }
  std::ofstream(out / "manifest.csv") << csv;
  return 0;
}

int shapes(const fs::path& out, uint32_t n_train, uint32_t n_test, uint32_t side) {
  static const char* kColours[] = {"red", "green", "blue", "yellow", "cyan"};
  static const bool kLit[5][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}};
  fovea::data::Rng rng(20240518);
  for (const auto& [split, n] : {std::pair{"train", n_train}, std::pair{"test", n_test}}) {
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t cls = uint32_t(rng.below(10)), colour = cls / 2;
      const bool across = cls % 2 == 0;  // a horizontal bar, else a vertical one
      std::vector<uint8_t> px(size_t(side) * side * 3);
      for (auto& v : px) v = uint8_t(60 + rng.below(70));  // grey-ish noise
      const double len = side * (0.5 + 0.3 * rng.uniform01()), thick = side * (0.14 + 0.1 * rng.uniform01());
      const double bw = across ? len : thick, bh = across ? thick : len;
      const double x0 = (side - bw) * rng.uniform01(), y0 = (side - bh) * rng.uniform01();
      for (uint32_t y = 0; y < side; ++y)
        for (uint32_t x = 0; x < side; ++x) {
          if (x + 0.5 < x0 || x + 0.5 > x0 + bw || y + 0.5 < y0 || y + 0.5 > y0 + bh) continue;
          for (uint32_t c = 0; c < 3; ++c)
            px[(size_t(y) * side + x) * 3 + c] = uint8_t(kLit[colour][c] ? 170 + rng.below(80) : 20 + rng.below(60));
        }
      const fs::path p = out / split / (std::string(kColours[colour]) + (across ? "_across" : "_upright")) / (name5(i) + ".png");
      fs::create_directories(p.parent_path());
      fovea::test::write_png(p.string(), side, side, 3, px);
    }
  }
  return 0;
}

int jpegs(const fs::path& out, uint32_t n, uint32_t side) {
  fovea::data::Rng rng(7);
  std::vector<uint8_t> px(size_t(side) * side * 3);
  for (uint32_t i = 0; i < n; ++i) {
    const double fx = 0.02 + 0.2 * rng.uniform01(), fy = 0.02 + 0.2 * rng.uniform01();
    for (uint32_t y = 0; y < side; ++y)
      for (uint32_t x = 0; x < side; ++x)
        for (uint32_t c = 0; c < 3; ++c)
          px[(size_t(y) * side + x) * 3 + c] =
              uint8_t(128 + 90 * std::sin(fx * x * (c + 1) + fy * y) + double(rng.below(30)) - 15);
    const fs::path p = out / "train" / (i % 2 ? "a" : "b") / (name5(i) + ".jpg");
    fs::create_directories(p.parent_path());
    fovea::test::write_jpg(p.string(), side, side, 3, px, 90);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    auto num = [&](size_t i) { return uint32_t(std::stoul(a.at(i))); };
    if (a.size() == 5 && a[0] == "fashion") return fashion(a[1], a[2], num(3), num(4));
    if (a.size() == 5 && a[0] == "shapes") return shapes(a[1], num(2), num(3), num(4));
    if (a.size() == 4 && a[0] == "jpegs") return jpegs(a[1], num(2), num(3));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fovea_test_images: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: fovea_test_images fashion IDX_DIR OUT N_TRAIN N_TEST | shapes OUT N_TRAIN N_TEST SIDE | "
               "jpegs OUT N SIDE\n");
  return 2;
}

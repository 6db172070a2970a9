// IDX loading: good files round-trip exactly, and each kind of damaged file
// is rejected with a message naming the file and the field at fault.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/idx.h"
#include "util/error.h"
#include "support/skip.h"

namespace fs = std::filesystem;
using Catch::Contains;
using fovea::data::ImageSet;

namespace {

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path = fs::temp_directory_path() /
           ("fovea_idx_test_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

using Bytes = std::vector<uint8_t>;

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

// Pixel (i, k) of the test images: never zero, varying per image and
// position, with 2 random bits on a repeating ramp, so deflate emits
// Huffman-coded blocks (not stored ones) and a flipped byte breaks the code
// stream rather than just a literal.
uint8_t pixel(uint32_t i, uint32_t k) {
  uint32_t x = i * 2654435761u ^ (k * 40503u + 0x9e37u);
  x ^= x >> 13;
  x *= 0x5bd1e995u;
  return uint8_t(16 + ((k % 17) * 13 + i * 5) % 200 + (x >> 30));
}

Bytes idx_images(uint32_t n, uint32_t h, uint32_t w, uint32_t magic = 0x00000803) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, h);
  put_be32(b, w);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t k = 0; k < h * w; ++k) b.push_back(pixel(i, k));
  return b;
}

Bytes idx_labels(uint32_t n, uint32_t classes) {
  Bytes b;
  put_be32(b, 0x00000801);
  put_be32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back(uint8_t((i * 7 + 3) % classes));
  return b;
}

// A gzip member (header, deflate data, CRC-32 and length trailer) via zlib.
Bytes gzip(const Bytes& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&zs, uLong(in.size())) + 64);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());
  zs.next_out = out.data();
  zs.avail_out = uInt(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  REQUIRE(f.good());
}

// Writes a good 5-image 4x3 pair and returns its paths.
struct Pair {
  std::string images, labels;
};
Pair write_pair(const TempDir& dir, uint32_t n = 5, uint32_t h = 4, uint32_t w = 3) {
  Pair p{dir.file("imgs-idx3-ubyte"), dir.file("labs-idx1-ubyte")};
  write_file(p.images, idx_images(n, h, w));
  write_file(p.labels, idx_labels(n, 10));
  return p;
}

void check_contents(const ImageSet& s, uint32_t n, uint32_t h, uint32_t w) {
  REQUIRE(s.count == n);
  CHECK(s.channels == 1);
  CHECK(s.height == h);
  CHECK(s.width == w);
  CHECK(s.classes == 10);
  CHECK(s.image_bytes() == size_t(h) * w);
  REQUIRE(s.pixels.size() == size_t(n) * h * w);
  REQUIRE(s.labels.size() == n);
  size_t nonzero = 0;
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t k = 0; k < h * w; ++k) {
      REQUIRE(s.pixels[size_t(i) * h * w + k] == pixel(i, k));
      nonzero += s.pixels[size_t(i) * h * w + k] != 0;
    }
    REQUIRE(s.labels[i] == (i * 7 + 3) % 10);
  }
  CHECK(nonzero > s.pixels.size() / 2);
}

}  // namespace

TEST_CASE("idx: raw image/label pair loads every pixel and label exactly", "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir, 5, 4, 3);
  const ImageSet s = fovea::data::load_idx_pair(p.images, p.labels, 10);
  check_contents(s, 5, 4, 3);
  CHECK(s.images_path == p.images);
  CHECK(s.labels_path == p.labels);
}

TEST_CASE("idx: gzip-compressed pair loads the same bytes as the raw pair", "[idx]") {
  TempDir dir;
  const std::string img = dir.file("imgs.gz"), lab = dir.file("labs.gz");
  const Bytes gz = gzip(idx_images(37, 17, 9));
  REQUIRE(gz[0] == 0x1f);
  REQUIRE(gz[1] == 0x8b);
  write_file(img, gz);
  write_file(lab, gzip(idx_labels(37, 10)));
  check_contents(fovea::data::load_idx_pair(img, lab, 10), 37, 17, 9);
}

TEST_CASE("idx: read_file_maybe_gzip passes raw data through and joins gzip members",
          "[idx]") {
  TempDir dir;
  const Bytes a = idx_images(3, 5, 5), b = idx_labels(40, 10);
  write_file(dir.file("raw"), a);
  CHECK(fovea::data::read_file_maybe_gzip(dir.file("raw")) == a);
  // `cat a.gz b.gz` is a valid gzip file holding a followed by b.
  Bytes cat = gzip(a);
  const Bytes gb = gzip(b);
  cat.insert(cat.end(), gb.begin(), gb.end());
  write_file(dir.file("cat.gz"), cat);
  Bytes ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  CHECK(fovea::data::read_file_maybe_gzip(dir.file("cat.gz")) == ab);
  // An empty file is not gzip and reads as empty.
  write_file(dir.file("empty"), {});
  CHECK(fovea::data::read_file_maybe_gzip(dir.file("empty")).empty());
}

TEST_CASE("idx: truncated image file reports header size against data size", "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir, 5, 4, 3);
  Bytes img = idx_images(5, 4, 3);
  img.resize(img.size() - 7);
  write_file(p.images, img);
  CHECK_THROWS_AS(fovea::data::load_idx_pair(p.images, p.labels, 10), fovea::Error);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("header says 5 images of 4x3 (60 bytes)") &&
                        Contains("holds 53 bytes of data"));
  // Cut inside the header itself.
  img.resize(10);
  write_file(p.images, img);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("too short for its IDX header"));
}

TEST_CASE("idx: data longer than the header says is rejected for images and labels",
          "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir, 5, 4, 3);
  Bytes img = idx_images(5, 4, 3);
  img.push_back(1);
  write_file(p.images, img);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("holds 61 bytes of data"));
  write_file(p.images, idx_images(5, 4, 3));
  Bytes lab = idx_labels(5, 10);
  lab.push_back(0);
  write_file(p.labels, lab);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.labels) && Contains("header says 5 labels") &&
                        Contains("holds 6 bytes of data"));
}

TEST_CASE("idx: wrong magic names the file, the value found and the value expected", "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir);
  // The labels file given as the images file.
  CHECK_THROWS_WITH(
      fovea::data::load_idx_pair(p.labels, p.labels, 10),
      Contains(p.labels) && Contains("magic is 0x00000801, expected 0x00000803") &&
          Contains("IDX unsigned-byte images, 3 dimensions"));
  // The images file given as the labels file.
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.images, 10),
                    Contains(p.images) && Contains("magic is 0x00000803, expected 0x00000801"));
  // Float elements (type 0x0D) and a file that is not IDX at all.
  write_file(p.images, idx_images(5, 4, 3, 0x00000D03));
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("magic is 0x00000D03") &&
                        Contains("element type 0x0D"));
  write_file(p.images, Bytes{'<', 'h', 't', 'm', 'l', '>', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("not an IDX file"));
}

TEST_CASE("idx: a dimension count other than 3 for images or 1 for labels is rejected",
          "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir);
  Bytes five;  // [1, 5, 4, 3, 1]: a 5-D tensor with the right byte count
  put_be32(five, 0x00000805);
  for (uint32_t d : {1u, 5u, 4u, 3u, 1u}) put_be32(five, d);
  five.resize(five.size() + 60, 9);
  write_file(p.images, five);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("magic is 0x00000805") &&
                        Contains("declares 5 dimensions, expected 3"));
  Bytes four;  // [1, 5, 4, 2]: 4-D but not RGB
  put_be32(four, 0x00000804);
  for (uint32_t d : {1u, 5u, 4u, 2u}) put_be32(four, d);
  four.resize(four.size() + 40, 9);
  write_file(p.images, four);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("[N, H, W, 3]") && Contains("last dimension is 2"));
  write_file(p.images, idx_images(5, 4, 3));
  Bytes two;
  put_be32(two, 0x00000802);
  put_be32(two, 5);
  put_be32(two, 1);
  two.resize(two.size() + 5, 1);
  write_file(p.labels, two);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.labels) && Contains("declares 2 dimensions, expected 1"));
}

TEST_CASE("idx: zero or oversized dimension sizes are rejected by name", "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir);
  write_file(p.images, idx_images(5, 0, 3));
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("height is 0"));
  write_file(p.images, idx_images(1, 1, 5000));
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("width is 5000") && Contains("1..4096"));
  write_file(p.images, idx_images(0, 4, 3));
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.images) && Contains("image count is 0"));
}

TEST_CASE("idx: label count different from image count names both files", "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir, 6, 2, 2);
  write_file(p.labels, idx_labels(5, 10));
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.labels) && Contains(p.images) &&
                        Contains("labels file has 5 labels but images file") &&
                        Contains("has 6 images"));
}

TEST_CASE("idx: a label not below the class count names its value and index", "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir, 9, 2, 2);
  Bytes lab = idx_labels(9, 10);
  lab[8 + 7] = 12;
  write_file(p.labels, lab);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, p.labels, 10),
                    Contains(p.labels) && Contains("label 12 at index 7 is not < 10 classes"));
  // The same file is fine when the model has 13 classes.
  CHECK(fovea::data::load_idx_pair(p.images, p.labels, 13).labels[7] == 12);
}

TEST_CASE("idx: gzip with flipped bytes in the middle is rejected naming the file", "[idx]") {
  TempDir dir;
  const Pair p = write_pair(dir);
  const Bytes good = gzip(idx_images(50, 28, 28));
  REQUIRE(good.size() > 1000);
  const std::string img = dir.file("imgs.gz");
  // Several places and patterns, so the check does not rest on one lucky
  // corruption: each must end in an error, never in silently wrong pixels.
  for (size_t at : {good.size() / 3, good.size() / 2, good.size() * 3 / 4}) {
    Bytes bad = good;
    for (size_t k = 0; k < 4; ++k) bad[at + k] ^= 0xA5;
    write_file(img, bad);
    // Usually "corrupt gzip data (...)"; a flip that fakes a long match can
    // instead run the stream out, which reads as truncation. Both are errors.
    CHECK_THROWS_WITH(fovea::data::load_idx_pair(img, p.labels, 10),
                      Contains(img) && Contains("gzip data"));
  }
  // A flipped CRC-32 in the trailer.
  Bytes bad = good;
  bad[bad.size() - 6] ^= 0x01;
  write_file(img, bad);
  CHECK_THROWS_WITH(fovea::data::read_file_maybe_gzip(img),
                    Contains(img) && Contains("corrupt gzip data"));
  // Trailing bytes that are not another gzip member.
  bad = good;
  bad.push_back(0x42);
  write_file(img, bad);
  CHECK_THROWS_WITH(fovea::data::read_file_maybe_gzip(img),
                    Contains(img) && Contains("trailing garbage"));
}

TEST_CASE("idx: truncated gzip is rejected naming the file", "[idx]") {
  TempDir dir;
  const Bytes good = gzip(idx_images(50, 28, 28));
  const std::string img = dir.file("imgs.gz");
  for (size_t keep : {good.size() / 2, good.size() - 4, size_t(12)}) {
    write_file(img, Bytes(good.begin(), good.begin() + std::ptrdiff_t(keep)));
    CHECK_THROWS_WITH(fovea::data::read_file_maybe_gzip(img),
                      Contains(img) && Contains("truncated gzip data"));
  }
}

TEST_CASE("idx: missing files are named, alone and inside an MNIST directory", "[idx]") {
  TempDir dir;
  const std::string nope = dir.file("no-such-file");
  CHECK_THROWS_WITH(fovea::data::read_file_maybe_gzip(nope),
                    Contains(nope) && Contains("cannot open"));
  const Pair p = write_pair(dir);
  CHECK_THROWS_WITH(fovea::data::load_idx_pair(p.images, nope, 10), Contains(nope));

  // Three of the four files present; the fourth is reported with the
  // directory and both names tried.
  write_file(dir.file("train-images-idx3-ubyte"), idx_images(5, 4, 3));
  write_file(dir.file("train-labels-idx1-ubyte.gz"), gzip(idx_labels(5, 10)));
  write_file(dir.file("t10k-images-idx3-ubyte"), idx_images(2, 4, 3));
  CHECK_THROWS_WITH(fovea::data::load_mnist_dir(dir.path.string(), 10),
                    Contains(dir.path.string()) && Contains("t10k-labels-idx1-ubyte") &&
                        Contains("t10k-labels-idx1-ubyte.gz"));
  CHECK_THROWS_WITH(fovea::data::load_mnist_dir(dir.file("absent-dir"), 10),
                    Contains("absent-dir") && Contains("does not exist"));
}

TEST_CASE("idx: load_mnist_dir reads raw and .gz files and prefers raw when both exist",
          "[idx]") {
  TempDir dir;
  write_file(dir.file("train-images-idx3-ubyte.gz"), gzip(idx_images(5, 4, 3)));
  write_file(dir.file("train-labels-idx1-ubyte"), idx_labels(5, 10));
  write_file(dir.file("t10k-images-idx3-ubyte"), idx_images(2, 4, 3));
  write_file(dir.file("t10k-labels-idx1-ubyte"), idx_labels(2, 10));
  // A stale, different .gz beside the raw test images must be ignored.
  write_file(dir.file("t10k-images-idx3-ubyte.gz"), gzip(idx_images(3, 4, 3)));
  const auto ds = fovea::data::load_mnist_dir(dir.path.string(), 10);
  check_contents(ds.train, 5, 4, 3);
  check_contents(ds.test, 2, 4, 3);
  CHECK(ds.test.images_path == dir.file("t10k-images-idx3-ubyte"));
  CHECK(ds.train.images_path == dir.file("train-images-idx3-ubyte.gz"));
}

TEST_CASE("idx: a colour file (N, H, W, 3) loads as planar (N, 3, H, W)", "[idx]") {
  TempDir dir;
  Bytes img;
  put_be32(img, 0x00000804);
  for (uint32_t d : {4u, 3u, 5u, 3u}) put_be32(img, d);
  for (uint32_t i = 0; i < 4 * 3 * 5 * 3; ++i) img.push_back(pixel(i / 45, i % 45));
  write_file(dir.file("train-images-idx3-ubyte"), img);
  write_file(dir.file("train-labels-idx1-ubyte"), idx_labels(4, 10));
  const ImageSet s = fovea::data::load_idx_pair(dir.file("train-images-idx3-ubyte"), dir.file("train-labels-idx1-ubyte"), 10);
  REQUIRE(s.count == 4);
  CHECK(s.channels == 3);
  CHECK(s.height == 3);
  CHECK(s.width == 5);
  REQUIRE(s.pixels.size() == 4 * 45);
  for (uint32_t i = 0; i < 4; ++i)
    for (uint32_t y = 0; y < 3; ++y)
      for (uint32_t x = 0; x < 5; ++x)
        for (uint32_t c = 0; c < 3; ++c)
          REQUIRE(s.pixels[i * 45 + c * 15 + y * 5 + x] == pixel(i, (y * 5 + x) * 3 + c));
  // A truncated colour file names its shape.
  img.resize(img.size() - 1);
  write_file(dir.file("train-images-idx3-ubyte"), img);
  CHECK_THROWS_WITH(fovea::data::parse_idx_images(img, "colour"), Contains("colour") && Contains("3x5x3"));
}

TEST_CASE("idx: channel_stats gives population mean and std of pixels / 255", "[idx]") {
  ImageSet s;
  s.count = 2;
  s.channels = 2;
  s.height = 1;
  s.width = 2;
  s.classes = 10;
  // [N=2, C=2, 1, 2]: channel 0 holds {0, 255, 255, 255}, channel 1 {51, 51, 102, 102}.
  s.pixels = {0, 255, 51, 51, 255, 255, 102, 102};
  const auto st = fovea::data::channel_stats(s);
  REQUIRE(st.mean.size() == 2);
  REQUIRE(st.std.size() == 2);
  CHECK(st.mean[0] == Approx(0.75).epsilon(1e-12));
  CHECK(st.std[0] == Approx(std::sqrt(0.1875)).epsilon(1e-12));  // sqrt(3/16)
  CHECK(st.mean[1] == Approx(0.3).epsilon(1e-12));
  CHECK(st.std[1] == Approx(0.1).epsilon(1e-12));
  ImageSet empty;
  CHECK_THROWS_AS(fovea::data::channel_stats(empty), fovea::Error);
}

TEST_CASE("idx: the real Fashion-MNIST set loads with its known size and statistics",
          "[idx][dataset]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir)) {
    FOVEA_SKIP_DEPENDENCY(dir << " is missing (tools/install-deps.sh installs dataset-fashion-mnist)");
  }
  const auto ds = fovea::data::load_mnist_dir(dir, 10);
  CHECK(ds.train.count == 60000);
  CHECK(ds.test.count == 10000);
  CHECK(ds.train.height == 28);
  CHECK(ds.train.width == 28);
  CHECK(ds.test.height == 28);
  // Every class appears, 6000 times each in train (the set is balanced).
  std::vector<size_t> per_class(10, 0);
  for (uint32_t l : ds.train.labels) ++per_class[l];
  CHECK(ds.fashion_mnist);  // recognised by its label files' CRC-32
  for (size_t c = 0; c < 10; ++c) CHECK(per_class[c] == 6000);
  const auto st = fovea::data::channel_stats(ds.train);
  REQUIRE(st.mean.size() == 1);
  CHECK(st.mean[0] == Approx(0.2860).margin(5e-4));
  CHECK(st.std[0] == Approx(0.3530).margin(5e-4));
}

// Decoding one image file to the model's input (data/image.h) and a list of
// them on several threads (data/decode_set.h): every format and bit depth
// against the pixels written, the channel rules, the three resize modes
// against a double-precision reference, and the errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "data/decode_set.h"
#include "data/image.h"
#include "support/image_files.h"
#include "util/error.h"

using namespace fovea::data;  // ImageTarget, Resize, decode_image, ...
using Catch::Contains;
using Bytes = std::vector<uint8_t>;
using fovea::test::TempDir;

namespace {

// A pattern that is never flat: value of (x, y, channel c) of image `seed`.
uint8_t pattern(uint32_t x, uint32_t y, uint32_t c, uint32_t seed = 0) {
  uint32_t v = (x * 37 + y * 91 + c * 53 + seed * 17) ^ (x * y * 7);
  return uint8_t(20 + v % 211);
}

Bytes interleaved(uint32_t w, uint32_t h, uint32_t c, uint32_t seed = 0) {
  Bytes px(size_t(w) * h * c);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t k = 0; k < c; ++k) px[(size_t(y) * w + x) * c + k] = pattern(x, y, k, seed);
  return px;
}

Bytes decode(const std::string& path, ImageTarget t) {
  const Bytes file = fovea::test::read_bytes(path);
  Bytes out(t.bytes());
  fovea::data::decode_image(file.data(), file.size(), path, t, out.data());
  return out;
}

ImageTarget target(uint32_t c, uint32_t h, uint32_t w, Resize r = Resize::crop) { return {c, h, w, r}; }

// Planar [c, h, w] value.
uint8_t at(const Bytes& planar, uint32_t h, uint32_t w, uint32_t c, uint32_t x, uint32_t y) {
  return planar[(size_t(c) * h + y) * w + x];
}

// The area average of interleaved [h, w, c] over the `f` x `f` block of
// output pixel (x, y), in double.
double block_mean(const Bytes& px, uint32_t w, uint32_t c, uint32_t k, uint32_t x, uint32_t y, uint32_t f,
                  uint32_t x0 = 0, uint32_t y0 = 0) {
  double s = 0;
  for (uint32_t dy = 0; dy < f; ++dy)
    for (uint32_t dx = 0; dx < f; ++dx) s += px[(size_t(y0 + y * f + dy) * w + x0 + x * f + dx) * c + k];
  return s / (f * f);
}

}  // namespace

TEST_CASE("image: 8-bit PNG, BMP and TGA decode exactly, grey and RGB, alpha dropped", "[image]") {
  TempDir dir("fovea_image");
  const uint32_t w = 13, h = 9;
  for (uint32_t c : {1u, 2u, 3u, 4u}) {
    const Bytes px = interleaved(w, h, c);
    // What was written, channel k of a grey image being its grey value.
    auto written = [&](uint32_t x, uint32_t y, uint32_t k) { return px[(size_t(y) * w + x) * c + (c <= 2 ? 0 : k)]; };
    for (const char* ext : {"png", "bmp", "tga"}) {
      // stb_image_write's BMPs are always RGB(A): grey comes back replicated.
      const uint32_t want_c = c <= 2 && std::string(ext) != "bmp" ? 1 : 3;
      const std::string path = dir.file("img" + std::to_string(c) + "." + ext);
      if (std::string(ext) == "png") fovea::test::write_png(path, w, h, c, px);
      if (std::string(ext) == "bmp") fovea::test::write_bmp(path, w, h, c, px);
      if (std::string(ext) == "tga") fovea::test::write_tga(path, w, h, c, px);
      const fovea::data::Picture p = [&] {
        const Bytes file = fovea::test::read_bytes(path);
        return fovea::data::decode_picture(file.data(), file.size(), path);
      }();
      INFO(path);
      REQUIRE(p.width == w);
      REQUIRE(p.height == h);
      REQUIRE(p.channels == want_c);
      for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x)
          for (uint32_t k = 0; k < want_c; ++k)
            REQUIRE(p.pixels[(size_t(y) * w + x) * want_c + k] == written(x, y, k));
      // Planar at the model's input, same size: the same values.
      const Bytes planar = decode(path, target(want_c, h, w));
      for (uint32_t k = 0; k < want_c; ++k) REQUIRE(at(planar, h, w, k, 5, 7) == written(5, 7, k));
    }
  }
}

TEST_CASE("image: grey becomes RGB by replication and RGB grey by rounded luminance", "[image]") {
  TempDir dir("fovea_image");
  const uint32_t w = 11, h = 7;
  const Bytes rgb = interleaved(w, h, 3, 4), grey = interleaved(w, h, 1, 9);
  fovea::test::write_png(dir.file("rgb.png"), w, h, 3, rgb);
  fovea::test::write_png(dir.file("grey.png"), w, h, 1, grey);
  const Bytes lum = decode(dir.file("rgb.png"), target(1, h, w));
  const Bytes rep = decode(dir.file("grey.png"), target(3, h, w));
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x) {
      const uint8_t* s = &rgb[(size_t(y) * w + x) * 3];
      const double want = std::round(0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2]);
      REQUIRE(double(at(lum, h, w, 0, x, y)) == want);
      for (uint32_t k = 0; k < 3; ++k) REQUIRE(at(rep, h, w, k, x, y) == grey[size_t(y) * w + x]);
    }
  CHECK_THROWS_WITH(decode(dir.file("rgb.png"), target(2, h, w)), Contains("rgb.png") && Contains("not 2"));
}

TEST_CASE("image: 16-bit PNG samples round to 8 bits", "[image]") {
  TempDir dir("fovea_image");
  const uint32_t w = 6, h = 5;
  for (uint32_t c : {1u, 2u, 3u, 4u}) {
    std::vector<uint16_t> px(size_t(w) * h * c);
    for (size_t i = 0; i < px.size(); ++i) px[i] = uint16_t((i * 40503u + 977u) % 65536u);
    const std::string path = dir.file("deep" + std::to_string(c) + ".png");
    fovea::test::write_png16(path, w, h, c, px);
    const uint32_t oc = c <= 2 ? 1 : 3;
    const Bytes got = decode(path, target(oc, h, w));
    INFO("channels " << c);
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < w; ++x)
        for (uint32_t k = 0; k < oc; ++k) {
          const double v = px[(size_t(y) * w + x) * c + k];
          REQUIRE(double(at(got, h, w, k, x, y)) == std::round(v * 255.0 / 65535.0));
        }
  }
}

TEST_CASE("image: JPEG decodes close to what was written and GIF gives its first frame", "[image]") {
  TempDir dir("fovea_image");
  const uint32_t w = 32, h = 24;
  Bytes smooth(size_t(w) * h * 3);
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t k = 0; k < 3; ++k) smooth[(size_t(y) * w + x) * 3 + k] = uint8_t(40 + 4 * x + 3 * y + 20 * k);
  fovea::test::write_jpg(dir.file("a.jpg"), w, h, 3, smooth, 100);
  const Bytes j = decode(dir.file("a.jpg"), target(3, h, w));
  double worst = 0;
  for (uint32_t y = 0; y < h; ++y)
    for (uint32_t x = 0; x < w; ++x)
      for (uint32_t k = 0; k < 3; ++k)
        worst = std::max(worst, std::fabs(double(at(j, h, w, k, x, y)) - smooth[(size_t(y) * w + x) * 3 + k]));
  CHECK(worst <= 8);
  const Bytes f0 = interleaved(w, h, 1, 1), f1 = interleaved(w, h, 1, 2);
  REQUIRE(f0 != f1);
  fovea::test::write_gif(dir.file("a.gif"), w, h, {f0, f1});
  CHECK(decode(dir.file("a.gif"), target(1, h, w)) == f0);
}

TEST_CASE("image: crop and pad place the image by the rules without resampling at scale 1", "[image]") {
  TempDir dir("fovea_image");
  // 40 x 28 into 28 x 28, crop: scale 1, columns 6..33.
  const Bytes wide = interleaved(40, 28, 3);
  fovea::test::write_png(dir.file("wide.png"), 40, 28, 3, wide);
  const Bytes c = decode(dir.file("wide.png"), target(3, 28, 28, Resize::crop));
  for (uint32_t y = 0; y < 28; ++y)
    for (uint32_t x = 0; x < 28; ++x)
      for (uint32_t k = 0; k < 3; ++k) REQUIRE(at(c, 28, 28, k, x, y) == wide[(size_t(y) * 40 + x + 6) * 3 + k]);
  // 28 x 14 into 28 x 28, pad: scale 1, rows 7..20, zeros around.
  const Bytes flat = interleaved(28, 14, 3);
  fovea::test::write_png(dir.file("flat.png"), 28, 14, 3, flat);
  const Bytes p = decode(dir.file("flat.png"), target(3, 28, 28, Resize::pad));
  for (uint32_t y = 0; y < 28; ++y)
    for (uint32_t x = 0; x < 28; ++x)
      for (uint32_t k = 0; k < 3; ++k)
        REQUIRE(at(p, 28, 28, k, x, y) == (y >= 7 && y < 21 ? flat[(size_t(y - 7) * 28 + x) * 3 + k] : 0));
}

TEST_CASE("image: shrinking averages areas as the double reference does, in every mode", "[image]") {
  TempDir dir("fovea_image");
  // 56 x 80 (w x h): crop to 28 x 28 halves it (scale 0.5 -> 28 x 40, rows 6..33);
  // stretch to 28 x 40 and pad to 40 x 40 halve it too.
  const uint32_t w = 56, h = 80;
  const Bytes px = interleaved(w, h, 3, 5);
  fovea::test::write_png(dir.file("big.png"), w, h, 3, px);
  struct Case {
    Resize mode;
    uint32_t oh, ow, y0, x0;  // output size; where the halved image sits (crop: its window)
  };
  for (const Case& cs : {Case{Resize::crop, 28, 28, 6, 0}, Case{Resize::stretch, 40, 28, 0, 0},
                         Case{Resize::pad, 40, 40, 0, 6}}) {
    const Bytes got = decode(dir.file("big.png"), target(3, cs.oh, cs.ow, cs.mode));
    INFO("mode " << fovea::data::resize_name(cs.mode));
    double worst = 0;
    for (uint32_t y = 0; y < cs.oh; ++y)
      for (uint32_t x = 0; x < cs.ow; ++x)
        for (uint32_t k = 0; k < 3; ++k) {
          double want = 0;
          if (cs.mode == Resize::crop) {
            want = block_mean(px, w, 3, k, x, y + cs.y0, 2);
          } else if (cs.mode == Resize::stretch) {
            want = block_mean(px, w, 3, k, x, y, 2);
          } else if (x >= cs.x0 && x < cs.x0 + 28) {
            want = block_mean(px, w, 3, k, x - cs.x0, y, 2);
          }
          worst = std::max(worst, std::fabs(double(at(got, cs.oh, cs.ow, k, x, y)) - want));
        }
    CHECK(worst <= 1.0);  // u8 rounding of a float sum
  }
  // A shrink by 8/3 (not a whole factor: stb_image_resize's box filter)
  // against the exact area average, on a smooth image (the filter's 1-pixel
  // ramps differ from exact coverage by a fraction of a step there).
  const uint32_t sw = 56, sh = 40, tw = 21, th = 15;
  Bytes smooth(size_t(sw) * sh);
  for (uint32_t y = 0; y < sh; ++y)
    for (uint32_t x = 0; x < sw; ++x) smooth[size_t(y) * sw + x] = uint8_t(30 + 3 * x + 2 * y);
  fovea::test::write_png(dir.file("smooth.png"), sw, sh, 1, smooth);
  const Bytes odd = decode(dir.file("smooth.png"), target(1, th, tw, Resize::stretch));
  auto coverage = [](double lo, double hi, uint32_t i) { return std::max(0.0, std::min(hi, i + 1.0) - std::max(lo, double(i))); };
  double worst_odd = 0;
  for (uint32_t y = 0; y < th; ++y)
    for (uint32_t x = 0; x < tw; ++x) {
      const double x0 = x * double(sw) / tw, x1 = (x + 1) * double(sw) / tw;
      const double y0 = y * double(sh) / th, y1 = (y + 1) * double(sh) / th;
      double sum = 0, area = 0;
      for (uint32_t sy = uint32_t(y0); sy < std::min(sh, uint32_t(std::ceil(y1))); ++sy)
        for (uint32_t sx = uint32_t(x0); sx < std::min(sw, uint32_t(std::ceil(x1))); ++sx) {
          const double a = coverage(x0, x1, sx) * coverage(y0, y1, sy);
          sum += a * smooth[size_t(sy) * sw + sx];
          area += a;
        }
      worst_odd = std::max(worst_odd, std::fabs(double(odd[size_t(y) * tw + x]) - sum / area));
    }
  CHECK(worst_odd <= 2.0);
  // Enlarging interpolates: every value within the neighbours' range, the
  // result not constant.
  const Bytes small = interleaved(3, 2, 1);
  fovea::test::write_png(dir.file("small.png"), 3, 2, 1, small);
  const Bytes up = decode(dir.file("small.png"), target(1, 8, 12, Resize::stretch));
  const auto [lo, hi] = std::minmax_element(small.begin(), small.end());
  for (uint8_t v : up) REQUIRE((v >= *lo && v <= *hi));
  CHECK(*std::max_element(up.begin(), up.end()) > *std::min_element(up.begin(), up.end()));
}

TEST_CASE("image: bad files give one message naming the file", "[image]") {
  TempDir dir("fovea_image");
  fovea::test::write_png(dir.file("good.png"), 20, 20, 3, interleaved(20, 20, 3));
  Bytes good = fovea::test::read_bytes(dir.file("good.png"));
  Bytes cut(good.begin(), good.begin() + long(good.size() / 2));
  fovea::test::write_bytes(dir.file("cut.png"), cut);
  fovea::test::write_bytes(dir.file("text.png"), Bytes{'h', 'e', 'l', 'l', 'o', '\n'});
  fovea::test::write_bytes(dir.file("empty.png"), {});
  Bytes huge = good;  // IHDR width 20000
  huge[16] = 0, huge[17] = 0, huge[18] = 0x4E, huge[19] = 0x20;
  fovea::test::write_bytes(dir.file("huge.png"), huge);
  for (const char* name : {"cut.png", "text.png", "empty.png", "huge.png"}) {
    const std::string path = dir.file(name);
    INFO(name);
    CHECK_THROWS_WITH(decode(path, target(3, 8, 8)), Contains(path));
  }
  CHECK_THROWS_WITH(decode(dir.file("text.png"), target(3, 8, 8)), Contains("not an image Fovea reads"));
  CHECK_THROWS_WITH(decode(dir.file("empty.png"), target(3, 8, 8)), Contains("empty"));
  // An 18-byte TGA header (RLE true colour) claiming 4096 x 4096 pixels and
  // nothing after it: stb would read zeros past the end into 16 megapixels.
  Bytes tga = {0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x10, 0x00, 0x10, 24, 0x20};
  fovea::test::write_bytes(dir.file("header.tga"), tga);
  CHECK_THROWS_WITH(decode(dir.file("header.tga"), target(3, 8, 8)),
                    Contains(dir.file("header.tga")) && Contains("4096x4096") && Contains("18-byte file"));
  // A JPEG whose first Huffman table counts 16 x 17 = 272 codes: stb would
  // write past its 257-entry table (found by fuzzing); refused first.
  fovea::test::write_jpg(dir.file("good.jpg"), 16, 16, 3, interleaved(16, 16, 3));
  Bytes jpg = fovea::test::read_bytes(dir.file("good.jpg"));
  size_t dht = 2;
  while (dht + 1 < jpg.size() && !(jpg[dht] == 0xFF && jpg[dht + 1] == 0xC4)) ++dht;
  REQUIRE(dht + 21 < jpg.size());
  for (size_t i = 0; i < 16; ++i) jpg[dht + 5 + i] = 17;
  fovea::test::write_bytes(dir.file("dht.jpg"), jpg);
  CHECK_THROWS_WITH(decode(dir.file("dht.jpg"), target(3, 8, 8)),
                    Contains(dir.file("dht.jpg")) && Contains("Huffman table of 272 codes"));
  // The same counts behind a DHT segment whose length field (3) ends it
  // after the class byte: stb still reads its 16 counts from the bytes that
  // follow (found by fuzzing in CI).
  jpg[dht + 2] = 0;
  jpg[dht + 3] = 3;
  fovea::test::write_bytes(dir.file("short_dht.jpg"), jpg);
  CHECK_THROWS_WITH(decode(dir.file("short_dht.jpg"), target(3, 8, 8)),
                    Contains(dir.file("short_dht.jpg")) && Contains("Huffman table of 272 codes"));
  // And behind a start-of-image marker after 0xFF fill bytes, which stb
  // accepts as a JPEG.
  jpg.insert(jpg.begin(), 7, uint8_t(0xFF));
  fovea::test::write_bytes(dir.file("fill.jpg"), jpg);
  CHECK_THROWS_WITH(decode(dir.file("fill.jpg"), target(3, 8, 8)),
                    Contains(dir.file("fill.jpg")) && Contains("Huffman table of 272 codes"));
  CHECK(fovea::data::is_image_name("a/B.JPEG"));
  CHECK(fovea::data::is_image_name("x.gif"));
  CHECK_FALSE(fovea::data::is_image_name("notes.txt"));
  CHECK_FALSE(fovea::data::is_image_name("png"));
  CHECK_THROWS_WITH(fovea::data::parse_resize("zoom"), Contains("--resize") && Contains("zoom"));
}

TEST_CASE("image: decoding on 1 or 4 threads gives the same bytes and finds the first bad file", "[image]") {
  TempDir dir("fovea_image");
  fovea::data::DecodeJob job;
  job.source = dir.file("set");
  job.target = target(3, 16, 12, Resize::crop);
  for (uint32_t i = 0; i < 41; ++i) {
    const uint32_t w = 10 + i % 9, h = 14 + i % 5;  // sizes vary: every image is resized
    const std::string path = dir.file("img" + std::to_string(i) + ".png");
    fovea::test::write_png(path, w, h, 1 + 2 * (i % 2), interleaved(w, h, 1 + 2 * (i % 2), i));
    job.files.push_back(path);
  }
  fovea::data::DecodeOptions one, four;
  one.threads = 1, four.threads = 4;
  one.cache = four.cache = false;
  const fovea::data::Decoded a = fovea::data::decode_files(job, one), b = fovea::data::decode_files(job, four);
  REQUIRE(a.pixels.size() == 41 * job.target.bytes());
  CHECK(a.pixels == b.pixels);
  size_t nonzero = 0;
  for (uint8_t v : a.pixels) nonzero += v != 0;
  CHECK(nonzero > a.pixels.size() * 9 / 10);
  // Two bad files: without keep_going the first in file order is reported
  // whatever the thread count; with it both are.
  fovea::test::write_bytes(job.files[30], {1, 2, 3});
  fovea::test::write_bytes(job.files[7], {4, 5, 6});
  for (unsigned threads : {1u, 3u, 8u}) {
    fovea::data::DecodeOptions o;
    o.threads = threads;
    o.cache = false;
    const fovea::data::Decoded d = fovea::data::decode_files(job, o);
    INFO(threads << " threads");
    const auto bad = std::find_if(d.errors.begin(), d.errors.end(), [](const std::string& e) { return !e.empty(); });
    REQUIRE(bad != d.errors.end());
    CHECK(bad - d.errors.begin() == 7);
    CHECK_THAT(*bad, Contains("img7.png"));
    o.keep_going = true;
    const fovea::data::Decoded all = fovea::data::decode_files(job, o);
    CHECK(all.complete);
    CHECK_FALSE(all.errors[7].empty());
    CHECK_FALSE(all.errors[30].empty());
    CHECK(all.errors[8].empty());
    CHECK(std::equal(all.pixels.begin(), all.pixels.begin() + long(7 * job.target.bytes()), a.pixels.begin()));
  }
}

TEST_CASE("image: a set larger than the memory it may take is refused before decoding, with the figure", "[image]") {
  TempDir dir("fovea_image");
  fovea::data::DecodeJob job;
  job.source = dir.file("set");
  job.target = target(3, 1000, 1000);
  for (int i = 0; i < 4; ++i) job.files.push_back(dir.file("absent" + std::to_string(i) + ".png"));
  fovea::data::DecodeOptions o;
  o.memory_limit = 10'000'000;
  o.cache = false;
  CHECK_THROWS_WITH(fovea::data::decode_files(job, o),
                    Contains(job.source) && Contains("0.01 GiB") && Contains("4 images of 3x1000x1000"));
  // Within the limit, the absent files are ordinary failures.
  o.memory_limit = 100'000'000;
  const fovea::data::Decoded d = fovea::data::decode_files(job, o);
  CHECK_THAT(d.errors[0], Contains("absent0.png") && Contains("cannot open"));
}

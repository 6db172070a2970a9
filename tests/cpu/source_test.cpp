// Data sources (data/source.h, data/manifest.h, the cache of
// data/decode_set.h): CSV parsing, class folders, manifests, IDX, what each
// bad input says, and the decoded-images cache (hit, invalidation, damage).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"
#include "data/manifest.h"
#include "data/source.h"
#include "support/image_files.h"
#include "util/error.h"

namespace fs = std::filesystem;
using Catch::Contains;
using fovea::data::open_source;
using fovea::data::SourceOptions;
using fovea::test::TempDir;
using Bytes = std::vector<uint8_t>;

namespace {

void text(const std::string& path, const std::string& s) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << s;
}

// A w x h image, value depending on (seed, position, channel), never flat.
Bytes image(uint32_t w, uint32_t h, uint32_t c, uint32_t seed) {
  Bytes px(size_t(w) * h * c);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(30 + (i * 13 + seed * 29 + (i / c) * (seed % 7)) % 200);
  return px;
}

void png(const std::string& path, uint32_t seed, uint32_t w = 6, uint32_t h = 5, uint32_t c = 1) {
  fs::create_directories(fs::path(path).parent_path());
  fovea::test::write_png(path, w, h, c, image(w, h, c, seed));
}

SourceOptions opts(uint32_t c, uint32_t h, uint32_t w, uint32_t classes, const fs::path& cache) {
  SourceOptions o;
  o.channels = c, o.height = h, o.width = w, o.classes = classes;
  o.decode.cache_dir = cache;
  o.decode.threads = 2;
  return o;
}

fovea::data::Manifest parse(const std::string& s) { return fovea::data::parse_manifest(s, "m.csv"); }

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}

}  // namespace

TEST_CASE("manifest: header, quoting, CRLF, BOM and blank lines", "[source]") {
  const auto m = parse("\xEF\xBB\xBFid,split,label,path\r\n1,test,cat,a.png\r\n\r\n2,train,\"dog, big\",\"b \"\"q\"\".png\"\n"
                       "3,val,cat,\"multi\nline.png\"\n");
  CHECK(m.has_split);
  REQUIRE(m.rows.size() == 3);
  CHECK(m.rows[0].path == "a.png");
  CHECK(m.rows[0].split == "test");
  CHECK(m.rows[0].line == 2);
  CHECK(m.rows[1].label == "dog, big");
  CHECK(m.rows[1].path == "b \"q\".png");
  CHECK(m.rows[1].line == 4);
  CHECK(m.rows[2].path == "multi\nline.png");
  CHECK(m.rows[2].line == 5);
  const auto plain = parse("path,label\nx.png,3\n");
  CHECK_FALSE(plain.has_split);
  CHECK(plain.rows[0].split == "train");
}

TEST_CASE("manifest: each malformed manifest names its file, line and fault", "[source]") {
  CHECK_THROWS_WITH(parse(""), Contains("m.csv") && Contains("empty"));
  CHECK_THROWS_WITH(parse("file,class\na,b\n"), Contains("m.csv: line 1") && Contains("path and label"));
  CHECK_THROWS_WITH(parse("path,label\n"), Contains("no rows"));
  CHECK_THROWS_WITH(parse("path,label\na.png,1\nb.png,2,extra\n"), Contains("line 3") && Contains("3 fields, the header has 2"));
  CHECK_THROWS_WITH(parse("path,label,split\na.png,1,holdout\n"), Contains("line 2") && Contains("'holdout'"));
  CHECK_THROWS_WITH(parse("path,label\na.png,\n"), Contains("line 2") && Contains("label is empty"));
  CHECK_THROWS_WITH(parse("path,label\n,3\n"), Contains("line 2") && Contains("path is empty"));
  CHECK_THROWS_WITH(parse("path,label\n\"a.png,3\n"), Contains("line 2") && Contains("not closed"));
  CHECK_THROWS_WITH(parse("path,label,path\na,b,c\n"), Contains("'path' twice"));
  CHECK_THROWS_WITH(parse("path,label\na\"b.png,3\n"), Contains("line 2") && Contains("double quote"));
}

TEST_CASE("manifest: integer labels are labels; names sort bytewise; unknown test classes fail", "[source]") {
  auto numeric = fovea::data::manifest_labels(parse("path,label\na,3\nb,0\n"), "m.csv", 10);
  CHECK(numeric.numeric);
  CHECK(numeric.labels == std::vector<uint32_t>{3, 0});
  CHECK(numeric.classes.size() == 10);
  CHECK_THROWS_WITH(fovea::data::manifest_labels(parse("path,label\na,3\nb,10\n"), "m.csv", 10),
                    Contains("line 3") && Contains("label 10") && Contains("10 classes"));
  // Without a class count, the largest label sets it: at most 16,384 (a
  // label of 2^31 - 1 built 2^31 class names before; found by fuzzing).
  CHECK(fovea::data::manifest_labels(parse("path,label\na,16383\n"), "m.csv", 0).classes.size() == 16384);
  CHECK_THROWS_WITH(fovea::data::manifest_labels(parse("path,label\na,1\nb,2147483647\n"), "m.csv", 0),
                    Contains("line 3") && Contains("label 2147483647") && Contains("16384"));
  auto named = fovea::data::manifest_labels(parse("path,label,split\na,b,train\nb,B,train\nc,a,train\nd,b,test\n"),
                                            "m.csv", 0);
  CHECK_FALSE(named.numeric);
  CHECK(named.classes == std::vector<std::string>{"B", "a", "b"});
  CHECK(named.labels == std::vector<uint32_t>{2, 0, 1, 2});
  CHECK_THROWS_WITH(fovea::data::manifest_labels(parse("path,label,split\na,cat,train\nb,dog,val\n"), "m.csv", 0),
                    Contains("line 3") && Contains("'dog'") && Contains("val row") && Contains("no training row"));
}

TEST_CASE("source: class folders give sorted classes, bytewise file order and optional splits", "[source]") {
  TempDir dir("fovea_source");
  const fs::path root = dir.path / "shapes";
  png((root / "train/b/2.png").string(), 1);
  png((root / "train/b/10.png").string(), 2);
  png((root / "train/a/z.png").string(), 3);
  png((root / "train/a/sub/y.png").string(), 4);
  text((root / "train/a/notes.txt").string(), "not an image");
  png((root / "test/b/t.png").string(), 5);
  const fovea::data::Source s = open_source(root.string(), opts(1, 5, 6, 2, dir.path / "cache"));
  CHECK(s.kind == "folders");
  CHECK(s.classes == std::vector<std::string>{"a", "b"});
  REQUIRE(s.train.count == 4);
  CHECK(s.train.files == std::vector<std::string>{(root / "train/a/sub/y.png").string(), (root / "train/a/z.png").string(),
                                                  (root / "train/b/10.png").string(), (root / "train/b/2.png").string()});
  CHECK(s.train.labels == std::vector<uint32_t>{0, 0, 1, 1});
  CHECK(Bytes(s.train.pixels.begin(), s.train.pixels.begin() + 30) == image(6, 5, 1, 4));
  REQUIRE(s.test);
  CHECK(s.test->labels == std::vector<uint32_t>{1});
  CHECK_FALSE(s.val);
  CHECK_THAT(s.describe(), Contains("2 classes") && Contains("4 train") && Contains("1 test"));
}

TEST_CASE("source: each bad folder layout names the folder and the fault", "[source]") {
  TempDir dir("fovea_source");
  const fs::path root = dir.path / "d";
  const auto o = opts(1, 5, 6, 2, dir.path / "cache");
  fs::create_directories(root / "train");
  CHECK_THROWS_WITH(open_source(root.string(), o), Contains("train") && Contains("no class folders"));
  png((root / "train/a/1.png").string(), 1);
  fs::create_directories(root / "train/b");
  CHECK_THROWS_WITH(open_source(root.string(), o), Contains((root / "train/b").string()) && Contains("empty class folder"));
  png((root / "train/b/1.png").string(), 2);
  png((root / "test/c/1.png").string(), 3);
  CHECK_THROWS_WITH(open_source(root.string(), o), Contains((root / "test/c").string()) && Contains("not among the training classes"));
  fs::remove_all(root / "test");
  CHECK_THROWS_WITH(open_source(root.string(), opts(1, 5, 6, 3, dir.path / "cache")),
                    Contains("2 classes") && Contains("3 outputs"));
  CHECK_THROWS_WITH(open_source(root.string(), opts(2, 5, 6, 2, dir.path / "cache")),
                    Contains("2 channels") && Contains("1 (grey) or 3 (RGB)"));
  text((root / "train/b/2.png").string(), "garbage");
  CHECK_THROWS_WITH(open_source(root.string(), o), Contains((root / "train/b/2.png").string()) && Contains("not an image"));
  // --skip-bad-images: the rest, and the bad file listed.
  SourceOptions skip = o;
  skip.skip_bad = true;
  const fovea::data::Source s = open_source(root.string(), skip);
  CHECK(s.train.count == 2);
  REQUIRE(s.skipped.size() == 1);
  CHECK_THAT(s.skipped[0], Contains("2.png"));
  // Not a source at all.
  fs::create_directories(dir.path / "empty");
  CHECK_THROWS_WITH(open_source((dir.path / "empty").string(), o),
                    Contains("not a data source") && Contains("train-images-idx3-ubyte") &&
                        Contains("train/<class>/") && Contains(".csv manifest"));
  CHECK_THROWS_WITH(open_source((dir.path / "nowhere").string(), o), Contains("nowhere") && Contains("no such file"));
}

TEST_CASE("source: a manifest resolves paths from its folder and names the row of each fault", "[source]") {
  TempDir dir("fovea_source");
  const fs::path root = dir.path / "m";
  for (int i = 0; i < 4; ++i) png((root / "img" / (std::to_string(i) + ".png")).string(), uint32_t(i), 6, 5, 3);
  const std::string csv = (root / "data.csv").string();
  text(csv, "path,label,split\nimg/2.png,cat,train\nimg/0.png,dog,train\nimg/1.png,cat,test\nimg/3.png,dog,val\n");
  const auto o = opts(3, 5, 6, 2, dir.path / "cache");
  const fovea::data::Source s = open_source(csv, o);
  CHECK(s.kind == "csv");
  CHECK(s.classes == std::vector<std::string>{"cat", "dog"});
  CHECK(s.train.labels == std::vector<uint32_t>{0, 1});
  CHECK(s.train.files[0] == (root / "img/2.png").string());
  REQUIRE(s.val);
  REQUIRE(s.test);
  CHECK(s.val->count == 1);
  CHECK(s.test->count == 1);
  // Planar RGB of image 2.
  const Bytes px = image(6, 5, 3, 2);
  for (uint32_t c = 0; c < 3; ++c) CHECK(s.train.pixels[c * 30 + 7] == px[7 * 3 + c]);

  text(csv, "path,label\nimg/0.png,cat\nimg/9.png,dog\n");
  CHECK_THROWS_WITH(open_source(csv, o), Contains(csv + ": line 3") && Contains("9.png") && Contains("cannot open"));
  text(csv, "path,label\nimg/0.png,cat\n./img/../img/0.png,dog\n");
  CHECK_THROWS_WITH(open_source(csv, o), Contains("line 3") && Contains("repeats the one of line 2"));
  text(csv, "path,label\nimg/0.png,cat\nimg/1.png,dog\nimg/2.png,bird\n");
  CHECK_THROWS_WITH(open_source(csv, o), Contains("3 classes") && Contains("2 outputs"));
  text(csv, "path,label\nimg/0.png,0\nimg/1.png,1\n");
  SourceOptions named = o;
  text((root / "names.txt").string(), "cat\ndog\n");
  named.class_names = (root / "names.txt").string();
  CHECK(open_source(csv, named).classes == std::vector<std::string>{"cat", "dog"});
  text((root / "names.txt").string(), "cat\n");
  CHECK_THROWS_WITH(open_source(csv, named), Contains("names.txt") && Contains("1 class names") && Contains("2 classes"));
  CHECK_THROWS_WITH(open_source((root / "absent.csv").string(), o), Contains("absent.csv"));
}

TEST_CASE("source: a manifest of an IDX set's images as PNGs gives the IDX pixels and labels", "[source]") {
  TempDir dir("fovea_source");
  const uint32_t n = 7, h = 5, w = 4;
  Bytes img, lab;
  put_be32(img, 0x803), put_be32(img, n), put_be32(img, h), put_be32(img, w);
  put_be32(lab, 0x801), put_be32(lab, n);
  std::string csv = "path,label\n";
  for (uint32_t i = 0; i < n; ++i) {
    const Bytes px = image(w, h, 1, i + 11);
    img.insert(img.end(), px.begin(), px.end());
    lab.push_back(uint8_t(i % 3));
    fovea::test::write_png(dir.file("p" + std::to_string(i) + ".png"), w, h, 1, px);
    csv += "p" + std::to_string(i) + ".png," + std::to_string(i % 3) + "\n";
  }
  fs::create_directories(dir.path / "idx");
  for (const char* split : {"train", "t10k"}) {
    fovea::test::write_bytes((dir.path / "idx" / (std::string(split) + "-images-idx3-ubyte")).string(), img);
    fovea::test::write_bytes((dir.path / "idx" / (std::string(split) + "-labels-idx1-ubyte")).string(), lab);
  }
  text(dir.file("all.csv"), csv);
  const auto o = opts(1, h, w, 3, dir.path / "cache");
  const fovea::data::Source a = open_source((dir.path / "idx").string(), o), b = open_source(dir.file("all.csv"), o);
  CHECK(a.kind == "idx");
  CHECK(a.train.pixels == b.train.pixels);
  CHECK(a.train.labels == b.train.labels);
  CHECK(a.classes == b.classes);  // "0", "1", "2": neither names them
  CHECK_FALSE(b.test);
  CHECK_THROWS_WITH(open_source((dir.path / "idx").string(), opts(1, 6, w, 3, dir.path / "cache")),
                    Contains("[1, 6, 4]") && Contains("[1, 5, 4]"));
}

TEST_CASE("source: the cache is hit, invalidated by a changed or added file, and never trusted when damaged",
          "[source]") {
  TempDir dir("fovea_source");
  const fs::path root = dir.path / "d", cache = dir.path / "cache";
  for (int i = 0; i < 5; ++i) png((root / "train" / (i % 2 ? "x" : "y") / (std::to_string(i) + ".png")).string(), uint32_t(i), 9, 7, 3);
  SourceOptions o = opts(3, 6, 6, 2, cache);
  const fovea::data::Source first = open_source(root.string(), o);
  CHECK_FALSE(first.from_cache);
  REQUIRE(fs::exists(first.cache_file));
  const fovea::data::Source second = open_source(root.string(), o);
  CHECK(second.from_cache);
  CHECK(second.train.pixels == first.train.pixels);
  // Another size or resize mode is another cache file.
  SourceOptions pad = o;
  pad.resize = fovea::data::Resize::pad;
  CHECK_FALSE(open_source(root.string(), pad).from_cache);
  CHECK(open_source(root.string(), pad).from_cache);
  // A changed file (new content and modification time).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  png((root / "train/x/1.png").string(), 99, 9, 7, 3);
  const fovea::data::Source changed = open_source(root.string(), o);
  CHECK_FALSE(changed.from_cache);
  CHECK(changed.train.pixels != first.train.pixels);
  CHECK(open_source(root.string(), o).from_cache);
  // An added file.
  png((root / "train/x/7.png").string(), 7, 9, 7, 3);
  const fovea::data::Source added = open_source(root.string(), o);
  CHECK_FALSE(added.from_cache);
  CHECK(added.train.count == 6);
  // Truncated, then one flipped byte: ignored, decoded again, rewritten.
  const Bytes good = fovea::test::read_bytes(added.cache_file);
  fovea::test::write_bytes(added.cache_file, Bytes(good.begin(), good.end() - 9));
  const fovea::data::Source after_cut = open_source(root.string(), o);
  CHECK_FALSE(after_cut.from_cache);
  CHECK(after_cut.train.pixels == added.train.pixels);
  Bytes flipped = fovea::test::read_bytes(added.cache_file);
  REQUIRE(flipped == good);
  flipped[flipped.size() - 20] ^= 0x40;
  fovea::test::write_bytes(added.cache_file, flipped);
  const fovea::data::Source after_flip = open_source(root.string(), o);
  CHECK_FALSE(after_flip.from_cache);
  CHECK(after_flip.train.pixels == added.train.pixels);
  // read_cache itself: every prefix of a good file is refused.
  fovea::data::Decoded out;
  const std::string key = fovea::data::cache_key({root.string() + "#train", added.train.files, {3, 6, 6}});
  CHECK(fovea::data::read_cache(good.data(), good.size(), key, 6, 108, out));
  for (size_t cut : {size_t(0), size_t(15), size_t(40), good.size() / 2, good.size() - 1})
    CHECK_FALSE(fovea::data::read_cache(good.data(), cut, key, 6, 108, out));
  CHECK_FALSE(fovea::data::read_cache(good.data(), good.size(), key + "x", 6, 108, out));
  // --no-cache: neither read nor written.
  fs::remove_all(cache);
  o.decode.cache = false;
  CHECK_FALSE(open_source(root.string(), o).from_cache);
  CHECK_FALSE(fs::exists(cache));
}

TEST_CASE("source: class names from a file, and the IDX shape taken from the files when no model is given",
          "[source]") {
  TempDir dir("fovea_source");
  text(dir.file("n.txt"), "a\r\nb\n");
  CHECK(fovea::data::read_class_names(dir.file("n.txt"), 2) == std::vector<std::string>{"a", "b"});
  text(dir.file("n.txt"), "a\na\n");
  CHECK_THROWS_WITH(fovea::data::read_class_names(dir.file("n.txt"), 2), Contains("line 2") && Contains("repeats"));
  text(dir.file("n.txt"), "a\n\nb\n");
  CHECK_THROWS_WITH(fovea::data::read_class_names(dir.file("n.txt"), 3), Contains("line 2") && Contains("empty"));
  // Without a model shape, image files take the first training image's.
  const fs::path root = dir.path / "f";
  png((root / "train/a/1.png").string(), 1, 9, 4, 3);
  png((root / "train/a/2.png").string(), 2, 12, 8, 1);
  SourceOptions o;
  o.decode.cache = false;
  const fovea::data::Source s = open_source(root.string(), o);
  CHECK(s.train.channels == 3);
  CHECK(s.train.height == 4);
  CHECK(s.train.width == 9);
  CHECK(s.train.count == 2);
  // Folders for predict.
  const auto files = fovea::data::image_files((root / "train/a").string());
  CHECK(files == std::vector<std::string>{(root / "train/a/1.png").string(), (root / "train/a/2.png").string()});
  CHECK_THROWS_WITH(fovea::data::image_files((root / "nothing").string()), Contains("no such file"));
}

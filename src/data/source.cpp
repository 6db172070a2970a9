#include "data/source.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/manifest.h"
#include "util/error.h"

namespace fovea::data {
namespace fs = std::filesystem;

namespace {

// One split's files before decoding: paths, labels, and per file where it
// came from for messages ("data.csv: line 7: "; empty for folders).
struct Listing {
  std::vector<std::string> files, where;
  std::vector<uint32_t> labels;
};

const char* kNoSource =
    ": not a data source: expected IDX files named train-images-idx3-ubyte, train-labels-idx1-ubyte, "
    "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz), a folder with train/<class>/ "
    "subfolders, or a .csv manifest";

bool ends_with_csv(const std::string& p) {
  if (p.size() < 4) return false;
  std::string ext = p.substr(p.size() - 4);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".csv";
}

std::vector<std::string> sorted_names(const fs::path& dir, bool dirs) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (dirs ? e.is_directory(ec) : (e.is_regular_file(ec) && is_image_name(name))) out.push_back(name);
  }
  if (ec) throw Error(dir.string() + ": cannot list the folder (" + ec.message() + ")");
  std::sort(out.begin(), out.end());
  return out;
}

// PATH/<split>/<class>/...: every image file under each class folder, in
// bytewise order of their paths below the split's folder. `classes` empty:
// this split's class folders make them (training); else a class folder
// that is not among them is an error.
Listing list_split(const fs::path& dir, std::vector<std::string>& classes) {
  const std::vector<std::string> names = sorted_names(dir, true);
  if (names.empty()) throw Error(dir.string() + ": holds no class folders (expected " + dir.string() + "/<class>/<images>)");
  const bool training = classes.empty();
  if (training) classes = names;
  std::vector<std::pair<std::string, uint32_t>> files;  // path below dir, label
  for (const std::string& cls : names) {
    const auto it = std::find(classes.begin(), classes.end(), cls);
    if (it == classes.end())
      throw Error((dir / cls).string() + ": class '" + cls + "' is not among the training classes (" +
                  std::to_string(classes.size()) + " folders in " + (dir.parent_path() / "train").string() + ")");
    const uint32_t label = uint32_t(it - classes.begin());
    size_t found = 0;
    std::error_code ec;
    for (auto r = fs::recursive_directory_iterator(dir / cls, fs::directory_options::follow_directory_symlink, ec);
         !ec && r != fs::recursive_directory_iterator(); r.increment(ec)) {
      const std::string name = r->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (r->is_directory(ec)) r.disable_recursion_pending();
        continue;
      }
      if (!r->is_regular_file(ec) || !is_image_name(name)) continue;
      files.emplace_back(r->path().lexically_relative(dir).generic_string(), label);
      ++found;
    }
    if (ec) throw Error((dir / cls).string() + ": cannot list the folder (" + ec.message() + ")");
    if (found == 0)
      throw Error((dir / cls).string() + ": an empty class folder (no .png, .jpg, .jpeg, .bmp, .tga or .gif files)");
  }
  std::sort(files.begin(), files.end());
  Listing l;
  for (const auto& [rel, label] : files) {
    l.files.push_back((dir / rel).string());
    l.labels.push_back(label);
    l.where.emplace_back();
  }
  return l;
}

// A manifest's rows by split, with its labels and class names.
void list_manifest(const std::string& path, uint32_t model_classes, std::map<std::string, Listing>& splits,
                   std::vector<std::string>& classes, bool& numeric) {
  const std::vector<uint8_t> bytes = read_file_maybe_gzip(path);
  const Manifest m = parse_manifest(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
  const ManifestLabels ml = manifest_labels(m, path, model_classes);
  classes = ml.classes;
  numeric = ml.numeric;
  const fs::path base = fs::path(path).parent_path();
  std::map<std::string, uint64_t> seen;  // normalised path -> line
  for (size_t i = 0; i < m.rows.size(); ++i) {
    const ManifestRow& r = m.rows[i];
    const fs::path p = fs::path(r.path).is_absolute() ? fs::path(r.path) : base / r.path;
    const std::string norm = p.lexically_normal().string();
    const auto [it, fresh] = seen.emplace(norm, r.line);
    if (!fresh)
      throw Error(path + ": line " + std::to_string(r.line) + ": path '" + r.path + "' repeats the one of line " +
                  std::to_string(it->second));
    Listing& l = splits[r.split];
    l.files.push_back(p.string());
    l.labels.push_back(ml.labels[i]);
    l.where.push_back(path + ": line " + std::to_string(r.line) + ": ");
  }
  if (!splits.count("train")) throw Error(path + ": no row is training data (split train)");
}

// Decodes one split's files into an image set; failed files are left out
// (listed in `skipped`) with skip_bad, else the first one is the error.
ImageSet decode_split(const std::string& source, const std::string& split, const Listing& l, const ImageTarget& t,
                      const SourceOptions& o, Source& out) {
  DecodeJob job{source + "#" + split, l.files, t};
  DecodeOptions d = o.decode;
  d.keep_going = o.skip_bad;
  const auto t0 = std::chrono::steady_clock::now();
  Decoded dec = decode_files(job, d);
  if (!dec.from_cache) {
    out.decoded += l.files.size();
    out.decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  ImageSet set;
  set.images_path = source;
  set.channels = t.channels;
  set.height = t.height;
  set.width = t.width;
  set.classes = uint32_t(out.classes.size());
  const size_t bytes = t.bytes();
  size_t kept = 0;
  for (size_t i = 0; i < l.files.size(); ++i) {
    if (!dec.errors[i].empty()) {
      if (!o.skip_bad) throw Error(l.where[i] + dec.errors[i]);
      out.skipped.push_back(l.where[i] + dec.errors[i]);
      continue;
    }
    if (kept != i) std::copy_n(dec.pixels.begin() + int64_t(i * bytes), bytes, dec.pixels.begin() + int64_t(kept * bytes));
    set.labels.push_back(l.labels[i]);
    set.files.push_back(l.files[i]);
    ++kept;
  }
  dec.pixels.resize(kept * bytes);
  set.pixels = std::move(dec.pixels);
  set.count = uint32_t(kept);
  out.from_cache = out.from_cache || dec.from_cache;
  if (!dec.cache_file.empty()) out.cache_file = dec.cache_file;
  if (kept == 0) throw Error(source + ": every " + split + " image failed to decode (--skip-bad-images left none)");
  return set;
}

std::string model_name(const SourceOptions& o) { return o.model.empty() ? "the model" : "model " + o.model; }

Source open_idx(const std::string& path, const SourceOptions& o) {
  Source s;
  s.kind = "idx";
  Dataset ds = load_mnist_dir(path, o.classes);
  if (o.channels != 0 && (ds.train.channels != o.channels || ds.train.height != o.height || ds.train.width != o.width))
    throw Error(model_name(o) + ": input [" + std::to_string(o.channels) + ", " + std::to_string(o.height) + ", " +
                std::to_string(o.width) + "] does not fit the data in " + path + " ([" +
                std::to_string(ds.train.channels) + ", " + std::to_string(ds.train.height) + ", " +
                std::to_string(ds.train.width) + "])");
  uint32_t k = o.classes;
  if (k == 0)
    for (const auto* set : {&ds.train, &ds.test})
      for (uint32_t l : set->labels) k = std::max(k, l + 1);
  if (!o.class_names.empty()) {
    s.classes = read_class_names(o.class_names, k);
  } else if (ds.fashion_mnist && k == 10) {
    s.classes = fashion_mnist_classes();
  } else {
    for (uint32_t c = 0; c < k; ++c) s.classes.push_back(std::to_string(c));
  }
  s.train = std::move(ds.train);
  s.test = std::move(ds.test);
  return s;
}

// The target shape of image files: the model's input, or (channels 0) the
// first training image's.
ImageTarget target_of(const Listing& train, const SourceOptions& o, const std::string& where) {
  ImageTarget t;
  t.resize = o.resize;
  if (o.channels != 0) {
    if (o.channels != 1 && o.channels != 3)
      throw Error(model_name(o) + ": input has " + std::to_string(o.channels) + " channels; image files (" + where +
                  ") decode to 1 (grey) or 3 (RGB)");
    t.channels = o.channels, t.height = o.height, t.width = o.width;
    return t;
  }
  std::ifstream f(train.files.front(), std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!f.good() && !f.eof()) throw Error(train.where.front() + train.files.front() + ": cannot read the file");
  const Picture p = decode_picture(bytes.data(), bytes.size(), train.where.front() + train.files.front());
  t.channels = p.channels, t.height = p.height, t.width = p.width;
  return t;
}

}  // namespace

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::vector<std::string> read_class_names(const std::string& path, uint32_t classes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("--class-names " + path + ": cannot open the file");
  std::vector<std::string> names;
  std::set<std::string> seen;
  std::string line;
  for (uint64_t n = 1; std::getline(f, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw Error(path + ": line " + std::to_string(n) + ": an empty class name");
    if (!seen.insert(line).second) throw Error(path + ": line " + std::to_string(n) + ": class name '" + line + "' repeats");
    names.push_back(line);
  }
  if (names.size() != classes)
    throw Error(path + ": " + std::to_string(names.size()) + " class names, the data has " + std::to_string(classes) +
                " classes (one name per line, in label order)");
  return names;
}

std::vector<std::string> image_files(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::exists(path, ec)) throw Error(path + ": no such file or folder");
    return {path};
  }
  std::vector<std::string> out;
  for (const std::string& name : sorted_names(path, false)) out.push_back((fs::path(path) / name).string());
  if (out.empty()) throw Error(path + ": a folder without image files (.png, .jpg, .jpeg, .bmp, .tga or .gif)");
  return out;
}

std::string Source::describe() const {
  std::string s = kind + ": " + std::to_string(classes.size()) + " classes; " + std::to_string(train.count) + " train";
  s += val ? ", " + std::to_string(val->count) + " val" : "";
  s += test ? ", " + std::to_string(test->count) + " test images" : " images, no test set";
  if (!skipped.empty()) s += "; " + std::to_string(skipped.size()) + " bad images left out";
  if (from_cache) s += " (decoded images from the cache)";
  if (decoded > 0) {
    char rate[96];
    std::snprintf(rate, sizeof rate, " (decoded %llu images in %.2f s, %.0f images/s)", (unsigned long long)decoded,
                  decode_seconds, decode_seconds > 0 ? double(decoded) / decode_seconds : 0.0);
    s += rate;
  }
  return s;
}

Source open_source(const std::string& path, const SourceOptions& o) {
  std::error_code ec;
  const bool dir = fs::is_directory(path, ec);
  if (!dir && !ends_with_csv(path)) {
    if (!fs::exists(path, ec)) throw Error(path + ": no such file or folder" + std::string(kNoSource).substr(1));
    throw Error(path + kNoSource);
  }
  if (dir && has_idx_files(path)) {
    Source s = open_idx(path, o);
    s.path = path;
    return s;
  }
  if (dir && !fs::is_directory(fs::path(path) / "train", ec)) throw Error(path + kNoSource);
  if (!dir && !fs::is_regular_file(path, ec)) throw Error(path + ": no such manifest file");
  if (!o.class_names.empty() && dir)
    throw Error("--class-names: the classes of " + path + " are named by its class folders");
  Source s;
  s.path = path;
  s.kind = dir ? "folders" : "csv";
  std::map<std::string, Listing> splits;
  bool numeric = false;
  if (dir) {
    splits["train"] = list_split(fs::path(path) / "train", s.classes);
    for (const char* split : {"val", "test"})
      if (fs::is_directory(fs::path(path) / split, ec)) splits[split] = list_split(fs::path(path) / split, s.classes);
  } else {
    list_manifest(path, o.classes, splits, s.classes, numeric);
    if (!o.class_names.empty() && !numeric)
      throw Error("--class-names: the classes of " + path + " are named by its labels");
    if (!o.class_names.empty()) s.classes = read_class_names(o.class_names, uint32_t(s.classes.size()));
  }
  if (o.classes != 0 && !numeric && s.classes.size() != o.classes)
    throw Error(path + ": the data has " + std::to_string(s.classes.size()) + " classes (" +
                (dir ? "training class folders" : "distinct training labels") + ") but " + model_name(o) + " has " +
                std::to_string(o.classes) + " outputs; set its \"classes\" to " + std::to_string(s.classes.size()));
  const ImageTarget t = target_of(splits["train"], o, path);
  s.train = decode_split(path, "train", splits["train"], t, o, s);
  if (splits.count("val")) s.val = decode_split(path, "val", splits["val"], t, o, s);
  if (splits.count("test")) s.test = decode_split(path, "test", splits["test"], t, o, s);
  return s;
}

}  // namespace fovea::data

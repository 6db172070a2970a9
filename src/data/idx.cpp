// IDX reading. The format (big-endian throughout):
//   u8 0, u8 0, u8 type (0x08 = unsigned byte), u8 ndims,
//   u32 size[ndims], then prod(size) elements in row-major order.
// Every check below exists because a real download went wrong that way:
// truncated transfers, a labels file paired with the wrong images file, or a
// gzip that was renamed without being decompressed.
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include "util/error.h"

namespace fovea::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dims
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dim
constexpr uint32_t kColourMagic = 0x00000804;  // unsigned bytes, 4 dims [N, H, W, 3]
constexpr uint32_t kMaxSide = 4096;
// CRC-32 of Fashion-MNIST's label files (inflated), as Debian's
// dataset-fashion-mnist ships them: how its class names are recognised.
constexpr uint32_t kFashionTrainLabelsCrc = 0x741a4657;
constexpr uint32_t kFashionTestLabelsCrc = 0x80142c1f;

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

std::string hex8(uint8_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v);
  return buf;
}

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) |
         uint32_t(p[3]);
}

// Inflates a gzip file held in memory. Concatenated gzip members (what
// `cat a.gz b.gz` makes) are inflated in turn; anything after the last member
// that is not another gzip header is an error, as is a stream that ends
// before its trailer (truncation) or fails its CRC-32 / length check.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    throw Error(path + ": cannot initialise zlib to inflate the gzip data");
  }
  // Frees zlib's state on every exit, including bad_alloc from the output.
  struct EndGuard {
    z_stream* z;
    ~EndGuard() { inflateEnd(z); }
  } guard{&zs};
  // Size the output from the gzip trailer's ISIZE (uncompressed length mod
  // 2^32, little-endian) so a 47 MB set is inflated without regrowth. The
  // trailer may be damaged, so the hint is capped at deflate's maximum ratio
  // (~1032:1) and is only a starting size: the loop grows as needed.
  size_t hint = size_t(1) << 16;
  if (in.size() >= 18) {
    const uint8_t* t = in.data() + in.size() - 4;
    const size_t isize =
        size_t(t[0]) | (size_t(t[1]) << 8) | (size_t(t[2]) << 16) | (size_t(t[3]) << 24);
    hint = std::max(hint, std::min(isize + 1, in.size() * 1032));
  }
  std::vector<uint8_t> out(hint);
  size_t produced = 0;
  size_t consumed = 0;
  // zlib counts in uInt; feed and drain in chunks that fit one.
  const size_t chunk = std::numeric_limits<uInt>::max() / 2;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2);
    const size_t in_now = std::min(in.size() - consumed, chunk);
    const size_t out_now = std::min(out.size() - produced, chunk);
    zs.next_in = const_cast<Bytef*>(in.data() + consumed);
    zs.avail_in = uInt(in_now);
    zs.next_out = out.data() + produced;
    zs.avail_out = uInt(out_now);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    consumed += in_now - zs.avail_in;
    produced += out_now - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Another member follows only if its magic does; otherwise stop.
      if (consumed == in.size()) break;
      if (in.size() - consumed >= 2 && in[consumed] == 0x1f && in[consumed + 1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      const size_t extra = in.size() - consumed;
      throw Error(path + ": corrupt gzip data: " + std::to_string(extra) +
                  (extra == 1 ? " byte" : " bytes") +
                  " of trailing garbage after the compressed stream");
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out != 0 && consumed == in.size()) {
      // No progress possible with all input consumed: the stream stops early.
      throw Error(path + ": truncated gzip data: the compressed stream ends after " +
                  std::to_string(in.size()) + " bytes without its end marker");
    }
    if (rc == Z_BUF_ERROR) continue;  // output full; loop grows it
    const std::string msg = zs.msg ? zs.msg : ("zlib error " + std::to_string(rc));
    if (rc == Z_MEM_ERROR) throw Error(path + ": out of memory while inflating gzip data");
    throw Error(path + ": corrupt gzip data (" + msg + ") at compressed byte " +
                std::to_string(consumed));
  }
  out.resize(produced);
  if (out.capacity() - produced > produced / 4) out.shrink_to_fit();  // after regrowth
  return out;
}

// Checks the 4-byte magic and returns the dimension sizes; `what` describes
// the expected content for messages, e.g. "IDX unsigned-byte images, 3 dimensions".
std::vector<uint32_t> read_idx_header(const std::vector<uint8_t>& bytes, const std::string& path,
                                      uint32_t expected_magic, const char* what) {
  if (bytes.size() < 4) {
    throw Error(path + ": file is " + std::to_string(bytes.size()) +
                " bytes, too short to hold the IDX magic number (4 bytes)");
  }
  const uint32_t magic = read_be32(bytes.data());
  if (magic != expected_magic) {
    std::string why;
    if (bytes[0] != 0 || bytes[1] != 0) {
      why = "; this is not an IDX file";
    } else if (bytes[2] != 0x08) {
      why = "; element type " + hex8(bytes[2]) + " is not unsigned byte (0x08)";
    } else {
      why = "; the file declares " + std::to_string(bytes[3]) + " dimensions, expected " +
            std::to_string(expected_magic & 0xff);
    }
    throw Error(path + ": magic is " + hex32(magic) + ", expected " + hex32(expected_magic) +
                " (" + what + ")" + why);
  }
  const uint32_t ndims = magic & 0xff;
  const size_t header = 4 + 4 * size_t(ndims);
  if (bytes.size() < header) {
    throw Error(path + ": file is " + std::to_string(bytes.size()) +
                " bytes, too short for its IDX header (" + std::to_string(header) + " bytes)");
  }
  std::vector<uint32_t> dims(ndims);
  for (uint32_t i = 0; i < ndims; ++i) dims[i] = read_be32(bytes.data() + 4 + 4 * i);
  return dims;
}

void check_side(uint32_t v, const std::string& path, const char* field) {
  if (v == 0 || v > kMaxSide) {
    throw Error(path + ": image " + field + " is " + std::to_string(v) + ", must be in 1.." +
                std::to_string(kMaxSide));
  }
}

std::string pick_file(const std::filesystem::path& dir, const std::string& base) {
  std::error_code ec;
  const auto raw = dir / base;
  if (std::filesystem::is_regular_file(raw, ec)) return raw.string();
  const auto gz = dir / (base + ".gz");
  if (std::filesystem::is_regular_file(gz, ec)) return gz.string();
  throw Error(dir.string() + ": missing " + base + " (looked for " + raw.string() + " and " +
              gz.string() + ")");
}

// The images file of a split ("train" or "t10k"): the idx3 name, else the
// idx4 one (colour files may carry either).
std::string pick_images(const std::filesystem::path& dir, const std::string& split) {
  std::error_code ec;
  const std::string idx4 = split + "-images-idx4-ubyte";
  for (const std::string& name : {idx4, idx4 + ".gz"})
    if (!std::filesystem::is_regular_file(dir / (split + "-images-idx3-ubyte"), ec) &&
        !std::filesystem::is_regular_file(dir / (split + "-images-idx3-ubyte.gz"), ec) &&
        std::filesystem::is_regular_file(dir / name, ec))
      return (dir / name).string();
  return pick_file(dir, split + "-images-idx3-ubyte");
}

std::string shape_text(const ImageSet& s) {
  return std::to_string(s.height) + "x" + std::to_string(s.width) + (s.channels == 3 ? "x3" : "");
}

}  // namespace

bool has_idx_files(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"train-images-idx3-ubyte", "train-images-idx4-ubyte"})
    for (const char* ext : {"", ".gz"})
      if (std::filesystem::is_regular_file(std::filesystem::path(dir) / (std::string(name) + ext), ec)) return true;
  return false;
}

std::vector<uint8_t> read_file_maybe_gzip(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(path + ": is a directory, expected a file");
  }
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    throw Error(path + ": cannot open file (" +
                (errno ? std::strerror(errno) : "unknown reason") + ")");
  }
  std::vector<uint8_t> bytes;
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  if (size < 0) throw Error(path + ": cannot determine the file size");
  f.seekg(0, std::ios::beg);
  bytes.resize(size_t(size));
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw Error(path + ": read error after " + std::to_string(f.gcount()) + " of " +
                std::to_string(size) + " bytes");
  }
  return inflate_if_gzip(std::move(bytes), path);
}

std::vector<uint8_t> inflate_if_gzip(std::vector<uint8_t> bytes, const std::string& name) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, name);
  return bytes;
}

ImageSet parse_idx_images(std::vector<uint8_t> img, const std::string& images_path) {
  // Images: [N, H, W] grey or [N, H, W, 3] RGB unsigned bytes; stored as [N, C, H, W].
  const bool colour = img.size() >= 4 && read_be32(img.data()) == kColourMagic;
  const auto idims = read_idx_header(img, images_path, colour ? kColourMagic : kImagesMagic,
                                     colour ? "IDX unsigned-byte colour images, 4 dimensions [N, H, W, 3]"
                                            : "IDX unsigned-byte images, 3 dimensions (or 4 for colour)");
  const uint32_t n = idims[0], h = idims[1], w = idims[2], c = colour ? idims[3] : 1;
  if (n == 0) throw Error(images_path + ": image count is 0; the file holds no images");
  check_side(h, images_path, "height");
  check_side(w, images_path, "width");
  if (colour && c != 3)
    throw Error(images_path + ": a 4-dimensional IDX image file must be [N, H, W, 3] (RGB); its last dimension is " +
                std::to_string(c));
  const size_t img_header = 4 + 4 * idims.size();
  const uint64_t want = uint64_t(n) * h * w * c;  // < 2^58: cannot overflow
  const uint64_t have = img.size() - img_header;
  if (have != want) {
    throw Error(images_path + ": header says " + std::to_string(n) + " images of " + std::to_string(h) + "x" +
                std::to_string(w) + (colour ? "x3" : "") + " (" + std::to_string(want) +
                " bytes) but the file holds " + std::to_string(have) + " bytes of data");
  }
  ImageSet set;
  set.images_path = images_path;
  set.count = n;
  set.channels = c;
  set.height = h;
  set.width = w;
  if (!colour) {
    // Drop the header in place rather than copying 47 MB.
    img.erase(img.begin(), img.begin() + int64_t(img_header));
    set.pixels = std::move(img);
    return set;
  }
  // [N, H, W, 3] -> [N, 3, H, W].
  const size_t plane = size_t(h) * w;
  set.pixels.resize(size_t(want));
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* src = img.data() + img_header + i * plane * 3;
    uint8_t* dst = set.pixels.data() + i * plane * 3;
    for (size_t k = 0; k < plane; ++k)
      for (size_t ch = 0; ch < 3; ++ch) dst[ch * plane + k] = src[3 * k + ch];
  }
  return set;
}

std::vector<uint32_t> parse_idx_labels(const std::vector<uint8_t>& lab, const std::string& labels_path,
                                       uint32_t classes) {
  const auto ldims =
      read_idx_header(lab, labels_path, kLabelsMagic, "IDX unsigned-byte labels, 1 dimension");
  const uint32_t nl = ldims[0];
  const uint64_t lhave = lab.size() - 8;
  if (lhave != nl) {
    throw Error(labels_path + ": header says " + std::to_string(nl) +
                " labels but the file holds " + std::to_string(lhave) + " bytes of data");
  }
  std::vector<uint32_t> labels(nl);
  for (uint32_t i = 0; i < nl; ++i) {
    const uint8_t l = lab[8 + i];
    if (classes > 0 && l >= classes) {
      throw Error(labels_path + ": label " + std::to_string(l) + " at index " +
                  std::to_string(i) + " is not < " + std::to_string(classes) + " classes");
    }
    labels[i] = l;
  }
  return labels;
}

namespace {

// load_idx_pair; *crc (if given) gets the CRC-32 of the labels file's bytes.
ImageSet load_pair(const std::string& images_path, const std::string& labels_path, uint32_t classes,
                   uint32_t* crc) {
  ImageSet set = parse_idx_images(read_file_maybe_gzip(images_path), images_path);
  set.labels_path = labels_path;
  set.classes = classes;
  const std::vector<uint8_t> lab = read_file_maybe_gzip(labels_path);
  set.labels = parse_idx_labels(lab, labels_path, classes);
  if (set.labels.size() != set.count) {
    throw Error(labels_path + ": labels file has " + std::to_string(set.labels.size()) +
                " labels but images file " + images_path + " has " + std::to_string(set.count) +
                " images");
  }
  if (crc) *crc = uint32_t(crc32_z(crc32(0L, Z_NULL, 0), lab.data(), lab.size()));
  return set;
}

}  // namespace

ImageSet load_idx_pair(const std::string& images_path, const std::string& labels_path,
                       uint32_t classes) {
  return load_pair(images_path, labels_path, classes, nullptr);
}

Dataset load_mnist_dir(const std::string& dir, uint32_t classes) {
  std::error_code ec;
  const std::filesystem::path d(dir);
  if (!std::filesystem::is_directory(d, ec)) {
    throw Error(dir + ": data directory does not exist or is not a directory");
  }
  Dataset ds;
  uint32_t train_crc = 0, test_crc = 0;
  ds.train = load_pair(pick_images(d, "train"), pick_file(d, "train-labels-idx1-ubyte"), classes, &train_crc);
  ds.test = load_pair(pick_images(d, "t10k"), pick_file(d, "t10k-labels-idx1-ubyte"), classes, &test_crc);
  if (ds.train.channels != ds.test.channels || ds.train.height != ds.test.height ||
      ds.train.width != ds.test.width) {
    throw Error(ds.test.images_path + ": test images are " + shape_text(ds.test) + " but training images in " +
                ds.train.images_path + " are " + shape_text(ds.train));
  }
  ds.fashion_mnist = train_crc == kFashionTrainLabelsCrc && test_crc == kFashionTestLabelsCrc;
  return ds;
}

ChannelStats channel_stats(const ImageSet& set) {
  const size_t plane = size_t(set.height) * set.width;
  if (set.count == 0 || set.channels == 0 || plane == 0) {
    throw Error(set.images_path + ": channel statistics need at least one non-empty image");
  }
  if (set.pixels.size() != size_t(set.count) * set.channels * plane) {
    throw Error(set.images_path + ": pixel buffer size does not match count x channels x H x W");
  }
  return channel_stats(set.pixels.data(), set.count, set.channels, plane);
}

ChannelStats channel_stats(const uint8_t* pixels, uint64_t count, uint32_t channels, uint64_t plane) {
  // Sums of bytes and squared bytes are exact in uint64 up to 2^64 / 255^2
  // ~ 2.8e14 pixels per channel (far beyond anything that fits in memory), so
  // the only rounding is in the final divisions.
  ChannelStats st;
  st.mean.assign(channels, 0.0);
  st.std.assign(channels, 0.0);
  for (uint32_t c = 0; c < channels; ++c) {
    uint64_t s = 0, s2 = 0;
    for (uint64_t i = 0; i < count; ++i) {
      const uint8_t* p = pixels + (i * channels + c) * plane;
      for (size_t k = 0; k < plane; ++k) {
        s += p[k];
        s2 += uint64_t(p[k]) * p[k];
      }
    }
    const double n = double(count) * double(plane);
    const double mean = double(s) / n;                    // in bytes
    const double var = double(s2) / n - mean * mean;      // population variance
    st.mean[c] = mean / 255.0;
    st.std[c] = std::sqrt(std::max(var, 0.0)) / 255.0;
  }
  return st;
}

}  // namespace fovea::data

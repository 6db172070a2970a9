// IDX files (the MNIST family's format), raw or gzip-compressed, and the
// image/label pairs they hold.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fovea::data {

// Images as unsigned bytes, layout [count, channels, height, width];
// labels[i] < classes for every i. Labels are 32-bit: a source may have up
// to the loss kernel's 16,384 classes.
struct ImageSet {
  uint32_t count = 0;
  uint32_t channels = 0;
  uint32_t height = 0;
  uint32_t width = 0;
  uint32_t classes = 0;
  std::vector<uint8_t> pixels;
  std::vector<uint32_t> labels;
  std::string images_path;  // IDX: the images file; image files: the source (folder or manifest)
  std::string labels_path;
  std::vector<std::string> files;  // image files: each image's file (empty for IDX)
  size_t image_bytes() const { return size_t(channels) * height * width; }
};

// The whole content of a file; gzip data (magic 1f 8b) is inflated. Throws
// fovea::Error naming the file on a missing file, read error or corrupt gzip.
std::vector<uint8_t> read_file_maybe_gzip(const std::string& path);
// The same on bytes in memory: gzip data (magic 1f 8b) inflated, anything
// else returned as it is; errors name `name`. An entry point for fuzzing.
std::vector<uint8_t> inflate_if_gzip(std::vector<uint8_t> bytes, const std::string& name);

// Loads an IDX image file (magic 0x00000803: unsigned bytes, 3 dims
// [N, H, W], channels = 1; or 0x00000804: 4 dims [N, H, W, 3], RGB, stored
// here as [N, 3, H, W]) and an IDX label file (magic 0x00000801, [N]).
// Checks magic, dimension count, sizes against the file length, equal
// counts, labels < classes (classes 0: any label), sane dimensions
// (1..4096 per side). Every violation throws fovea::Error naming the file
// and the field.
ImageSet load_idx_pair(const std::string& images_path, const std::string& labels_path,
                       uint32_t classes);

// The same checks on a file's bytes (already inflated), `name` starting
// every message: the images (count, channels, height, width, pixels set)
// and the labels. The entry points for fuzzing.
ImageSet parse_idx_images(std::vector<uint8_t> bytes, const std::string& name);
std::vector<uint32_t> parse_idx_labels(const std::vector<uint8_t>& bytes, const std::string& name,
                                       uint32_t classes);

struct Dataset {
  ImageSet train;
  ImageSet test;
  bool fashion_mnist = false;  // the label files are Fashion-MNIST's (by CRC-32)
};

// The four files of an MNIST-style directory: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each raw or with a .gz suffix (the raw one wins when both exist; colour
// image files may be named *-images-idx4-ubyte instead). A
// missing file is an error naming the directory and the file looked for.
Dataset load_mnist_dir(const std::string& dir, uint32_t classes);

// Whether `dir` holds the training images file of an MNIST-style
// directory (raw or .gz): what tells an IDX source from others.
bool has_idx_files(const std::string& dir);

// Per-channel mean and standard deviation (population) of pixels / 255 over
// the whole set, computed in double.
struct ChannelStats {
  std::vector<double> mean;
  std::vector<double> std;
};
ChannelStats channel_stats(const ImageSet& set);
// The same over `count` images u8 [count, channels, plane] (count, channels,
// plane >= 1; the caller checks).
ChannelStats channel_stats(const uint8_t* pixels, uint64_t count, uint32_t channels, uint64_t plane);

}  // namespace fovea::data

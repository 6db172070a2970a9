// Data sources: what `--data PATH` names, opened for a model's input.
// The one entry point the trainer, evaluation, cross-validation, the
// sharpness probe and the CLI call: open_source(path, options) -> the
// training images, the validation and test images when the source has
// them, the class names and a description.
//
// PATH is one of
//   - a folder of IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
//     t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, raw or .gz): images of
//     3 dimensions [N, H, W] (grey) or 4 [N, H, W, 3] (RGB);
//   - a folder with class folders: PATH/train/<class>/<images>, optionally
//     PATH/val/<class>/... (the validation set) and PATH/test/<class>/...;
//     the training class names sorted bytewise are the labels 0..K-1, and
//     image files (by extension, data/image.h) under each class folder are
//     visited in bytewise order of their paths below the split's folder;
//   - a CSV manifest, PATH ending in .csv (data/manifest.h), whose paths
//     are relative to its folder (or absolute); its row order is the order.
// Image files are decoded to the model's input (data/image.h) on every
// core, through the cache (data/decode_set.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/decode_set.h"
#include "data/idx.h"

namespace fovea::data {

struct SourceOptions {
  // The model's input and output. channels 0: take the shape from the data
  // (IDX: the files'; image files: the first training image's, 1 channel
  // if it is grey, else 3). classes 0: any label.
  uint32_t channels = 0, height = 0, width = 0;
  uint32_t classes = 0;
  Resize resize = Resize::crop;      // --resize (image files only)
  bool skip_bad = false;             // --skip-bad-images: leave failed files out, list them
  std::string class_names;           // --class-names FILE (IDX and integer-labelled manifests)
  DecodeOptions decode;              // threads, progress, cache (--no-cache), memory limit
  std::string model;                 // the model file, for messages ("" = "the model")
};

struct Source {
  std::string kind;  // "idx", "folders" or "csv"
  std::string path;  // PATH as given
  ImageSet train;
  std::optional<ImageSet> val, test;
  std::vector<std::string> classes;  // names, by label
  std::vector<std::string> skipped;  // the messages of files left out by skip_bad
  bool from_cache = false;           // the decoded images came from the cache
  std::string cache_file;
  uint64_t decoded = 0;              // image files decoded (not read from the cache) ...
  double decode_seconds = 0;         // ... in this many seconds (listing, decoding, caching)
  // "folders: 5 classes; 900 train, 100 val, 200 test images (decoded images from
  // the cache)", or "... (decoded 1200 images in 0.41 s, 2927 images/s)".
  std::string describe() const;
};

// Opens PATH for the options' model input. Throws fovea::Error with one
// line naming the file (and line or folder) and what is wrong: no source
// at PATH (listing what a source looks like), an IDX shape other than the
// model's, an empty class folder, a test or validation class that training
// lacks, a manifest error, a missing, unreadable or corrupt image (unless
// skip_bad), duplicate paths, more classes than the model has, a model
// input of other than 1 or 3 channels for image files, a set larger than
// the memory it may take.
Source open_source(const std::string& path, const SourceOptions& o);

// Fashion-MNIST's ten class names, in label order.
const std::vector<std::string>& fashion_mnist_classes();

// Class names from a file, one per line (`--class-names`); exactly
// `classes` non-empty, distinct lines. Throws fovea::Error naming the file.
std::vector<std::string> read_class_names(const std::string& path, uint32_t classes);

// Every image file in `folder` (bytewise order of their names; not its
// subfolders) or `path` itself if it is a file: `fovea predict`'s inputs.
std::vector<std::string> image_files(const std::string& path);

}  // namespace fovea::data

/**
 * @file
 * @brief Reading image data sets into host memory for fovea::api::Trainer:
 * the sources `fovea train --data` reads (IDX files, class folders of
 * images, CSV manifests; docs/data.md), decoded to a model's input.
 */
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fovea/fovea.hpp>

namespace fovea::api {

/** @brief How load_data() reads a source. */
struct DataOptions {
  /** The model's input (Trainer::channels(), height(), width()). channels 0:
   *  the data's own shape (IDX: the files'; image files: the first training
   *  image's). Image files decode to 1 (grey) or 3 (RGB) channels. */
  uint32_t channels = 0, height = 0, width = 0;
  /** The model's classes (Trainer::classes()); 0 = any label. */
  uint32_t classes = 0;
  /** Image files of another size: "crop", "stretch" or "pad". */
  std::string resize = "crop";
  /** Leave unreadable or corrupt images out (listed in DataSet::skipped)
   *  instead of failing. */
  bool skip_bad_images = false;
  /** A file of class names, one per line (IDX files, integer-labelled manifests). */
  std::string class_names;
  /** Decoding threads; 0 = every core. The pixels never depend on it. */
  unsigned threads = 0;
  /** A folder for the decoded-images cache; "" = no cache. */
  std::string cache_dir;
};

/** @brief One split of a source in host memory. */
struct ImageData {
  uint32_t count = 0, channels = 0, height = 0, width = 0;
  std::vector<uint8_t> images;     ///< u8 [count, channels, height, width]
  std::vector<uint32_t> labels;    ///< [count]
  std::vector<std::string> files;  ///< the image file of each image (empty for IDX)
};

/** @brief A whole source: its splits and class names. */
struct DataSet {
  std::string kind;                  ///< "idx", "folders" or "csv"
  ImageData train;
  std::optional<ImageData> val;      ///< the source's own validation images, if any
  std::optional<ImageData> test;     ///< the test images, if any
  std::vector<std::string> classes;  ///< class names, by label
  std::vector<std::string> skipped;  ///< one message per image left out (skip_bad_images)
};

/**
 * @brief Reads and decodes a data source (a folder of IDX files, a folder
 * with train/<class>/ subfolders, or a .csv manifest) to the options' shape.
 * @return the data set, or an Io error naming the file (and manifest line)
 * and the fault, InvalidArgument for bad options
 */
Result<DataSet> load_data(const std::string& path, const DataOptions& options);

}  // namespace fovea::api

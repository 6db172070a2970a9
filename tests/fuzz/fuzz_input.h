// Shared by the libFuzzer targets: a fuzz input written to a file, for the
// parsers that read a path (safetensors, run configs). One file per
// process, rewritten for every input and removed at exit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fovea::fuzz {

class InputFile {
 public:
  explicit InputFile(const std::string& suffix)
      : path_((std::filesystem::temp_directory_path() /
                ("fovea-fuzz-" + std::to_string(::getpid()) + suffix)).string()) {}
  ~InputFile() { std::remove(path_.c_str()); }
  // Replaces the file's content with the input; returns its path.
  const std::string& write(const uint8_t* data, size_t size) {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace fovea::fuzz

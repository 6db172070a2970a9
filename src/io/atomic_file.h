// Files replaced atomically: written to a temporary file in the same
// directory, flushed with fsync, renamed over the target, the directory
// fsynced. A crash at any moment leaves the old file or the new one, never
// a torn one; a failure before commit() removes the temporary file.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace fovea::io {

class AtomicFile {
 public:
  // Creates the temporary file; throws fovea::Error naming `path`.
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Syncs, closes and renames over the target. Errors name the path.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what, int error) const;
  std::string path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
};

// The whole of `bytes` as `path`, atomically.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace fovea::io

#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "util/error.h"

namespace fovea::io {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

fs::path parent_of(const fs::path& target) {
  return target.has_parent_path() ? target.parent_path() : fs::path(".");
}

// Makes the rename durable. Some filesystems refuse fsync on a directory
// (EINVAL); the data itself is already on disk then, so that is not an error.
void fsync_directory(const fs::path& dir, const std::string& path) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw Error(path + ": cannot open directory " + dir.string() + " to sync it (" + errno_text(errno) + ")");
  const int r = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (r != 0 && e != EINVAL && e != EROFS)
    throw Error(path + ": cannot sync directory " + dir.string() + " (" + errno_text(e) + ")");
}

}  // namespace

// The temporary file is created exclusively next to the target: a hidden
// name with the process id and a counter.
AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  static std::atomic<uint64_t> counter{0};
  const fs::path target(path);
  const fs::path dir = parent_of(target);
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    // Built with += (GCC 12 warns falsely on "." + std::string).
    std::string name = ".";
    name += target.filename().string();
    name += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    tmp_ = dir / name;
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0)
    throw Error(path + ": cannot create a temporary file in " + dir.string() + " (" + errno_text(errno) + ")");
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what, int error) const {
  throw Error(path_ + ": " + what + " temporary file " + tmp_.string() + " (" + errno_text(error) + ")");
}

// All of the bytes, retrying short writes and EINTR.
void AtomicFile::write(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    const ssize_t w = ::write(fd_, p, std::min<size_t>(bytes, size_t(1) << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", errno);
    }
    p += w;
    bytes -= size_t(w);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("cannot sync", errno);
  const int r = ::close(fd_);
  fd_ = -1;
  if (r != 0) fail("cannot close", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw Error(path_ + ": cannot rename the temporary file " + tmp_.string() + " over it (" +
                errno_text(errno) + ")");
  tmp_.clear();
  fsync_directory(parent_of(fs::path(path_)), path_);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

}  // namespace fovea::io

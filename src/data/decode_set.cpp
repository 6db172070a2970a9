#include "data/decode_set.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "io/atomic_file.h"
#include "util/error.h"
#include "util/file.h"

namespace fovea::data {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "FOVEA-DECODED-1\n";  // 16 bytes
constexpr size_t kMagicBytes = 16;

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(uint64_t(1) << 30));
  return buf;
}

// The whole file (at most 2 GiB, what stb_image reads); throws fovea::Error naming it.
std::vector<uint8_t> read_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open the file (" + std::strerror(errno) + ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  if (st.st_size > INT32_MAX) throw Error(path + ": the file is larger than 2 GiB, too large for an image");
  std::vector<uint8_t> bytes(size_t(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path + ": read error after " + std::to_string(got) + " of " + std::to_string(bytes.size()) + " bytes");
    got += size_t(n);
  }
  return bytes;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

void put64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s += char(uint8_t(v >> (8 * i)));
}

uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Shows the workers' progress until they finish (only on a terminal).
void show_progress(const std::atomic<size_t>& done, size_t total, const std::atomic<bool>& finished, bool on) {
  const auto t0 = std::chrono::steady_clock::now();
  while (!finished.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!on) continue;
    const size_t d = std::min(done.load(), total);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int fill = int(24.0 * double(d) / double(std::max<size_t>(total, 1)));
    std::fprintf(stderr, "\rdecoding [%.*s%*s] %zu/%zu images  %.0f img/s ", fill, "========================",
                 24 - fill, "", d, total, s > 0 ? double(d) / s : 0.0);
    std::fflush(stderr);
  }
  if (on) std::fprintf(stderr, "\r\033[K");
}

// Decodes every file into its slot; stops early (skipping later files) at
// a failure unless keep_going. Slot i depends on file i only. Returns
// whether every file was tried.
bool decode_all(const DecodeJob& job, const DecodeOptions& opts, Decoded& d) {
  const size_t n = job.files.size(), bytes = job.target.bytes();
  std::atomic<size_t> next{0}, done{0}, first_bad{SIZE_MAX};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      if (!opts.keep_going && i > first_bad.load()) break;  // later files: the first failure is found
      try {
        const std::vector<uint8_t> file = read_bytes(job.files[i]);
        decode_image(file.data(), file.size(), job.files[i], job.target, d.pixels.data() + i * bytes);
      } catch (const std::exception& e) {  // fovea::Error, or bad_alloc from a huge file
        std::string msg = e.what();
        if (!dynamic_cast<const Error*>(&e)) msg = job.files[i] + ": cannot decode the image (" + msg + ")";
        std::replace(msg.begin(), msg.end(), '\n', ' ');
        d.errors[i] = std::move(msg);
        std::memset(d.pixels.data() + i * bytes, 0, bytes);
        for (size_t b = first_bad.load(); i < b && !first_bad.compare_exchange_weak(b, i);) {
        }
      }
      done.fetch_add(1);
    }
  };
  unsigned threads = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = unsigned(std::min<size_t>(threads, std::max<size_t>(n, 1)));
  std::atomic<bool> finished{false};
  std::thread bar(show_progress, std::cref(done), n, std::cref(finished), opts.progress && isatty(STDERR_FILENO));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  finished = true;
  bar.join();
  return opts.keep_going || first_bad.load() == SIZE_MAX;
}

// The cache file's name for a job: one per (source, target).
fs::path cache_path(const DecodeJob& job, const DecodeOptions& opts) {
  const fs::path dir = opts.cache_dir.empty() ? (cache_dir().empty() ? fs::path() : cache_dir() / "data") : opts.cache_dir;
  if (dir.empty()) return {};
  std::error_code ec;
  const std::string id = fs::absolute(job.source, ec).lexically_normal().string() + "\n" +
                         std::to_string(job.target.channels) + "x" + std::to_string(job.target.height) + "x" +
                         std::to_string(job.target.width) + " " + resize_name(job.target.resize);
  char name[40];
  std::snprintf(name, sizeof name, "%016llx.bin", (unsigned long long)fnv1a(id));
  return dir / name;
}

// Reads `path` through a read-only mapping (page cache, not a second copy).
bool try_read_cache(const fs::path& path, const std::string& key, const DecodeJob& job, Decoded& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = false;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    void* map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      ok = read_cache(static_cast<const uint8_t*>(map), size_t(st.st_size), key, job.files.size(),
                      job.target.bytes(), out);
      ::munmap(map, size_t(st.st_size));
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

uint64_t available_memory() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : UINT64_MAX;
}

std::string cache_key(const DecodeJob& job) {
  std::string key = "target " + std::to_string(job.target.channels) + " " + std::to_string(job.target.height) + " " +
                    std::to_string(job.target.width) + " " + resize_name(job.target.resize) + "\n";
  for (const std::string& f : job.files) {
    std::error_code ec;
    key += fs::absolute(f, ec).lexically_normal().string();
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) {
      key += "\tmissing\n";
      continue;
    }
#if defined(__APPLE__)
    const int64_t ns = int64_t(st.st_mtimespec.tv_sec) * 1000000000 + st.st_mtimespec.tv_nsec;
#else
    const int64_t ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
#endif
    // Appended piece by piece ("\t" + std::string trips a false GCC 12 -Wrestrict).
    key += '\t';
    key += std::to_string(st.st_size);
    key += '\t';
    key += std::to_string(ns);
    key += '\n';
  }
  return key;
}

void write_cache(const std::string& path, const std::string& key, const Decoded& d, size_t image_bytes) {
  std::string head(kMagic, kMagicBytes);
  put64(head, key.size());
  head += key;
  std::string messages;
  for (const std::string& e : d.errors) messages += e + "\n";
  put64(head, d.errors.size());
  put64(head, image_bytes);
  put64(head, messages.size());
  head += messages;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(head.data()), head.size());
  crc = crc32_z(crc, d.pixels.data(), d.pixels.size());
  io::AtomicFile f(path);
  f.write(head);
  f.write(d.pixels.data(), d.pixels.size());
  uint8_t tail[4];
  for (int i = 0; i < 4; ++i) tail[i] = uint8_t(crc >> (8 * i));
  f.write(tail, 4);
  f.commit();
}

bool read_cache(const uint8_t* p, size_t size, const std::string& key, size_t files, size_t image_bytes,
                Decoded& out) {
  // Every length is checked against the bytes left before it is used.
  size_t at = 0;
  auto take = [&](size_t n) { return n <= size - at ? (at += n, true) : false; };
  if (size < kMagicBytes + 4 || std::memcmp(p, kMagic, kMagicBytes) != 0) return false;
  at = kMagicBytes;
  if (!take(8)) return false;
  const uint64_t key_bytes = get64(p + at - 8);
  if (key_bytes != key.size() || !take(key.size()) || std::memcmp(p + at - key.size(), key.data(), key.size()) != 0)
    return false;
  if (!take(24)) return false;
  const uint64_t n = get64(p + at - 24), b = get64(p + at - 16), m = get64(p + at - 8);
  if (n != files || b != image_bytes || m > size - at) return false;
  const uint8_t* messages = p + at;
  at += size_t(m);
  if (b != 0 && n > (size - at) / b) return false;
  const size_t pixels = size_t(n * b);
  if (size - at != pixels + 4) return false;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32_z(crc, p, size - 4);
  uint32_t stored = 0;
  for (int i = 3; i >= 0; --i) stored = (stored << 8) | p[size - 4 + size_t(i)];
  if (uint32_t(crc) != stored) return false;
  std::vector<std::string> errors;
  errors.reserve(n);
  size_t start = 0;
  for (size_t i = 0; i < m; ++i)
    if (messages[i] == '\n') {
      errors.emplace_back(reinterpret_cast<const char*>(messages + start), i - start);
      start = i + 1;
    }
  if (start != m || errors.size() != n) return false;
  out.errors = std::move(errors);
  out.pixels.assign(p + at, p + at + pixels);
  out.from_cache = true;
  return true;
}

Decoded decode_files(const DecodeJob& job, const DecodeOptions& opts) {
  const size_t n = job.files.size(), bytes = job.target.bytes();
  if (bytes == 0) throw Error("internal: decoding to an empty image shape");
  const uint64_t need = bytes && n > UINT64_MAX / bytes ? UINT64_MAX : uint64_t(n) * bytes;
  const uint64_t limit = opts.memory_limit ? opts.memory_limit : available_memory();
  if (need > limit)
    throw Error(job.source + ": the decoded images need " + gib(need) + " (" + std::to_string(n) + " images of " +
                std::to_string(job.target.channels) + "x" + std::to_string(job.target.height) + "x" +
                std::to_string(job.target.width) + " bytes) but only " + gib(limit) +
                " of memory is available; use fewer or smaller images (a model input of fewer pixels)");
  Decoded d;
  std::string key;
  fs::path path;
  if (opts.cache) {
    path = cache_path(job, opts);
    key = cache_key(job);
    if (!path.empty() && try_read_cache(path, key, job, d)) {
      d.cache_file = path.string();
      return d;
    }
  }
  d.pixels.resize(n * bytes);
  d.errors.assign(n, "");
  d.complete = decode_all(job, opts, d);
  if (!path.empty() && d.complete) {
    // A cache that cannot be written costs the next run time, not this one its result.
    try {
      std::error_code ec;
      fs::create_directories(path.parent_path(), ec);
      write_cache(path.string(), key, d, bytes);
      d.cache_file = path.string();
    } catch (const Error& e) {
      std::fprintf(stderr, "fovea: the decoded images are not cached: %s\n", e.what());
    }
  }
  return d;
}

}  // namespace fovea::data

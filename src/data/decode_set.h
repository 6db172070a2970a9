// Decoding a list of image files into one u8 tensor [N, C, H, W]: on every
// core (std::thread workers, each image written to its own slot, so the
// result is the same for any thread count), with a progress bar, behind a
// memory check, and through the decoded-data cache.
//
// The cache: one file per (source, target C/H/W, --resize) under
// cache_dir()/data/, named by a hash of those, written atomically. It holds
// a key (the target, then each file's absolute path, size and modification
// time in nanoseconds), every file's pixels and the message of every file
// that failed to decode, and ends in a CRC-32 of all that. A file whose
// key differs (a file changed, was added or removed), whose length or CRC
// is wrong (truncated, damaged) or that cannot be read is ignored: the
// files are decoded again and the cache rewritten.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image.h"

namespace fovea::data {

struct DecodeOptions {
  unsigned threads = 0;        // workers; 0 = every core (std::thread::hardware_concurrency)
  bool progress = false;       // a progress bar on stderr when it is a terminal
  bool cache = true;           // read and write the cache (--no-cache: neither)
  std::filesystem::path cache_dir;  // "" = fovea::cache_dir() / "data"
  uint64_t memory_limit = 0;   // bytes the decoded set may take; 0 = the host's available memory
  bool keep_going = false;     // decode every file even after a failure (--skip-bad-images)
};

// The files to decode, in order. `source` names the set in the cache's
// file name (the --data path).
struct DecodeJob {
  std::string source;
  std::vector<std::string> files;
  ImageTarget target;
};

struct Decoded {
  std::vector<uint8_t> pixels;      // [files, C, H, W]; a failed file's slot is zeros
  std::vector<std::string> errors;  // per file: "" or its one-line message
  bool from_cache = false;
  bool complete = true;             // every file was tried (else decoding stopped at a failure)
  std::string cache_file;           // the cache file read or written ("" = none)
};

// Decodes job.files (or reads them from the cache); a file that fails
// leaves its message in `errors`. Without keep_going decoding stops at the
// first failure: files after it may be left untried (`complete` false, and
// nothing cached), but the first failure in file order is always found,
// whatever the thread count. Throws fovea::Error before decoding when the
// set would not fit in memory_limit, naming the figure.
Decoded decode_files(const DecodeJob& job, const DecodeOptions& opts);

// The cache key of a job: the target, then per file "path\tsize\tmtime_ns"
// (a file that cannot be examined: "path\tmissing"; it then fails to
// decode with its own message).
std::string cache_key(const DecodeJob& job);

// The bytes the host can give the decoded set: MemAvailable of
// /proc/meminfo, else the physical memory.
uint64_t available_memory();

// The cache file's layout (all integers little-endian):
//   "FOVEA-DECODED-1\n", u64 key bytes, the key, u64 images N, u64 bytes per
//   image B, u64 message bytes M, M bytes of N lines (each file's message,
//   empty when it decoded; newlines in messages become spaces), N x B
//   pixels, u32 CRC-32 of everything before it.
// write_cache streams it to `path` atomically; read_cache checks a file's
// bytes (a buffer, so it can be fuzzed) and returns false, leaving `out`
// alone, for anything but a complete, undamaged cache of exactly `key`
// with `files` images of `image_bytes` bytes.
void write_cache(const std::string& path, const std::string& key, const Decoded& d, size_t image_bytes);
bool read_cache(const uint8_t* bytes, size_t size, const std::string& key, size_t files, size_t image_bytes,
                Decoded& out);

}  // namespace fovea::data

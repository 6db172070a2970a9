// Whole-file writes that never leave a half-written file under the final
// name: the bytes go to PATH.tmp, flushed to disk (fsync), which is then
// renamed over PATH (and the directory fsynced).
#pragma once
#include <filesystem>
#include <string>

namespace fovea {

// Writes `bytes` (text or binary, written as they are) to `path` through
// path + ".tmp" and a rename. Throws fovea::Error naming `path` on failure,
// removing the temporary file.
void write_atomically(const std::filesystem::path& path, const std::string& bytes);

// Fovea's per-user cache folder (pipeline cache, kernel tuning):
// $XDG_CACHE_HOME/fovea, else ~/.cache/fovea; empty when neither is set.
std::filesystem::path cache_dir();

}  // namespace fovea

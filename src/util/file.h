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

}  // namespace fovea

// fovea::Error: the one exception type inside the library. Its message is a
// complete sentence for the user (it names the file, field or value); the CLI
// prints it as one line and exits non-zero. Nothing throws across the public
// C boundary.
#pragma once
#include <stdexcept>
#include <string>

namespace fovea {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace fovea

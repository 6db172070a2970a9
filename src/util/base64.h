// Base64 (RFC 4648, standard alphabet, '=' padding), for data: URIs in the
// run report.
#pragma once
#include <string>
#include <string_view>

namespace fovea {

// 3 bytes -> 4 characters; the last group padded with '='.
std::string base64_encode(std::string_view bytes);

}  // namespace fovea

// nn::StepParams (src/nn/step_params.h) against its GLSL mirror, the
// std140 uniform block `StepParams` of shaders/common.glsl: same members in
// the same order at the same byte offsets, and the C++ field table covering
// the struct exactly. A field added on one side only fails here.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "nn/step_params.h"

namespace {

namespace fs = std::filesystem;
fs::path repo_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

struct Member {
  std::string name;
  size_t offset = 0, bytes = 0;
};

// std140 size and base alignment of a GLSL member type; 0 for a type this
// check does not know (it then fails, naming the type).
void std140(const std::string& type, size_t& bytes, size_t& align) {
  bytes = align = 0;
  if (type == "float" || type == "uint" || type == "int" || type == "bool") bytes = align = 4;
  std::smatch m;
  static const std::regex vec("[iu]?vec([234])");
  if (std::regex_match(type, m, vec)) {
    const size_t n = std::stoul(m[1]);
    bytes = 4 * n;
    align = n == 2 ? 8 : 16;
  }
}

// The members of `uniform StepParams { ... }` in `glsl`, with std140 offsets.
// Throws std::runtime_error for an unknown type or a missing block.
std::vector<Member> parse_block(const std::string& glsl, size_t& end) {
  const size_t open = glsl.find("uniform StepParams {");
  const size_t close = glsl.find("} P;", open);
  if (open == std::string::npos || close == std::string::npos) throw std::runtime_error("no StepParams block");
  std::istringstream body(glsl.substr(open + 20, close - open - 20));
  static const std::regex decl(R"(^\s*(\w+)\s+(\w+)\s*(\[\s*(\d+)\s*\])?\s*;)");
  std::vector<Member> members;
  end = 0;
  for (std::string line; std::getline(body, line);) {
    line = line.substr(0, line.find("//"));
    std::smatch m;
    if (!std::regex_search(line, m, decl)) continue;
    size_t bytes = 0, align = 0;
    std140(m[1], bytes, align);
    if (!bytes) throw std::runtime_error("unknown std140 type " + m[1].str());
    if (m[3].matched) {  // arrays: each element on a 16-byte stride
      align = 16;
      bytes = std::stoul(m[4]) * 16;
    }
    end = (end + align - 1) / align * align;
    members.push_back({m[2], end, bytes});
    end += bytes;
  }
  return members;
}

// "" when the C++ table matches `members` and covers the struct; else what differs.
std::string compare(const std::vector<Member>& members, size_t glsl_end) {
  using fovea::nn::kStepParamsFields;
  std::ostringstream diff;
  const size_t n = std::size(kStepParamsFields);
  if (members.size() != n) diff << "GLSL has " << members.size() << " members, C++ " << n << "; ";
  for (size_t i = 0; i < std::min(n, members.size()); ++i) {
    const auto& c = kStepParamsFields[i];
    const auto& g = members[i];
    if (g.name != c.name || g.offset != c.offset || g.bytes != c.bytes)
      diff << "member " << i << ": GLSL " << g.name << " @" << g.offset << " (" << g.bytes << " bytes), C++ "
           << c.name << " @" << c.offset << " (" << c.bytes << " bytes); ";
  }
  const auto& last = kStepParamsFields[n - 1];
  if (last.offset + last.bytes != sizeof(fovea::nn::StepParams))
    diff << "the C++ table ends at byte " << last.offset + last.bytes << ", the struct at "
         << sizeof(fovea::nn::StepParams) << "; ";
  for (size_t i = 1; i < n; ++i)
    if (kStepParamsFields[i].offset < kStepParamsFields[i - 1].offset + kStepParamsFields[i - 1].bytes)
      diff << "C++ fields " << i - 1 << " and " << i << " overlap; ";
  if (glsl_end != sizeof(fovea::nn::StepParams))
    diff << "the GLSL block ends at byte " << glsl_end << ", the struct at " << sizeof(fovea::nn::StepParams);
  return diff.str();
}

std::string common_glsl() {
  std::ifstream f(repo_root() / "shaders" / "common.glsl");
  REQUIRE(f);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("StepParams: the GLSL block matches the C++ struct member by member", "[step_params]") {
  size_t end = 0;
  const auto members = parse_block(common_glsl(), end);
  REQUIRE(members.size() > 10);
  CHECK(members.back().name == "optim");
  CHECK(members.back().offset == 48);
  CHECK(compare(members, end) == "");
}

TEST_CASE("StepParams: a member added to the GLSL block alone is caught", "[step_params]") {
  const std::string glsl = common_glsl();
  size_t end = 0;
  // One more uint before optim: the vec4 moves to byte 64 and the count differs.
  std::string more = glsl;
  more.insert(more.find("  vec4 optim;"), "  uint extra;\n");
  const auto grown = parse_block(more, end);
  CHECK(grown.back().offset == 64);
  CHECK(compare(grown, end) != "");
  // A member renamed, or retyped to a vec2 (8-byte aligned: later offsets move).
  std::string renamed = glsl;
  renamed.replace(renamed.find("uint first_row;"), 15, "uint first_rw; ");
  CHECK(compare(parse_block(renamed, end), end) != "");
  std::string retyped = glsl;
  retyped.replace(retyped.find("float noise_std;"), 16, "vec2 noise_std; ");
  CHECK(compare(parse_block(retyped, end), end) != "");
  // An unknown type is an error, not a silent skip.
  std::string odd = glsl;
  odd.replace(odd.find("float lr;"), 9, "mat2 lr; ");
  CHECK_THROWS_WITH(parse_block(odd, end), Catch::Contains("mat2"));
}

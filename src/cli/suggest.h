// "Did you mean ...?" for a misspelt option or subcommand: the nearest
// known name by edit distance. Plain strings, no CLI11, so the CPU tests
// check it directly.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace fovea::cli {

// The optimal-string-alignment distance: insertions, deletions,
// substitutions and swaps of two neighbouring characters, each costing 1.
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `word` (leading dashes ignored on both sides),
// or "" when none is near enough to be what was meant: a distance of at
// most 1 for names of up to 4 characters, 2 up to 8, 3 beyond; or else the
// only candidate that `word` begins (at least 3 characters). Ties go to
// the earlier candidate.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace fovea::cli

// The CLI's "did you mean ...?" for misspelt options and subcommands.
#include <catch2/catch.hpp>

#include "cli/suggest.h"

using fovea::cli::edit_distance;
using fovea::cli::nearest;

TEST_CASE("edit distance counts insertions, deletions, substitutions and swaps") {
  CHECK(edit_distance("epochs", "epochs") == 0);
  CHECK(edit_distance("epoch", "epochs") == 1);       // insertion
  CHECK(edit_distance("epochss", "epochs") == 1);     // deletion
  CHECK(edit_distance("epocks", "epochs") == 1);      // substitution
  CHECK(edit_distance("vaildate", "validate") == 1);  // neighbours swapped
  CHECK(edit_distance("", "lr") == 2);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("nearest suggests the option a typo meant, and nothing for a stranger") {
  const std::vector<std::string> train = {"--model", "--data",  "--epochs", "--batch", "--lr",
                                          "--lr-schedule", "--optimizer", "--validate", "--sharpen-epochs",
                                          "--sharpen-replay", "--seed"};
  CHECK(nearest("--epoch", train) == "--epochs");
  CHECK(nearest("--optimiser", train) == "--optimizer");
  CHECK(nearest("--vaildate", train) == "--validate");
  CHECK(nearest("--lr-schedul", train) == "--lr-schedule");
  CHECK(nearest("--bogus", train) == "");
  CHECK(nearest("--x", train) == "");
  // A unique prefix is what was meant; a shared one is not.
  CHECK(nearest("--sharpen-ep", train) == "--sharpen-epochs");
  CHECK(nearest("--sharpen-", train) == "");
  // Subcommands have no dashes.
  CHECK(nearest("trian", {"devices", "train", "cv", "blur"}) == "train");
  CHECK(nearest("evaluate", {"eval", "export"}) == "");
}

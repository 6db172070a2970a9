// Run configs (`fovea train --config RUN.json`): any bytes as the file,
// expanded against a command with the kinds of options train has (a path,
// a number, a count, a flag, a list), then parsed as the command line.
// fovea::Error and CLI11's parse errors are the expected answers to bad
// input; anything else is a finding.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/run_args.h"
#include "fuzz/fuzz_input.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fovea::fuzz::InputFile file(".json");
  CLI::App app("fovea");
  CLI::App* train = app.add_subcommand("train");
  std::string model, config;
  double lr = 0;
  uint32_t epochs = 0;
  bool smoothing = false;
  std::vector<double> blur;
  train->add_option("--model", model);
  train->add_option("--config", config);
  train->add_option("--lr", lr);
  train->add_option("--epochs", epochs);
  train->add_flag("--feature-smoothing", smoothing);
  train->add_option("--test-blur", blur)->delimiter(',');
  const std::vector<std::string> args = {"fovea", "train", "--config", file.write(data, size), "--lr", "0.5"};
  try {
    std::vector<std::string> expanded = fovea::cli::expand_run_config(args, *train);
    if (expanded.size() < 2 || expanded[1] != "train") __builtin_trap();
    std::vector<std::string> reversed(expanded.rbegin(), expanded.rend() - 1);  // CLI11 parses a reversed list
    app.parse(reversed);
    if (lr != 0.5) __builtin_trap();  // the command line overrides the file
  } catch (const fovea::Error&) {
  } catch (const CLI::Error&) {
  }
  return 0;
}

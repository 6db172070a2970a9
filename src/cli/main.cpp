// The `fovea` command: it declares each subcommand (one file each in
// src/cli), parses the command line and runs the one given. Every user
// error is one line on stderr and a non-zero exit: 2 for a bad command
// line, 1 for a bad file, value or a failure while running, 3 when
// --validate saw messages.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/suggest.h"
#include "util/error.h"

namespace {

using fovea::cli::Command;

// The subcommand args[1] names, if any.
Command* named(const std::vector<std::unique_ptr<Command>>& commands, const std::vector<std::string>& args) {
  for (const auto& c : commands)
    if (args.size() > 1 && args[1] == c->sub()->get_name()) return c.get();
  return nullptr;
}

// One line for a command line CLI11 refused: an unknown option or
// subcommand is named with the nearest known one, and the help pointed at
// is the subcommand's when one was given. `args` as parsed, in order.
std::string parse_error_line(const CLI::App& app, const Command* c, const std::vector<std::string>& args,
                             const CLI::ParseError& e) {
  auto did_you_mean = [](const std::string& near) { return near.empty() ? "" : "; did you mean " + near + "?"; };
  if (!c) {
    if (args.size() < 2 || args[1].empty() || args[1][0] == '-')
      return std::string("fovea: ") + e.what() + " (see fovea --help)";
    std::vector<std::string> names;
    for (const CLI::App* s : app.get_subcommands({})) names.push_back(s->get_name());
    return "fovea: unknown command '" + args[1] + "'" + did_you_mean(fovea::cli::nearest(args[1], names)) +
           " (see fovea --help)";
  }
  const CLI::App& sub = *c->sub();
  const std::string see = " (see fovea " + sub.get_name() + " --help)";
  std::vector<std::string> names;
  for (const CLI::Option* o : sub.get_options())
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
  for (size_t i = 2; i < args.size() && args[i] != "--"; ++i) {
    if (args[i].rfind("--", 0) != 0) continue;
    const std::string name = args[i].substr(0, args[i].find('='));
    if (!sub.get_option_no_throw(name))
      return "fovea " + sub.get_name() + ": unknown option " + name + did_you_mean(fovea::cli::nearest(name, names)) +
             see;
  }
  return "fovea " + sub.get_name() + ": " + e.what() + see;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fovea: train neural networks with Vulkan compute (progressive sharpening)", "fovea"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  std::vector<std::unique_ptr<Command>> commands;
  for (auto add : {fovea::cli::add_devices, fovea::cli::add_train, fovea::cli::add_cv, fovea::cli::add_search,
                   fovea::cli::add_blur,
                   fovea::cli::add_report, fovea::cli::add_augment, fovea::cli::add_eval, fovea::cli::add_predict, fovea::cli::add_export, fovea::cli::add_ensemble, fovea::cli::add_prune, fovea::cli::add_audit,
                   fovea::cli::add_sharpness, fovea::cli::add_bench})
    commands.push_back(add(app));

  const std::vector<std::string> given(argv, argv + argc);
  Command* const chosen = named(commands, given);
  std::vector<std::string> args = given;
  try {
    if (chosen) args = chosen->rewrite(args);
  } catch (const fovea::Error& e) {
    std::fprintf(stderr, "fovea: %s\n", e.what());
    return 1;
  }
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 parses a vector in reverse
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s\n", parse_error_line(app, chosen, args, e).c_str());
    return 2;
  }

  try {
    for (const auto& c : commands)
      if (*c->sub()) return c->run(given);
  } catch (const fovea::Error& e) {
    std::fprintf(stderr, "fovea: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fovea: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}

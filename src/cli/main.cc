// The `rapport` binary: every subcommand, from the server to offline journey checks.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

#ifdef RAPPORT_WITH_JEMALLOC
// Read by jemalloc at start-up (MALLOC_CONF overrides it). Transparent huge pages: a profile
// store of a million records grows the heap by gigabytes, and 4 KiB page faults were 11% of a
// 1M import (587k faults for 300k records; 6k with huge pages, 17% less wall time).
extern "C" {
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "Rapport keeps one truth per customer (duplicates found, households known, every datum\n"
      "with its origin and consent) and runs customer processes on real events.\n"};
  app.set_version_flag("--version", "rapport " RAPPORT_VERSION);
  app.require_subcommand(1);
  // One config file for all subcommands: a [serve] section holds serve's settings.
  app.set_config("--config", "", "Read settings from a TOML file, e.g. [serve] port = 8080")
      ->envname("RAPPORT_CONFIG");
  app.fallthrough();  // so `rapport serve --config x.toml` works too
  app.footer(
      "Start here:\n"
      "  rapport token create --role admin          an API token for yourself\n"
      "  rapport import customers.csv --source shop load customer records\n"
      "  rapport serve                              the HTTP API on 127.0.0.1:8080\n"
      "Run 'rapport <command> --help' for a command's options.");
  int exit_code = 0;
  rapport::cli::AddServeCommand(app, &exit_code);
  rapport::cli::AddImportCommand(app, &exit_code);
  rapport::cli::AddTokenCommands(app, &exit_code);
  rapport::cli::AddAuditCommands(app, &exit_code);
  rapport::cli::AddPrivacyCommands(app, &exit_code);
  rapport::cli::AddServiceCommands(app, &exit_code);
  rapport::cli::AddProfileCommands(app, &exit_code);
  rapport::cli::AddCaseCommands(app, &exit_code);
#ifdef RAPPORT_HAVE_IDENTITY_CLI
  rapport::cli::AddIdentityCommands(app, &exit_code);
#endif
#ifdef RAPPORT_HAVE_JOURNEY_CLI
  rapport::cli::AddJourneyCommands(app, &exit_code);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;  // usage errors exit 2, like most Unix tools
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}

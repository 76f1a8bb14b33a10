// Subcommand groups of the `rapport` binary. Each Add* function registers its subcommands on
// `app`; a subcommand's callback stores the process exit code in *exit_code (0 success,
// 1 a check/validation failed, 2 bad usage or input) and prints errors to stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace rapport::cli {

void AddServeCommand(CLI::App& app, int* exit_code);
void AddImportCommand(CLI::App& app, int* exit_code);
void AddTokenCommands(CLI::App& app, int* exit_code);
// audit verify|list (src/cli/audit_commands.cc).
void AddAuditCommands(CLI::App& app, int* exit_code);
// export, retention run (src/cli/privacy_commands.cc).
void AddPrivacyCommands(CLI::App& app, int* exit_code);
// parts generate|evaluate (src/cli/service_commands.cc).
void AddServiceCommands(CLI::App& app, int* exit_code);
// dedupe, link, explain, evaluate, generate (src/cli/identity_commands.cc).
void AddIdentityCommands(CLI::App& app, int* exit_code);
// journey run|check|simulate (src/cli/journey_commands.cc).
void AddJourneyCommands(CLI::App& app, int* exit_code);
// mailing (src/cli/profile_commands.cc).
void AddProfileCommands(CLI::App& app, int* exit_code);
// cases check|route|classify|list|show (src/cli/case_commands.cc).
void AddCaseCommands(CLI::App& app, int* exit_code);

}  // namespace rapport::cli

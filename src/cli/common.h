// Helpers shared by the subcommands: opening the app from --db, reading files, reporting.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "app/app.h"
#include "core/status.h"

namespace rapport::cli {

// Adds --db (env RAPPORT_DB, default ./rapport.db) to a subcommand.
void AddDbOption(CLI::App* cmd, std::string* db);

// Opens the app for a one-shot command (system clock unless the database runs a manual one).
// The audit key file is `audit_key_file`, else RAPPORT_AUDIT_KEY_FILE, else the App's default.
Result<std::unique_ptr<app::App>> OpenForCommand(const std::string& db,
                                                 const std::string& audit_key_file = "");

// Reads a whole file; kNotFound / kUnavailable naming the path.
Result<std::string> ReadFile(const std::string& path);

// Prints "error: <message> (at <where>)" to stderr and returns 2 (bad input) or 1.
int ReportError(const Status& status);

}  // namespace rapport::cli

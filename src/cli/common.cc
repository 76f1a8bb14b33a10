#include "cli/common.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace rapport::cli {

void AddDbOption(CLI::App* cmd, std::string* db) {
  cmd->add_option("--db", *db, "SQLite database file, :memory:, or a postgres:// URL")
      ->envname("RAPPORT_DB")
      ->default_val("rapport.db");
}

Result<std::unique_ptr<app::App>> OpenForCommand(const std::string& db,
                                                 const std::string& audit_key_file) {
  app::Config config;
  config.db = db;
  config.audit_key_file = audit_key_file;
  // Every command that touches personal data appends audit entries, so all of them need the
  // key, not only `rapport audit`.
  if (const char* env = std::getenv("RAPPORT_AUDIT_KEY_FILE");
      env && config.audit_key_file.empty()) {
    config.audit_key_file = env;
  }
  return app::App::Open(config);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                  "cannot read '" + path + "': " + std::strerror(errno), path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ReportError(const Status& status) {
  std::cerr << "error: " << status.message();
  if (!status.where().empty()) std::cerr << " (at " << status.where() << ")";
  std::cerr << "\n";
  return status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kNotFound
             ? 2
             : 1;
}

}  // namespace rapport::cli

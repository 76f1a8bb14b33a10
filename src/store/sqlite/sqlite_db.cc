#include "store/sqlite/sqlite_db.h"

namespace rapport::store::internal {
namespace {

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// replace_nocase(text, needle, replacement): replace() ignoring ASCII case, as SQLite's own
// lower() does. An erasure must find "Max.Leser@…" when it looks for "max.leser@…".
void ReplaceNocase(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const auto* needle = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  const auto* to = reinterpret_cast<const char*>(sqlite3_value_text(argv[2]));
  if (text == nullptr || needle == nullptr || to == nullptr) {
    sqlite3_result_value(ctx, argv[0]);
    return;
  }
  std::string_view t(text, sqlite3_value_bytes(argv[0]));
  std::string_view n(needle, sqlite3_value_bytes(argv[1]));
  std::string_view r(to, sqlite3_value_bytes(argv[2]));
  if (n.empty()) {
    sqlite3_result_value(ctx, argv[0]);
    return;
  }
  std::string out;
  out.reserve(t.size());
  size_t i = 0;
  while (i < t.size()) {
    bool match = i + n.size() <= t.size();
    for (size_t k = 0; match && k < n.size(); ++k) match = AsciiLower(t[i + k]) == AsciiLower(n[k]);
    if (match) {
      out += r;
      i += n.size();
    } else {
      out += t[i++];
    }
  }
  sqlite3_result_text64(ctx, out.data(), out.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("database is busy, retry: " + msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
      return Unavailable(msg);
    case SQLITE_TOOBIG:
      return {StatusCode::kPayloadTooLarge, msg};
    default:
      return Internal(msg);
  }
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, int flags,
                                                     int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, "cannot open database '" + path + "'");
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_create_function(db, "replace_nocase", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                          &ReplaceNocase, nullptr, nullptr);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

Status Connection::Exec(std::string_view sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string what = std::string(sql.substr(0, 60));
    if (err) sqlite3_free(err);
    return SqliteError(db_, rc, what);
  }
  return OkStatus();
}

Result<Statement*> Connection::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.c_str(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
  auto owned = std::make_unique<Statement>(db_, stmt);
  Statement* raw = owned.get();
  cache_.emplace(std::move(key), std::move(owned));
  return raw;
}

}  // namespace rapport::store::internal

// Thin RAII wrappers over the SQLite C API, private to the SQLite backend.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace rapport::store::internal {

// Maps an SQLite result code to a Status naming the operation.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

// A prepared statement; Reset() runs automatically when a Binding goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // The text must stay alive until the statement is reset (no copy is made).
  void Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string Text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Resets the statement at scope exit so it can be reused and releases its read snapshot.
class StatementUse {
 public:
  explicit StatementUse(Statement& s) : s_(s) {}
  ~StatementUse() { s_.Reset(); }
  Statement* operator->() { return &s_; }
  Statement& operator*() { return s_; }

 private:
  Statement& s_;
};

// One connection with its cache of prepared statements. Not thread-safe.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, int flags,
                                                  int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Executes SQL text without parameters (pragmas, DDL, BEGIN/COMMIT).
  Status Exec(std::string_view sql);
  // A cached prepared statement for `sql` (prepared on first use).
  Result<Statement*> Prepare(std::string_view sql);
  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {}
  ~Transaction() {
    if (open_) (void)c_.Exec("ROLLBACK");
  }
  Status Begin() {
    RETURN_IF_ERROR(c_.Exec("BEGIN IMMEDIATE"));
    open_ = true;
    return OkStatus();
  }
  Status Commit() {
    RETURN_IF_ERROR(c_.Exec("COMMIT"));
    open_ = false;
    return OkStatus();
  }

 private:
  Connection& c_;
  bool open_ = false;
};

}  // namespace rapport::store::internal

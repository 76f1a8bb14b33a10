#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

namespace rapport::store {
namespace {

class TempDb {
 public:
  TempDb() {
    path_ = std::filesystem::temp_directory_path() /
            ("rapport-sqlite-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++) + ".db");
    std::filesystem::remove(path_);
  }
  ~TempDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

void RawExec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, MigrationsRunOnceAndSurviveReopen) {
  TempDb db;
  {
    auto store = OpenSqliteStore({.path = db.path()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->Stats()->schema_version, 2);
    ASSERT_TRUE((*store)->PutSetting("k", "v").ok());
  }
  auto again = OpenSqliteStore({.path = db.path()});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->GetSetting("k").value(), "v");
}

TEST(SqliteStoreTest, RefusesAForeignDatabase) {
  TempDb db;
  RawExec(db.path(), "CREATE TABLE customers (id INTEGER)");
  auto store = OpenSqliteStore({.path = db.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("not a Rapport database"), std::string::npos);
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanTheBinary) {
  TempDb db;
  { ASSERT_TRUE(OpenSqliteStore({.path = db.path()}).ok()); }
  RawExec(db.path(), "INSERT INTO schema_migrations VALUES (999, 0)");
  auto store = OpenSqliteStore({.path = db.path()});
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

TEST(SqliteStoreTest, UnopenablePathIsUnavailableNamingThePath) {
  auto store = OpenSqliteStore({.path = "/nonexistent-dir/x/rapport.db"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find("/nonexistent-dir/x/rapport.db"), std::string::npos);
}

}  // namespace
}  // namespace rapport::store

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
            ("rapport-sqlite-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++) +
             ".db");
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

std::string FileBytes(const std::string& path) {
  std::string out;
  for (const char* suffix : {"", "-wal"}) {
    FILE* f = std::fopen((path + suffix).c_str(), "rb");
    if (!f) continue;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

TEST(SqliteStoreTest, EraseLeavesNoOldVersionOnFreePagesOrInTheWal) {
  TempDb db;
  // Written without secure_delete (as by an SQLite built without it): freed space keeps its
  // content until it is reused.
  auto store =
      OpenSqliteStore({.path = db.path(), .sync_every_commit = false, .secure_delete = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string mail = "erika.old-version@example.org";
  // Larger than a page: the old version leaves its start in the page's free space and its
  // overflow pages on the free list when the document is rewritten.
  std::string big(20000, 'x');
  WriteBatch first;
  first.puts.push_back(
      {{"person", "p1", "{\"email\":\"" + mail + "\",\"pad\":\"" + big + "\"}", 0}, 0});
  ASSERT_TRUE((*store)->Write(first).ok());
  WriteBatch second;
  second.puts.push_back({{"person", "p1", "{\"email\":\"new@example.org\"}", 0}, 1});
  ASSERT_TRUE((*store)->Write(second).ok());
  ASSERT_NE(FileBytes(db.path()).find(mail), std::string::npos) << "nothing to show";
  // Opened as `rapport` opens it (secure_delete on from now on).
  store->reset();
  store = OpenSqliteStore({.path = db.path(), .sync_every_commit = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_FALSE(*(*store)->GetSetting("store.deleted-content-zeroed"));
  // No stored row holds the address any more; the erasure still removes its traces.
  auto counts = (*store)->Erase({.needles = {mail}});
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->documents, 0);
  EXPECT_EQ(FileBytes(db.path()).find(mail), std::string::npos);
  EXPECT_TRUE(*(*store)->GetSetting("store.deleted-content-zeroed")) << "rebuilt once";
}

// A reader in the middle of a long read keeps the WAL from being truncated. The erasure is
// committed by then, so it is reported as done with a warning, not as an error that would make
// the caller believe nothing happened (and not record the erasure).
TEST(SqliteStoreTest, AnEraseWhoseWalCannotBeTruncatedIsCommittedWithAWarning) {
  TempDb db;
  auto store = OpenSqliteStore({.path = db.path(), .sync_every_commit = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string mail = "held.open@example.org";
  WriteBatch b;
  b.puts.push_back({{"person", "p1", "{\"email\":\"" + mail + "\"}", 0}, 0});
  ASSERT_TRUE((*store)->Write(b).ok());
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(db.path().c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM documents;", nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(reader);
  auto counts = (*store)->Erase({.needles = {mail}});
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->documents, 1);
  std::string warnings;
  for (const auto& w : counts->warnings) warnings += w + "\n";
  EXPECT_NE(warnings.find("WAL"), std::string::npos) << warnings;
  EXPECT_EQ((*(*store)->GetDocument("person", "p1"))->body, "{\"email\":\"[erased]\"}");
}

// Checkpoints run beside the writer, not inside its commits; they must still happen while the
// store is open, or the WAL grows without bound (a long import).
TEST(SqliteStoreTest, CommittedPagesReachTheDatabaseFileWhileTheStoreIsOpen) {
  TempDb db;
  auto store = OpenSqliteStore({.path = db.path()});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string body(4000, 'x');
  for (int i = 0; i < 3000; ++i) {
    WriteBatch b;
    b.puts.push_back({Document{.kind = "k", .id = std::to_string(i), .body = body}, 0});
    ASSERT_TRUE((*store)->Write(b).ok());
  }
  std::uintmax_t size = 0;
  for (int i = 0; i < 500 && size < 4'000'000; ++i) {
    size = std::filesystem::file_size(db.path());
    if (size < 4'000'000) usleep(10'000);
  }
  EXPECT_GE(size, 4'000'000u) << "WAL: " << std::filesystem::file_size(db.path() + "-wal");
}

TEST(SqliteStoreTest, UnopenablePathIsUnavailableNamingThePath) {
  auto store = OpenSqliteStore({.path = "/nonexistent-dir/x/rapport.db"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(store.status().message().find("/nonexistent-dir/x/rapport.db"), std::string::npos);
}

}  // namespace
}  // namespace rapport::store

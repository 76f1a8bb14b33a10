#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>

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
    EXPECT_EQ((*store)->Stats()->schema_version, 5);
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

Event SubjectEvent(int n, std::string subject) {
  Event e;
  e.id = "ev-" + std::to_string(n);
  e.type = n % 3 == 0 ? "order.placed" : "kit.delivered";
  e.subject = std::move(subject);
  e.payload = Json::object();
  return e;
}

// Every event of `subject` (and `type`, when given) after `after`, read a page at a time.
std::vector<std::string> SubjectIds(Store& store, const std::string& subject,
                                    const std::string& type = "", int64_t after = 0) {
  std::vector<std::string> ids;
  do {
    auto page = store.ListEvents({.subject = subject, .type = type, .after = after, .limit = 2});
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    for (const auto& e : page->events) ids.push_back(e.id);
    after = page->next_after;
  } while (after != 0);
  return ids;
}

int64_t RawCount(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

TEST(SqliteStoreTest, SubjectQueriesReadIndexedChunksAndTheUnindexedTailInOrder) {
  TempDb db;
  auto opened = OpenSqliteStore({.path = db.path(), .subject_index_chunk = 7});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& store = **opened;
  const std::vector<std::string> subjects = {"cust-b", "cust-a", "cust-c"};
  std::map<std::string, std::vector<std::string>> expected, expected_orders;
  int n = 0;
  for (int batch = 0; batch < 7; ++batch) {
    std::vector<Event> events;
    for (int i = 0; i < 4; ++i, ++n) {
      std::string subject = subjects[(n * 7 + batch) % 3];
      events.push_back(SubjectEvent(n, subject));
      expected[subject].push_back(events.back().id);
      if (events.back().type == "order.placed")
        expected_orders[subject].push_back(events.back().id);
    }
    if (batch == 2) events.push_back(SubjectEvent(0, "cust-a"));  // a duplicate: stored once
    ASSERT_TRUE(store.AppendEvents(events).ok());
  }
  // 28 events in batches of 4, indexed once 7 or more are new: after the batches that end
  // at 8, 16 and 24. The last 4 are the tail; both parts, and pages that span them, must come
  // back in log order.
  EXPECT_EQ(RawCount(db.path(), "SELECT indexed_upto FROM event_subjects_state"), 24);
  EXPECT_EQ(RawCount(db.path(), "SELECT count(*) FROM event_subjects"), 24);
  for (const auto& subject : subjects) {
    EXPECT_EQ(SubjectIds(store, subject), expected[subject]) << subject;
    EXPECT_EQ(SubjectIds(store, subject, "order.placed"), expected_orders[subject]) << subject;
  }
  auto tail_only = store.ListEvents({.subject = "cust-a", .after = 24, .limit = 10});
  ASSERT_TRUE(tail_only.ok());
  EXPECT_FALSE(tail_only->events.empty());
  for (const auto& e : tail_only->events) EXPECT_GT(e.seq, 24);
  EXPECT_TRUE(SubjectIds(store, "cust-unknown").empty());

  // An erased subject is renamed in the index as in the log.
  auto erased = store.Erase({.needles = {"cust-a"}});
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_TRUE(SubjectIds(store, "cust-a").empty());
  EXPECT_EQ(SubjectIds(store, "[erased]"), expected["cust-a"]);
}

TEST(SqliteStoreTest, TheSubjectIndexMigrationIndexesEveryStoredEvent) {
  TempDb db;
  {
    auto store = OpenSqliteStore({.path = db.path()});
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->AppendEvents({SubjectEvent(1, "x"), SubjectEvent(2, "y"),
                                    SubjectEvent(3, "x"), SubjectEvent(4, "")})
                    .ok());
  }
  // Back to the schema before migration 3, with its row-by-row index (and without the later
  // migrations, which run again after it).
  RawExec(db.path(),
          "DROP TABLE event_subjects; DROP TABLE event_subjects_state; "
          "CREATE INDEX events_by_subject ON events (subject, seq); "
          "ALTER TABLE tokens DROP COLUMN expires_at; DROP INDEX queue_items_by_claimer; "
          "ALTER TABLE queue_items DROP COLUMN claimed_by; "
          "DELETE FROM schema_migrations WHERE version >= 3");
  auto store = OpenSqliteStore({.path = db.path()});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Stats()->schema_version, 5);
  EXPECT_EQ(RawCount(db.path(), "SELECT count(*) FROM event_subjects"), 3) << "no empty subject";
  EXPECT_EQ(RawCount(db.path(), "SELECT indexed_upto FROM event_subjects_state"), 4);
  EXPECT_EQ(RawCount(db.path(),
                     "SELECT count(*) FROM sqlite_schema WHERE name = "
                     "'events_by_subject'"),
            0);
  EXPECT_EQ(SubjectIds(**store, "x"), (std::vector<std::string>{"ev-1", "ev-3"}));
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

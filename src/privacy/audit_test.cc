#include "privacy/audit.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "store/sqlite/sqlite_store.h"

namespace rapport::privacy {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogTest()
      : path_(std::filesystem::temp_directory_path() /
              ("rapport-audit-test-" + std::to_string(getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db")) {
    Remove();
    Reopen();
  }
  ~AuditLogTest() override {
    log_.reset();
    store_.reset();
    Remove();
  }

  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_.string() + suffix);
  }
  void Reopen() {
    log_.reset();
    store_.reset();
    auto store = store::OpenSqliteStore({.path = path_.string()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    log_ = std::make_unique<AuditLog>(*store_, clock_, key_);
  }
  void UseKey(std::optional<AuditKey> key) {
    key_ = std::move(key);
    Reopen();
  }
  static AuditKey RandomKey() {
    std::string bytes(32, '\0');
    randombytes_buf(bytes.data(), bytes.size());
    return AuditKey::FromBytes(std::move(bytes));
  }
  // An attacker with write access to the database but not the key: `rewrite` edits the entries'
  // JSON (in chain order), then every entry is re-chained and re-MACed with a key of the
  // attacker's own (claiming the real key's id) and the head is set to the new chain's end.
  void RewriteChain(const std::function<void(std::vector<Json>&)>& rewrite) {
    log_.reset();
    store_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    std::vector<std::pair<int64_t, Json>> rows;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT seq, body FROM log_lines WHERE stream = 'audit' ORDER BY seq",
                       -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      rows.emplace_back(sqlite3_column_int64(st, 0),
                        Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))));
    }
    sqlite3_finalize(st);
    std::vector<Json> bodies;
    for (auto& [seq, body] : rows) bodies.push_back(body);
    rewrite(bodies);
    AuditKey forged = RandomKey();
    std::string prev;
    for (size_t i = 0; i < bodies.size(); ++i) {
      Json& b = bodies[i];
      b["n"] = static_cast<int64_t>(i + 1);
      b["prev"] = prev;
      b.erase("hash");
      unsigned char mac[crypto_auth_hmacsha256_BYTES];
      std::string text = b.dump();
      crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                             reinterpret_cast<const unsigned char*>(forged.bytes.data()));
      char hex[sizeof mac * 2 + 1];
      sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
      prev = b["hash"] = std::string(hex);
      sqlite3_prepare_v2(db, "UPDATE log_lines SET body = ? WHERE stream = 'audit' AND seq = ?", -1,
                         &st, nullptr);
      std::string dumped = b.dump();
      sqlite3_bind_text(st, 1, dumped.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, rows[i].first);
      ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
      sqlite3_finalize(st);
    }
    std::string head = Json{{"n", static_cast<int64_t>(bodies.size())}, {"hash", prev}}.dump();
    sqlite3_prepare_v2(db, "UPDATE documents SET body = ? WHERE kind = 'audit-head'", -1, &st,
                       nullptr);
    sqlite3_bind_text(st, 1, head.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    Reopen();
  }
  // Changes the database behind the store's back, as an attacker with file access would.
  void Tamper(const std::string& sql) {
    log_.reset();
    store_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
    ASSERT_EQ(sqlite3_changes(db), 1) << sql;
    sqlite3_close(db);
    Reopen();
  }
  void AppendReads(int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(log_->Append(AuditEntry{.actor = "tok_agent",
                                          .actor_role = "agent",
                                          .action = "person.read",
                                          .subject = "per_" + std::to_string(i % 3),
                                          .detail = {{"fields", {"email"}}}})
                      .ok());
    }
  }
  AuditVerification Verified() {
    auto v = log_->Verify();
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : AuditVerification{.ok = false, .problem = "verify failed"};
  }

  std::filesystem::path path_;
  ManualClock clock_{*ParseTime("2026-11-23T10:00:00Z")};
  std::optional<AuditKey> key_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, AnEmptyLogVerifies) {
  auto v = Verified();
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.entries, 0);
}

TEST_F(AuditLogTest, EntriesChainAndSurviveARestart) {
  AppendReads(5);
  Reopen();
  AppendReads(2);
  auto v = Verified();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 7);

  auto all = log_->List("", 0, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 7u);
  for (size_t i = 0; i < all->size(); ++i) {
    EXPECT_EQ((*all)[i].n, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*all)[i].prev_hash, i == 0 ? "" : (*all)[i - 1].hash);
  }
  auto one = log_->List("per_1", 0, 100);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 3u);  // entries 2 and 5, and 7 after the restart
  EXPECT_EQ((*one)[0].entry.detail["fields"][0], "email");
  EXPECT_EQ((*one)[1].n, 5);
  EXPECT_EQ((*one)[2].n, 7);
}

TEST_F(AuditLogTest, AnAlteredEntryIsFoundAndNamed) {
  AppendReads(4);
  Tamper(
      "UPDATE log_lines SET body = replace(body, '\"tok_agent\"', '\"tok_other\"') "
      "WHERE stream = 'audit' AND seq = (SELECT seq FROM log_lines WHERE stream = 'audit' "
      "ORDER BY seq LIMIT 1 OFFSET 2)");
  auto v = Verified();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.problem, "entry 3: was altered (its hash does not match)");
}

TEST_F(AuditLogTest, ARemovedEntryIsFound) {
  AppendReads(4);
  Tamper(
      "DELETE FROM log_lines WHERE stream = 'audit' AND seq = (SELECT seq FROM log_lines "
      "WHERE stream = 'audit' ORDER BY seq LIMIT 1 OFFSET 1)");
  auto v = Verified();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("entry 2"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, CuttingOffTheLastEntryIsFound) {
  AppendReads(3);
  Tamper(
      "DELETE FROM log_lines WHERE stream = 'audit' AND seq = (SELECT max(seq) FROM log_lines "
      "WHERE stream = 'audit')");
  auto v = Verified();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("head counts 3 entries, the log holds 2"), std::string::npos)
      << v.problem;
}

TEST_F(AuditLogTest, ConcurrentAppendsFormOneChain) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back([this] { AppendReads(50); });
  for (auto& t : threads) t.join();
  auto v = Verified();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 400);
}

TEST_F(AuditLogTest, TheDomainChangeIsStoredWithItsEntry) {
  store::WriteBatch with;
  with.puts.push_back({store::Document{.kind = "consent", .id = "c1", .body = "{}"}, 0});
  ASSERT_TRUE(
      log_->Append({AuditEntry{.actor = "system", .action = "consent.given", .subject = "per_1"}},
                   with)
          .ok());
  EXPECT_TRUE(store_->GetDocument("consent", "c1")->has_value());

  // The same document again with "must not exist": refused, and no entry is written.
  Status again = log_->Append(
      {AuditEntry{.actor = "system", .action = "consent.given", .subject = "per_1"}}, with);
  EXPECT_EQ(again.code(), StatusCode::kAborted);
  auto v = Verified();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 1);
}

TEST_F(AuditLogTest, BufferedReadsAreCommittedBeforeListingAndAtShutdown) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(log_->AppendBuffered(AuditEntry{.actor = "tok_agent",
                                                .actor_role = "agent",
                                                .action = "person.read",
                                                .subject = "per_9"})
                    .ok());
  }
  auto listed = log_->List("per_9", 0, 100);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 3u);

  ASSERT_TRUE(log_->AppendBuffered(AuditEntry{.actor = "tok_agent",
                                              .actor_role = "agent",
                                              .action = "person.read",
                                              .subject = "per_9"})
                  .ok());
  Reopen();  // destroys the log: a clean shutdown commits the queued entry
  auto v = Verified();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 4);
}

// A listing right after a buffered read must show it even when the background flusher has
// just taken the buffer and is still storing it (that race lost a partner's case read).
TEST_F(AuditLogTest, AListingWaitsForTheBatchTheFlusherIsStoring) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(log_->AppendBuffered(AuditEntry{.actor = "tok_partner",
                                                .actor_role = "partner",
                                                .action = "case.read",
                                                .subject = "cas_7"})
                    .ok());
    // Around the flush interval, so that the flusher is often mid-batch when the listing comes.
    std::this_thread::sleep_for(AuditLog::kFlushInterval * (i % 5) / 4);
    auto listed = log_->List("cas_7", 0, 1000);
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    ASSERT_EQ(listed->size(), static_cast<size_t>(i + 1)) << "after entry " << i;
  }
}

TEST_F(AuditLogTest, AnEntryNeedsAnAction) {
  EXPECT_EQ(log_->Append(AuditEntry{.actor = "system"}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rapport::privacy

namespace rapport::privacy {
namespace {

TEST_F(AuditLogTest, AnEditedAndReHashedEntryIsFoundWithoutTheKeyKnown) {
  UseKey(RandomKey());
  AppendReads(4);
  RewriteChain([](std::vector<Json>& entries) { entries[1]["actor"] = "tok_other"; });
  auto v = Verified();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("entry 1: was altered, reordered or re-hashed"), std::string::npos)
      << v.problem;
}

TEST_F(AuditLogTest, SwappedEntriesAreFoundWithoutTheKeyKnown) {
  UseKey(RandomKey());
  AppendReads(4);
  RewriteChain([](std::vector<Json>& entries) { std::swap(entries[1], entries[2]); });
  auto v = Verified();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("MAC does not match"), std::string::npos) << v.problem;
}

TEST_F(AuditLogTest, AKeyAddedToAnOldLogKeysTheEntriesFromThenOn) {
  AppendReads(2);
  UseKey(RandomKey());
  AppendReads(2);
  auto v = Verified();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.first_keyed, 3);
}

TEST_F(AuditLogTest, AnOldUnkeyedLogStillVerifiesWithAKey) {
  AppendReads(3);
  UseKey(RandomKey());
  auto v = Verified();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, 3);
  EXPECT_EQ(v.first_keyed, 0);
}

TEST_F(AuditLogTest, AWrongKeyIsNamedAsSuch) {
  UseKey(RandomKey());
  AppendReads(2);
  UseKey(RandomKey());
  auto v = Verified();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("wrong --audit-key-file"), std::string::npos) << v.problem;
  Status appended = log_->Append(AuditEntry{.action = "person.read", .subject = "per_1"});
  EXPECT_EQ(appended.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(appended.message().find("wrong --audit-key-file"), std::string::npos);
}

TEST_F(AuditLogTest, ACutTailWithAFixedHeadIsFoundByACheckpoint) {
  UseKey(RandomKey());
  AppendReads(4);
  auto checkpoint = log_->Checkpoint();
  ASSERT_TRUE(checkpoint.ok());
  // The attacker deletes the last two entries and points the head at entry 2: no hash changes.
  for (int i = 0; i < 2; ++i) {
    Tamper(
        "DELETE FROM log_lines WHERE stream = 'audit' AND seq IN (SELECT seq FROM log_lines "
        "WHERE stream = 'audit' ORDER BY seq DESC LIMIT 1)");
  }
  Tamper(
      "UPDATE documents SET body = json_object('n', 2, 'key', json_extract(body, '$.key'), "
      "'hash', (SELECT json_extract(body, '$.hash') FROM log_lines WHERE stream = 'audit' "
      "ORDER BY seq DESC LIMIT 1)) WHERE kind = 'audit-head'");
  EXPECT_TRUE(Verified().ok);  // the chain alone cannot tell
  auto v = log_->Verify({*checkpoint});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->problem.find("the log holds only 2 entries"), std::string::npos) << v->problem;
}

TEST_F(AuditLogTest, ADeletedLogIsFoundByACheckpoint) {
  UseKey(RandomKey());
  AppendReads(3);
  auto checkpoint = log_->Checkpoint();
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_TRUE(log_->Verify({*checkpoint})->ok);
  log_.reset();
  store_.reset();
  Remove();
  Reopen();
  EXPECT_TRUE(Verified().ok);  // without the checkpoint, an empty log looks intact
  auto v = log_->Verify({*checkpoint});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_NE(v->problem.find("the whole log was deleted"), std::string::npos) << v->problem;
}

TEST_F(AuditLogTest, ACheckpointSurvivesItsFileFormAndRejectsAnAlteredOne) {
  UseKey(RandomKey());
  AppendReads(2);
  auto checkpoint = log_->Checkpoint();
  ASSERT_TRUE(checkpoint.ok());
  auto parsed = ParseAuditCheckpoints(AuditCheckpointLine(*checkpoint) + "\n\n");
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_TRUE(log_->Verify(*parsed)->ok);
  (*parsed)[0].entries = 1;
  EXPECT_NE(log_->Verify(*parsed)->problem.find("MAC does not match"), std::string::npos);
}

}  // namespace
}  // namespace rapport::privacy

// Behaviour every Store backend must share. Each backend registers a factory; the same tests
// run against each (the PostgreSQL backend joins this list when it exists).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "core/ids.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace rapport::store {
namespace {

struct Backend {
  std::string name;
  std::function<Result<std::unique_ptr<Store>>(const std::string& scratch)> open;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

// A fresh database per test in the cluster that ctest started (fixture `postgres`). Without
// RAPPORT_TEST_PG the postgres tests fail: they must never be skipped silently.
Result<std::unique_ptr<Store>> OpenFreshPostgres(const std::string& scratch) {
  const char* conninfo = std::getenv("RAPPORT_TEST_PG");
  if (!conninfo) {
    return FailedPrecondition(
        "RAPPORT_TEST_PG is not set: run under ctest, which starts a PostgreSQL cluster "
        "(tests/pg_cluster.sh)");
  }
  std::string db = "t" + std::to_string(Hash64(scratch));
  PGconn* admin = PQconnectdb((std::string(conninfo) + " dbname=postgres").c_str());
  if (PQstatus(admin) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(admin);
    PQfinish(admin);
    return Unavailable("cannot reach the test PostgreSQL: " + msg);
  }
  for (std::string sql : {std::string("SET client_min_messages = warning"),
                          "DROP DATABASE IF EXISTS " + db, "CREATE DATABASE " + db}) {
    PQclear(PQexec(admin, sql.c_str()));
  }
  PQfinish(admin);
  return OpenPostgresStore({.url = std::string(conninfo) + " dbname=" + db, .pool_size = 4});
}

std::vector<Backend> Backends() {
  return {
      {"sqlite_file",
       [](const std::string& scratch) {
         return OpenSqliteStore({.path = scratch + ".db", .sync_every_commit = false});
       }},
      {"sqlite_memory", [](const std::string&) { return OpenSqliteStore({.path = ":memory:"}); }},
      {"postgres", OpenFreshPostgres},
  };
}

class StoreConformanceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    scratch_ = (std::filesystem::temp_directory_path() /
                ("rapport-conformance-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                   .string();
    std::replace(scratch_.begin() + 5, scratch_.end(), '/', '_');  // parameterised names hold '/'
    Cleanup();
    auto s = GetParam().open(scratch_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    Cleanup();
  }
  void Cleanup() {
    for (const char* suffix : {".db", ".db-wal", ".db-shm"}) {
      std::error_code ec;
      std::filesystem::remove(scratch_ + suffix, ec);
    }
  }

  Event MakeEvent(std::string id, std::string subject = "cust-1") {
    Event e;
    e.id = std::move(id);
    e.type = "kit.delivered";
    e.subject = std::move(subject);
    e.keys = {{"order_id", "O-1"}};
    e.occurred_at = *ParseTime("2026-11-20T10:00:00Z");
    e.received_at = *ParseTime("2026-11-20T10:05:00Z");
    e.payload = {{"carrier", "DHL"}};
    return e;
  }

  SourceRecord MakeRecord(std::string key, std::string name) {
    SourceRecord r;
    r.id = ids_.Next("rec");
    r.source = "shop";
    r.source_key = std::move(key);
    r.fields = {{"last_name", std::move(name)}, {"city", "München"}};
    r.received_at = *ParseTime("2026-11-20T10:00:00Z");
    return r;
  }

  std::string scratch_;
  std::unique_ptr<Store> store_;
  SystemClock clock_;
  UlidSource ids_{clock_};
};

TEST_P(StoreConformanceTest, EventIdIsStoredOnceAndAcknowledgedTwice) {
  auto first = store_->AppendEvents({MakeEvent("e1"), MakeEvent("e2")});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE((*first)[0].created);
  EXPECT_LT((*first)[0].seq, (*first)[1].seq);

  Event changed = MakeEvent("e1");
  changed.type = "something.else";
  auto again = store_->AppendEvents({changed, MakeEvent("e3"), MakeEvent("e3")});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)[0].created);
  EXPECT_EQ((*again)[0].seq, (*first)[0].seq);
  EXPECT_TRUE((*again)[1].created);
  EXPECT_FALSE((*again)[2].created);
  EXPECT_EQ((*again)[2].seq, (*again)[1].seq);

  auto stored = store_->GetEvent("e1");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->type, "kit.delivered");  // the first version is kept
  EXPECT_EQ(stored->payload["carrier"], "DHL");
  EXPECT_EQ(stored->keys, (Fields{{"order_id", "O-1"}}));
  EXPECT_EQ(FormatTime(stored->occurred_at), "2026-11-20T10:00:00Z");
  EXPECT_EQ(store_->Stats()->events, 3);
}

TEST_P(StoreConformanceTest, BatchWithAnInvalidEventStoresNothing) {
  Event bad = MakeEvent("");
  auto r = store_->AppendEvents({MakeEvent("ok-1"), bad});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(store_->GetEvent("ok-1").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, ListEventsPaginatesBySubjectWithACursor) {
  std::vector<Event> batch;
  for (int i = 0; i < 25; ++i)
    batch.push_back(MakeEvent("ev" + std::to_string(i), i % 2 ? "a" : "b"));
  ASSERT_TRUE(store_->AppendEvents(batch).ok());
  std::vector<std::string> seen;
  int64_t after = 0;
  int pages = 0;
  do {
    auto page = store_->ListEvents({.subject = "a", .after = after, .limit = 5});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (auto& e : page->events) {
      EXPECT_EQ(e.subject, "a");
      seen.push_back(e.id);
    }
    after = page->next_after;
    ++pages;
  } while (after != 0);
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.front(), "ev1");
  EXPECT_EQ(seen.back(), "ev23");
  auto all = store_->ListEvents({.limit = 1000});
  EXPECT_EQ(all->events.size(), 25u);
  EXPECT_EQ(all->next_after, 0);
  EXPECT_EQ(store_->ListEvents({.type = "other"})->events.size(), 0u);
  EXPECT_EQ(store_->ListEvents({.limit = 0}).status().where(), "limit");
}

TEST_P(StoreConformanceTest, ListEventsWithHeadsOnlyReadsTheContentsOfTheNamedTypesOnly) {
  Event order = MakeEvent("o1");
  order.type = "order.placed";
  Event rating = MakeEvent("r1");
  rating.type = "rating.submitted";
  rating.payload = Json{{"stars", 2}};
  rating.keys = {{"order_id", "O-1"}};
  ASSERT_TRUE(store_->AppendEvents({order, rating}).ok());
  store::EventQuery q{.limit = 10, .heads_only = true, .contents_of = {"rating.submitted"}};
  auto page = store_->ListEvents(q);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].id, "o1");
  EXPECT_EQ(page->events[0].type, "order.placed");
  EXPECT_EQ(page->events[0].subject, "cust-1");
  EXPECT_EQ(page->events[0].occurred_at, order.occurred_at);
  EXPECT_TRUE(page->events[0].keys.empty());
  EXPECT_TRUE(page->events[0].payload.empty()) << "a head only";
  EXPECT_EQ(page->events[1].payload, rating.payload);
  EXPECT_EQ(page->events[1].keys, rating.keys);
  auto full = store_->ListEvents({.limit = 10});
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->events[0].payload.empty()) << "without heads_only every event is whole";
}

TEST_P(StoreConformanceTest, IdenticalRecordIsStoredOnceChangedRecordIsANewVersion) {
  SourceRecord r1 = MakeRecord("C-1", "Müller");
  auto put = store_->PutRecords({r1});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE((*put)[0].created);

  SourceRecord same = MakeRecord("C-1", "Müller");
  auto again = store_->PutRecords({same});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)[0].created);
  EXPECT_EQ((*again)[0].id, r1.id);

  SourceRecord moved = MakeRecord("C-1", "Mueller");
  ASSERT_TRUE(store_->PutRecords({moved}).ok());
  auto versions = store_->GetRecordsBySourceKey("shop", "C-1");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ(*FindField((*versions)[0].fields, "last_name"), "Müller");
  EXPECT_EQ(*FindField((*versions)[1].fields, "last_name"), "Mueller");

  auto got = store_->GetRecord(r1.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->fields, r1.fields);  // field order as delivered
  EXPECT_EQ(store_->GetRecord("rec_missing").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, TokensAreRevokedByIdAndByName) {
  TokenRecord t{.id = "tok_1",
                .secret_hash = "ab",
                .role = Role::kPartner,
                .org = "acme",
                .name = "demo",
                .created_at = clock_.Now()};
  ASSERT_TRUE(store_->PutToken(t).ok());
  EXPECT_EQ(store_->PutToken(t).code(), StatusCode::kAlreadyExists);
  TokenRecord t2 = t;
  t2.id = "tok_2";
  ASSERT_TRUE(store_->PutToken(t2).ok());
  auto got = store_->GetToken("tok_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->role, Role::kPartner);
  EXPECT_EQ(got->org, "acme");
  EXPECT_FALSE(got->revoked_at.has_value());
  EXPECT_EQ(*store_->RevokeTokensNamed("demo", clock_.Now()), 2);
  EXPECT_EQ(*store_->RevokeTokensNamed("demo", clock_.Now()), 0);
  EXPECT_TRUE(store_->GetToken("tok_2")->revoked_at.has_value());
  EXPECT_EQ(store_->RevokeToken("tok_9", clock_.Now()).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ListTokens()->size(), 2u);
}

// Issue 18, finding 7: a token's expiry is stored with it and read back as given.
TEST_P(StoreConformanceTest, ATokensExpiryIsKept) {
  TokenRecord t{.id = "tok_x",
                .secret_hash = "ab",
                .role = Role::kAgent,
                .created_at = clock_.Now(),
                .expires_at = clock_.Now() + std::chrono::hours(24 * 90)};
  ASSERT_TRUE(store_->PutToken(t).ok());
  EXPECT_EQ(store_->GetToken("tok_x")->expires_at, t.expires_at);
  t.id = "tok_y";
  t.expires_at.reset();
  ASSERT_TRUE(store_->PutToken(t).ok());
  EXPECT_FALSE(store_->GetToken("tok_y")->expires_at.has_value());
}

TEST_P(StoreConformanceTest, ConcurrentWritersAndReadersLoseNothing) {
  constexpr int kThreads = 4, kBatches = 20, kPerBatch = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Event> batch;
        for (int i = 0; i < kPerBatch; ++i) {
          batch.push_back(MakeEvent("t" + std::to_string(t) + "-" + std::to_string(b) + "-" +
                                    std::to_string(i)));
        }
        if (!store_->AppendEvents(batch).ok()) ++failures;
        if (!store_->ListEvents({.limit = 10}).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->Stats()->events, kThreads * kBatches * kPerBatch);
}

TEST_P(StoreConformanceTest, DocumentWritesAreAtomicAndCheckRevisions) {
  WriteBatch create;
  create.puts.push_back({{"case", "c-1", R"({"state":"open"})"}, 0});
  create.append.push_back({"case-timeline", "c-1", "opened", clock_.Now()});
  ASSERT_TRUE(store_->Write(create).ok());
  auto doc = store_->GetDocument("case", "c-1");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ((*doc)->revision, 1);
  EXPECT_EQ(store_->Write(create).code(), StatusCode::kAborted);  // must not exist yet

  WriteBatch update;
  update.puts.push_back({{"case", "c-1", R"({"state":"handed_over"})"}, 1});
  update.append.push_back({"case-timeline", "c-1", "handed over", clock_.Now()});
  ASSERT_TRUE(store_->Write(update).ok());
  // A writer that read revision 1 loses, and nothing of its batch is written.
  WriteBatch stale = update;
  stale.puts[0].doc.body = R"({"state":"lost update"})";
  stale.enqueue.push_back({"sla", "c-1", clock_.Now(), "{}", 0});
  Status s = store_->Write(stale);
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("case/c-1"), std::string::npos);
  EXPECT_EQ((*store_->GetDocument("case", "c-1"))->body, R"({"state":"handed_over"})");
  EXPECT_EQ((*store_->GetDocument("case", "c-1"))->revision, 2);
  EXPECT_FALSE(store_->NextDue("sla")->has_value());
  EXPECT_EQ(store_->ReadLog("case-timeline", "c-1", 0, 10)->size(), 2u);

  WriteBatch any;
  any.puts.push_back({{"case", "c-1", "{}"}, -1});
  any.deletes.push_back({"case", "missing"});
  ASSERT_TRUE(store_->Write(any).ok());
  EXPECT_EQ((*store_->GetDocument("case", "c-1"))->revision, 3);
  EXPECT_FALSE(store_->GetDocument("case", "missing")->has_value());
}

TEST_P(StoreConformanceTest, DocumentsListByPrefixInIdOrder) {
  WriteBatch b;
  for (std::string id :
       {"trade-in/O-2", "trade-in/O-10", "trade-in/O-1", "other/O-1", "trade-inx/1"}) {
    b.puts.push_back({{"instance", id, "{}"}, 0});
  }
  ASSERT_TRUE(store_->Write(b).ok());
  auto page = store_->ListDocuments("instance", "trade-in/", "", 2);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "trade-in/O-1");
  EXPECT_EQ((*page)[1].id, "trade-in/O-10");
  auto rest = store_->ListDocuments("instance", "trade-in/", (*page)[1].id, 10);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].id, "trade-in/O-2");
  EXPECT_EQ(store_->ListDocuments("instance", "", "", 10)->size(), 5u);
}

TEST_P(StoreConformanceTest, QueueItemsComeDueInOrderAndAreEnqueuedOnce) {
  Time t0 = *ParseTime("2026-11-01T00:00:00Z");
  WriteBatch b;
  b.enqueue.push_back({"timers", "b", t0 + std::chrono::hours(2), "B", 0});
  b.enqueue.push_back({"timers", "a", t0 + std::chrono::hours(1), "A", 0});
  b.enqueue.push_back({"timers", "c", t0 + std::chrono::hours(3), "C", 0});
  b.enqueue.push_back({"outbox", "x", t0, "X", 0});
  ASSERT_TRUE(store_->Write(b).ok());
  WriteBatch dup;
  dup.enqueue.push_back({"timers", "a", t0, "changed", 0});
  ASSERT_TRUE(store_->Write(dup).ok());
  EXPECT_EQ(**store_->NextDue("timers"), t0 + std::chrono::hours(1));
  auto due = store_->DueItems("timers", t0 + std::chrono::hours(2), 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "a");
  EXPECT_EQ((*due)[0].body, "A");
  EXPECT_EQ((*due)[1].id, "b");

  WriteBatch later;
  later.reschedule.push_back({"timers", "a", t0 + std::chrono::hours(5), "A2", 1});
  later.dequeue.push_back({"timers", "b"});
  ASSERT_TRUE(store_->Write(later).ok());
  auto now_due = store_->DueItems("timers", t0 + std::chrono::hours(4), 10);
  ASSERT_EQ(now_due->size(), 1u);
  EXPECT_EQ((*now_due)[0].id, "c");
  auto all = store_->DueItems("timers", t0 + std::chrono::hours(9), 10);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].body, "A2");
  EXPECT_EQ((*all)[1].attempts, 1);
}

TEST_P(StoreConformanceTest, ClaimedItemsGoToOneClaimerUntilTheLeaseEnds) {
  Time t0 = *ParseTime("2026-11-01T00:00:00Z");
  WriteBatch b;
  for (int i = 0; i < 40; ++i) {
    b.enqueue.push_back(
        {"outbox", "i" + std::to_string(100 + i), t0 + std::chrono::seconds(i), "B", 0});
  }
  b.enqueue.push_back({"outbox", "later", t0 + std::chrono::hours(1), "L", 0});
  ASSERT_TRUE(store_->Write(b).ok());
  const Time now = t0 + std::chrono::minutes(1), lease = now + std::chrono::seconds(30);

  // Four claimers at once take disjoint parts; together exactly the due ones.
  std::vector<std::string> claimed;
  std::mutex mu;
  std::vector<std::thread> claimers;
  for (int c = 0; c < 4; ++c) {
    claimers.emplace_back([&] {
      while (true) {
        auto got = store_->ClaimDue("outbox", now, lease, 3, "");
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        if (got->empty()) return;
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& item : *got) claimed.push_back(item.id);
      }
    });
  }
  for (auto& t : claimers) t.join();
  std::sort(claimed.begin(), claimed.end());
  ASSERT_EQ(claimed.size(), 40u);
  EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end()) << "claimed twice";

  // Nothing more until the lease ends; then a dead claimer's items come back.
  EXPECT_TRUE(store_->ClaimDue("outbox", lease - std::chrono::seconds(1), lease, 100, "")->empty());
  WriteBatch done;
  done.dequeue.push_back({"outbox", "i100"});
  ASSERT_TRUE(store_->Write(done).ok());
  auto again = store_->ClaimDue("outbox", lease, lease + std::chrono::seconds(30), 100, "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 39u);
  EXPECT_EQ(again->front().body, "B");
}

// Issue 18, finding 6: a claim names its claimer, which renews it (a heartbeat) or gives it
// back (a restart); another claimer's items and rescheduled items are not its claims.
TEST_P(StoreConformanceTest, AClaimerRenewsAndReleasesOnlyWhatItHolds) {
  const Time t0 = *ParseTime("2026-11-01T00:00:00Z");
  WriteBatch b;
  for (const char* id : {"a1", "a2", "b1", "r1"}) b.enqueue.push_back({"outbox", id, t0, id, 0});
  ASSERT_TRUE(store_->Write(b).ok());
  const Time lease = t0 + std::chrono::seconds(20);
  ASSERT_EQ(store_->ClaimDue("outbox", t0, lease, 2, "server-a")->size(), 2u);  // a1, a2
  ASSERT_EQ(store_->ClaimDue("outbox", t0, lease, 2, "server-b")->size(), 2u);  // b1, r1
  WriteBatch retry;  // b's delivery of r1 failed: rescheduled, no longer b's claim
  retry.reschedule.push_back({"outbox", "r1", t0 + std::chrono::hours(1), "r1", 1});
  ASSERT_TRUE(store_->Write(retry).ok());

  // The heartbeat moves a's claims only, and never back.
  const Time later = t0 + std::chrono::seconds(25);
  EXPECT_EQ(*store_->RenewClaims("outbox", "server-a", later), 2);
  EXPECT_EQ(*store_->RenewClaims("outbox", "server-a", t0), 2);
  EXPECT_EQ(*store_->RenewClaims("outbox", "server-b", later), 1);
  // Past the 20 s lease, the renewed claims are still held.
  EXPECT_TRUE(
      store_->ClaimDue("outbox", later - std::chrono::seconds(1), later, 10, "server-c")->empty());
  // a restarts: its claims are due at once and claimed by nobody.
  EXPECT_EQ(*store_->ReleaseClaims("outbox", "server-a", t0 + std::chrono::seconds(1)), 2);
  EXPECT_EQ(*store_->RenewClaims("outbox", "server-a", later), 0);
  auto back = store_->ClaimDue("outbox", t0 + std::chrono::seconds(1), lease, 10, "server-a");
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].id, "a1");
  EXPECT_EQ(store_->ReleaseClaims("outbox", "", t0).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, LogLinesReadByStreamAndKeyAfterACursor) {
  WriteBatch b;
  for (int i = 0; i < 5; ++i) {
    b.append.push_back({"timeline", i % 2 ? "k1" : "k2", "line" + std::to_string(i), clock_.Now()});
  }
  ASSERT_TRUE(store_->Write(b).ok());
  auto k1 = store_->ReadLog("timeline", "k1", 0, 10);
  ASSERT_TRUE(k1.ok());
  ASSERT_EQ(k1->size(), 2u);
  EXPECT_EQ((*k1)[0].body, "line1");
  auto all = store_->ReadLog("timeline", "", 0, 10);
  ASSERT_EQ(all->size(), 5u);
  auto after = store_->ReadLog("timeline", "", (*all)[2].seq, 10);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].body, "line3");
}

TEST_P(StoreConformanceTest, EraseRemovesAnAddressFromEveryTableAndBumpsRevisions) {
  const std::string mail = "anna.erased@example.org";
  SourceRecord kept = MakeRecord("K-2", "Keller");
  SourceRecord erased = MakeRecord("K-1", "Muster");
  erased.fields.push_back({"email", mail});
  auto puts = store_->PutRecords({erased, kept});
  ASSERT_TRUE(puts.ok()) << puts.status().ToString();
  Event by_id = MakeEvent("e-1");
  by_id.payload = {{"name", "Anna Muster"}};
  Event by_needle = MakeEvent("e-2", mail);
  by_needle.payload = {{"to", "anna.erased+shop@example.org"}};
  ASSERT_TRUE(store_->AppendEvents({by_id, by_needle}).ok());
  WriteBatch b;
  b.puts.push_back({{"person", "per_1", "{\"email\":\"" + mail + "\"}", 0}, 0});
  b.puts.push_back({{"alias", mail, "{}", 0}, 0});
  b.enqueue.push_back({"outbox", "o-1", clock_.Now(), "{\"to\":\"" + mail + "\"}", 0});
  b.append.push_back({"timeline", "per_1", "mail to " + mail, clock_.Now()});
  b.append.push_back({"timeline", "case_1", "Anna says: call me after six", clock_.Now()});
  b.append.push_back({"timeline", "case_1", "kept as it is", clock_.Now()});
  ASSERT_TRUE(store_->Write(b).ok());
  auto case_lines = store_->ReadLog("timeline", "case_1", 0, 10);
  ASSERT_TRUE(case_lines.ok() && case_lines->size() == 2u);

  EXPECT_EQ(store_->Erase({.needles = {"ab"}}).status().code(), StatusCode::kInvalidArgument);
  auto counts = store_->Erase({.record_ids = {(*puts)[0].id},
                               .event_ids = {"e-1"},
                               .needles = {mail, "anna.erased+shop@example.org"},
                               .log_bodies = {{(*case_lines)[0].seq, "{\"text\":\"[erased]\"}"}}});
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_GE(counts->records, 1);
  EXPECT_GE(counts->events, 2);
  EXPECT_GE(counts->documents, 2);
  EXPECT_EQ(counts->queue_items, 1);
  EXPECT_EQ(counts->log_lines, 2);
  EXPECT_TRUE(counts->warnings.empty()) << counts->warnings[0];
  auto redacted = store_->ReadLog("timeline", "case_1", 0, 10);
  ASSERT_EQ(redacted->size(), 2u);
  EXPECT_EQ((*redacted)[0].body, "{\"text\":\"[erased]\"}");
  EXPECT_EQ((*redacted)[0].seq, (*case_lines)[0].seq) << "the line keeps its place";
  EXPECT_EQ((*redacted)[1].body, "kept as it is");

  EXPECT_TRUE(store_->GetRecord((*puts)[0].id)->fields.empty());
  EXPECT_EQ(store_->GetRecord((*puts)[1].id)->fields, kept.fields) << "another record changed";
  EXPECT_EQ(store_->GetEvent("e-1")->payload, Json::object());
  Event e2 = *store_->GetEvent("e-2");
  EXPECT_EQ(e2.subject, "[erased]");
  EXPECT_EQ(e2.payload.dump().find("anna.erased"), std::string::npos);
  auto person = *store_->GetDocument("person", "per_1");
  ASSERT_TRUE(person);
  EXPECT_EQ(person->body, "{\"email\":\"[erased]\"}");
  EXPECT_EQ(person->revision, 2) << "a cached copy must not be written back";
  EXPECT_FALSE(*store_->GetDocument("alias", mail));
  EXPECT_TRUE(*store_->GetDocument("alias", "[erased]"));
  auto due = store_->DueItems("outbox", clock_.Now(), 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].body.find(mail), std::string::npos);
  EXPECT_EQ((*store_->ReadLog("timeline", "per_1", 0, 10))[0].body, "mail to [erased]");
}

// A person writes her address as she likes ("Anna.Erased@Example.ORG") and senders build event
// ids from it: the erasure finds every spelling and renames such ids, each to its own name.
TEST_P(StoreConformanceTest, EraseIgnoresCaseAndRenamesEventIdsThatEmbedTheAddress) {
  const std::string mail = "anna.erased+shop@example.org";
  Event shouted = MakeEvent("welcome-Anna.Erased+SHOP@Example.org", "K-1");
  shouted.payload = {{"to", "Max <ANNA.ERASED+shop@EXAMPLE.ORG>"}, {"note", "a (b) [c] *"}};
  Event second = MakeEvent("reminder-anna.erased+shop@example.org", "K-1");
  Event other = MakeEvent("welcome-berta@example.org", "K-2");
  other.payload = {{"to", "berta@example.org"}};
  ASSERT_TRUE(store_->AppendEvents({shouted, second, other}).ok());
  WriteBatch b;
  b.puts.push_back({{"alias", "x", "{\"to\":\"Anna.Erased+Shop@example.org\"}", 0}, 0});
  ASSERT_TRUE(store_->Write(b).ok());

  auto counts = store_->Erase({.needles = {mail}});
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_FALSE(store_->GetEvent(shouted.id).ok()) << "the id still names her";
  EXPECT_FALSE(store_->GetEvent(second.id).ok());
  auto page = store_->ListEvents({.subject = "K-1", .after = 0, .limit = 10});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->events.size(), 2u) << "renamed, not dropped";
  EXPECT_NE(page->events[0].id, page->events[1].id);
  for (const auto& ev : page->events) {
    std::string all = ev.id + ev.subject + ev.payload.dump();
    std::string lower = all;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(lower.find("anna.erased"), std::string::npos) << all;
    EXPECT_NE(ev.id.find("[erased]"), std::string::npos) << ev.id;
  }
  EXPECT_EQ(page->events[0].payload["note"], "a (b) [c] *") << "other text stays as it was";
  EXPECT_EQ((*store_->GetDocument("alias", "x"))->body, "{\"to\":\"[erased]\"}");
  auto kept = store_->GetEvent("welcome-berta@example.org");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->payload["to"], "berta@example.org");
}

TEST_P(StoreConformanceTest, EraseEmptiesEveryEventLinkedToAPersonBySubjectOrKey) {
  std::vector<Event> events;
  for (int i = 0; i < 120; ++i) {
    Event e = MakeEvent("by-subject-" + std::to_string(i), "K-77");
    e.payload = {{"note", "Frau Muster, Nr. " + std::to_string(i)}};
    events.push_back(e);
  }
  Event by_key = MakeEvent("by-key", "order-5");
  by_key.keys = {{"order_id", "order-5"}, {"customer", "K-77"}};
  by_key.payload = {{"name", "Anna Muster"}};
  Event other = MakeEvent("other", "K-770");
  other.keys = {{"customer", "K-7"}};
  other.payload = {{"name", "Berta Keller"}};
  events.push_back(by_key);
  events.push_back(other);
  ASSERT_TRUE(store_->AppendEvents(events).ok());
  auto counts = store_->Erase({.event_links = {"K-77", ""}});
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->events, 121);
  for (const auto& id : {"by-subject-0", "by-subject-119", "by-key"}) {
    EXPECT_EQ(store_->GetEvent(id)->payload, Json::object()) << id;
  }
  EXPECT_EQ(store_->GetEvent("other")->payload["name"], "Berta Keller");
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace rapport::store

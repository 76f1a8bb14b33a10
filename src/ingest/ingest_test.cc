#include "ingest/ingest.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "store/sqlite/sqlite_store.h"

namespace rapport::ingest {
namespace {

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
    ingestor_ = std::make_unique<Ingestor>(*store_, clock_, ids_, metrics_);
  }
  int64_t Events() { return store_->Stats()->events; }
  int64_t Records() { return store_->Stats()->records; }

  ManualClock clock_{*ParseTime("2026-11-23T10:00:00Z")};
  UlidSource ids_{clock_, 3};
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Ingestor> ingestor_;
};

TEST_F(IngestTest, NdjsonBatchWithOneBadLineIsRejectedWholeNamingTheLine) {
  std::string body =
      "{\"id\":\"a\",\"type\":\"order.placed\",\"occurred_at\":\"2026-11-01T00:00:00Z\"}\n"
      "{\"id\":\"b\",\"type\":\"order.placed\",\"occurred_at\":\"2026-11-01T00:00:00Z\"}\n"
      "{\"id\":\"c\",\"type\":\"order.placed\"}\n";
  auto parsed = ParseEvents(body, BodyFormat::kNdjson, clock_.Now());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().where(), "line 3.occurred_at");
  EXPECT_EQ(Events(), 0);
}

TEST_F(IngestTest, JsonArrayAndObjectBodiesAreAccepted) {
  auto one =
      ParseEvents(R"({"type":"x","occurred_at":"2026-11-01"})", BodyFormat::kJson, clock_.Now());
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto arr = ParseEvents(R"([{"type":"x","occurred_at":"2026-11-01"},{"type":"y"}])",
                         BodyFormat::kJson, clock_.Now());
  EXPECT_EQ(arr.status().where(), "[1].occurred_at");
  EXPECT_EQ(ParseEvents("[]", BodyFormat::kJson, clock_.Now()).status().where(), "body");
  EXPECT_EQ(ParseEvents("\n\n", BodyFormat::kNdjson, clock_.Now()).status().where(), "body");
}

TEST_F(IngestTest, EventsWithoutIdGetAContentIdSoResendingIsIdempotent) {
  std::string body =
      R"({"type":"kit.delivered","keys":{"order_id":"O-1"},"occurred_at":"2026-11-01T09:00:00Z"})";
  auto a = ParseEvents(body, BodyFormat::kJson, clock_.Now());
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(1)).ok());
  auto b = ParseEvents(body, BodyFormat::kJson, clock_.Now());  // received later: same id
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)[0].id, (*b)[0].id);
  EXPECT_EQ((*a)[0].id.size(), 4u + 32u);
  ASSERT_TRUE(ingestor_->AcceptEvents(*a).ok());
  auto second = ingestor_->AcceptEvents(*b);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->duplicates, 1u);
  EXPECT_EQ(Events(), 1);
  auto other = ParseEvents(
      R"({"type":"kit.delivered","keys":{"order_id":"O-2"},"occurred_at":"2026-11-01T09:00:00Z"})",
      BodyFormat::kJson, clock_.Now());
  EXPECT_NE((*other)[0].id, (*a)[0].id);
}

TEST_F(IngestTest, GermanExcelCsvIsConvertedAndReimportChangesNothing) {
  std::string csv =
      "Kundennr;Vorname;Nachname;Stra\xDF"
      "e;PLZ;Ort\r\n"
      "K-1;Johann;M\xFCller;Hauptstra\xDF"
      "e 5;80331;M\xFCnchen\r\n"
      "K-2;Anna;M\xFCller;Hauptstra\xDF"
      "e 5;80331;M\xFCnchen\r\n"
      "K-3;kaputt;zu;wenig\r\n";
  ImportOptions opts{.kind = ImportKind::kRecords, .source = "shop", .key_column = "Kundennr"};
  auto first = ImportCsv(*ingestor_, csv, opts);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 3u);
  EXPECT_EQ(first->stored, 2u);
  ASSERT_EQ(first->rejected.size(), 1u);
  EXPECT_EQ(first->rejected[0].line, 4);
  EXPECT_EQ(first->rejected[0].reason, "expected 6 fields, found 4");
  EXPECT_EQ(first->notes.size(), 2u);  // encoding and delimiter

  auto versions = store_->GetRecordsBySourceKey("shop", "K-1");
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ(*FindField((*versions)[0].fields, "Nachname"), "Müller");
  EXPECT_EQ(*FindField((*versions)[0].fields, "Straße"), "Hauptstraße 5");
  EXPECT_EQ(FindField((*versions)[0].fields, "Kundennr"), nullptr);

  auto again = ImportCsv(*ingestor_, csv, opts);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->stored, 0u);
  EXPECT_EQ(again->duplicates, 2u);
  EXPECT_EQ(Records(), 2);
}

TEST_F(IngestTest, CsvErrorsNameTheMissingColumnAndKeepWhatIsStored) {
  ASSERT_TRUE(ImportCsv(*ingestor_, "id,name\n1,a\n", {.source = "crm"}).ok());
  auto missing =
      ImportCsv(*ingestor_, "id,type,when\n1,x,2026-01-01\n", {.kind = ImportKind::kEvents});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "missing required column 'occurred_at'; columns are: id, type, when");
  auto no_key = ImportCsv(*ingestor_, "a,b\n1,2\n", {.source = "crm", .key_column = "kid"});
  EXPECT_NE(no_key.status().message().find("key column 'kid' not found"), std::string::npos);
  EXPECT_EQ(ImportCsv(*ingestor_, "", {.source = "crm"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ImportCsv(*ingestor_, "id,name\n2,b\n", {}).status().where(), "source");
  EXPECT_EQ(Records(), 1);
}

TEST_F(IngestTest, EventsCsvMapsKeysAndPayloadAndRejectsBadRowsOnly) {
  std::string csv =
      "type,occurred_at,keys.order_id,carrier\n"
      "kit.delivered,2026-11-05T10:00:00Z,O-1,DHL\n"
      "kit.delivered,next tuesday,O-2,DHL\n"
      "\"kit.picked_up\",2026-11-04T10:00:00+01:00,O-1,\n";
  auto s = ImportCsv(*ingestor_, csv, {.kind = ImportKind::kEvents});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->stored, 2u);
  ASSERT_EQ(s->rejected.size(), 1u);
  EXPECT_EQ(s->rejected[0].line, 3);
  EXPECT_NE(s->rejected[0].reason.find("next tuesday"), std::string::npos);
  auto page = store_->ListEvents({});
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].keys, (Fields{{"order_id", "O-1"}}));
  EXPECT_EQ(page->events[0].payload["carrier"], "DHL");
  EXPECT_FALSE(page->events[1].payload.contains("carrier"));
  EXPECT_EQ(FormatTime(page->events[1].occurred_at), "2026-11-04T09:00:00Z");
}

TEST_F(IngestTest, NdjsonImportRejectsBadLinesAndStoresTheRest) {
  std::string nd =
      "{\"source_key\":\"1\",\"fields\":{\"name\":\"a\"}}\n"
      "{\"source_key\":\"2\",\"fields\":{\"name\":\"b\"}\n"
      "{\"source_key\":\"3\",\"fields\":{\"name\":[1]}}\n";
  auto s = ImportNdjson(*ingestor_, nd, {.kind = ImportKind::kRecords, .source = "crm"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->stored, 1u);
  ASSERT_EQ(s->rejected.size(), 2u);
  EXPECT_EQ(s->rejected[0].line, 2);
  EXPECT_EQ(s->rejected[1].line, 3);
  EXPECT_NE(s->rejected[1].reason.find("fields.name"), std::string::npos);
}

// Requests from many connections at once are stored in shared batches (group commit); each
// caller still gets the outcome of its own records (and what the listener said of each), and a
// record two callers deliver at the same moment is stored once.
TEST_F(IngestTest, ConcurrentCallersGetTheirOwnOutcomesAndASharedRecordIsStoredOnce) {
  std::mutex mu;
  std::multiset<std::string> resolved;
  ingestor_->SetRecordsListener(
      [&](const std::vector<SourceRecord>& records,
          const std::vector<store::RecordPut>& puts) -> Result<std::vector<std::string>> {
        EXPECT_EQ(records.size(), puts.size());
        std::lock_guard<std::mutex> lock(mu);
        std::vector<std::string> persons;
        for (const auto& p : puts) {
          if (p.created) resolved.insert(p.id);
          persons.push_back("person of " + p.id);
        }
        return persons;
      });
  constexpr int kThreads = 8, kEach = 25;
  auto record = [&](const std::string& key) {
    SourceRecord r;
    r.id = ids_.Next("rec");
    r.source = "shop";
    r.source_key = key;
    r.fields = {{"name", "Kunde " + key}};
    r.received_at = clock_.Now();
    return r;
  };
  std::vector<std::vector<store::RecordPut>> own(kThreads);
  std::vector<store::RecordPut> shared(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (i == kEach / 2) {
          auto s = ingestor_->AcceptRecords({record("shared")});
          ASSERT_TRUE(s.ok()) << s.status().ToString();
          shared[t] = s->results[0];
          EXPECT_EQ(s->persons, std::vector<std::string>{"person of " + s->results[0].id});
        }
        auto r = ingestor_->AcceptRecords({record(std::to_string(t) + "-" + std::to_string(i))});
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(r->results.size(), 1u);
        EXPECT_EQ(r->created, 1u);
        EXPECT_EQ(r->persons, std::vector<std::string>{"person of " + r->results[0].id});
        own[t].push_back(r->results[0]);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (const auto& results : own) {
    for (const auto& p : results) ids.insert(p.id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
  int created = 0;
  for (const auto& p : shared) {
    created += p.created ? 1 : 0;
    EXPECT_EQ(p.id, shared[0].id);
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(Records(), kThreads * kEach + 1);
  ids.insert(shared[0].id);
  EXPECT_EQ(resolved, std::multiset<std::string>(ids.begin(), ids.end()));
}

}  // namespace
}  // namespace rapport::ingest

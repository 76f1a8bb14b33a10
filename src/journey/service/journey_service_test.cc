#include "journey/service/journey_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "journey/service/outbox.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport::journey {
namespace {

std::string TradeInYaml() {
  const char* root = std::getenv("RAPPORT_SOURCE_DIR");
  std::ifstream in(std::string(root ? root : ".") + "/examples/journeys/trade-in.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Event Ev(std::string id, std::string type, Fields keys, std::string at,
         Json payload = Json::object()) {
  Event e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.keys = std::move(keys);
  e.occurred_at = *ParseTime(at);
  e.received_at = e.occurred_at;
  e.payload = std::move(payload);
  return e;
}

class JourneyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("rapport-journey-service-" + std::to_string(getpid()) + ".db"))
                .string();
    Cleanup();
    Reopen();
    auto d = service_->Deploy(TradeInYaml(), "trade-in.yaml");
    ASSERT_TRUE(d.ok()) << d.status().ToString();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    Cleanup();
  }
  void Cleanup() {
    for (const char* s : {"", "-wal", "-shm", ".sink"}) std::filesystem::remove(path_ + s);
  }
  void Reopen() {
    service_.reset();
    store_.reset();
    auto s = store::OpenSqliteStore({.path = path_, .sync_every_commit = false});
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
    service_ = std::make_unique<JourneyService>(*store_, clock_, metrics_);
    ASSERT_TRUE(service_->Start().ok());
  }
  void Append(std::vector<Event> events) {
    for (auto& e : events) e.received_at = clock_.Now();
    ASSERT_TRUE(store_->AppendEvents(events).ok());
  }
  std::vector<std::string> Fired(const std::string& key) {
    auto inst = service_->Instance("trade-in", key);
    std::vector<std::string> out;
    if (!inst.ok()) return out;
    for (auto& a : (*inst)["outbox"]) {
      out.push_back(a["action"].get<std::string>() + "#" +
                    std::to_string(a["occurrence"].get<int>()));
    }
    return out;
  }

  std::string path_;
  ManualClock clock_{*ParseTime("2026-11-02T09:00:00Z")};
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<JourneyService> service_;
};

TEST_F(JourneyServiceTest, DeployIsIdempotentAndAVersionCannotChangeItsText) {
  auto again = service_->Deploy(TradeInYaml(), "trade-in.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  ASSERT_FALSE(again->webhook_secrets.empty());
  std::string changed = TradeInYaml() + "\n# edited\n";
  auto conflict = service_->Deploy(changed, "trade-in.yaml");
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists);
  auto bad = service_->Deploy("journey: x\nversion: one\n", "bad.yaml");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().where().rfind("bad.yaml:", 0), 0u);
}

TEST_F(JourneyServiceTest, ReminderComesOnlyAfterDeliveryWithTheDeadlineFromDelivery) {
  Append({Ev("e1", "order.placed", {{"order_id", "O-1"}}, "2026-11-02T09:00:00Z",
             {{"trade_in", true}}),
          Ev("e2", "kit.label_created", {{"order_id", "O-1"}, {"shipment_id", "S-1"}},
             "2026-11-02T15:00:00Z")});
  ASSERT_TRUE(service_->CatchUp().ok());
  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-11-05T12:00:00Z")).ok());
  Append({Ev("e3", "kit.picked_up", {{"shipment_id", "S-1"}}, "2026-11-05T11:00:00Z"),
          Ev("e4", "kit.delivered", {{"shipment_id", "S-1"}}, "2026-11-06T13:00:00Z")});
  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-11-16T12:00:00Z")).ok());
  ASSERT_TRUE(service_->RunDue().ok());
  EXPECT_EQ(Fired("O-1"),
            (std::vector<std::string>{"confirm_trade_in#0", "create_return_label#0"}));
  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-11-16T13:00:00Z")).ok());
  ASSERT_TRUE(service_->RunDue().ok());
  auto inst = service_->Instance("trade-in", "O-1");
  ASSERT_TRUE(inst.ok());
  const Json& reminder = (*inst)["outbox"].back();
  EXPECT_EQ(reminder["action"], "send_back_reminder");
  EXPECT_EQ(reminder["params"]["deadline"], "2026-11-20T13:00:00Z");  // delivery + 14d
}

TEST_F(JourneyServiceTest, ARestartContinuesFromTheCursorAndSendsNothingTwice) {
  Append({Ev("e1", "order.placed", {{"order_id", "O-2"}}, "2026-11-02T09:00:00Z",
             {{"trade_in", true}})});
  ASSERT_TRUE(service_->CatchUp().ok());
  // Delivered before the label: parked, then applied when the shipment becomes known.
  Append({Ev("e3", "kit.delivered", {{"shipment_id", "S-2"}}, "2026-11-04T10:00:00Z")});
  ASSERT_TRUE(service_->CatchUp().ok());
  Reopen();
  Append({Ev("e2", "kit.label_created", {{"order_id", "O-2"}, {"shipment_id", "S-2"}},
             "2026-11-02T15:00:00Z"),
          Ev("e1", "order.placed", {{"order_id", "O-2"}}, "2026-11-02T09:00:00Z",
             {{"trade_in", true}})});
  ASSERT_TRUE(service_->CatchUp().ok());
  auto inst = service_->Instance("trade-in", "O-2");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_TRUE((*inst)["facts"].contains("kit.delivered"));
  EXPECT_EQ(Fired("O-2"),
            (std::vector<std::string>{"confirm_trade_in#0", "create_return_label#0"}));
  // A second service on the same store (or the same one again) finds nothing left to do.
  Reopen();
  EXPECT_EQ(*service_->CatchUp(), 0u);
  EXPECT_EQ(Fired("O-2").size(), 2u);
}

TEST_F(JourneyServiceTest, OutboxIsWrittenToTheSinkOnceEvenAfterACrashBeforeDequeue) {
  Append({Ev("e1", "order.placed", {{"order_id", "O-3"}}, "2026-11-02T09:00:00Z",
             {{"trade_in", true}})});
  ASSERT_TRUE(service_->CatchUp().ok());
  OutboxDeliverer deliverer(*store_, clock_, metrics_, *service_, {.sink_file = path_ + ".sink"});
  ASSERT_TRUE(deliverer.Open().ok());
  EXPECT_EQ(*deliverer.DeliverDue(), 2u);
  EXPECT_EQ(*deliverer.DeliverDue(), 0u);
  // Simulate a crash between writing the sink and removing the queue item: put it back.
  auto log = store_->ReadLog("outbox", "", 0, 10);
  store::WriteBatch again;
  again.enqueue.push_back(
      {"outbox", Json::parse((*log)[0].body)["idempotency_key"], clock_.Now(), (*log)[0].body, 0});
  ASSERT_TRUE(store_->Write(again).ok());
  OutboxDeliverer after_restart(*store_, clock_, metrics_, *service_,
                                {.sink_file = path_ + ".sink"});
  ASSERT_TRUE(after_restart.Open().ok());
  EXPECT_EQ(*after_restart.DeliverDue(), 1u);
  std::ifstream sink(path_ + ".sink");
  int lines = 0;
  for (std::string l; std::getline(sink, l);) ++lines;
  EXPECT_EQ(lines, 2);
}

// Issue 18, finding 6: a claim names its server. While the server lives, its heartbeat keeps
// its claims past their 20-second lease, so another server does not deliver them twice; when
// it restarts under the same id, it takes them back at once instead of waiting for the lease.
TEST_F(JourneyServiceTest, AHeartbeatKeepsAServersClaimsAndARestartTakesThemBack) {
  Append({Ev("e1", "order.placed", {{"order_id", "O-6"}}, "2026-11-02T09:00:00Z",
             {{"trade_in", true}})});
  ASSERT_TRUE(service_->CatchUp().ok());
  auto server = [&](const char* id) {
    return std::make_unique<OutboxDeliverer>(
        *store_, clock_, metrics_, *service_,
        OutboxOptions{.sink_file = path_ + ".sink", .server_id = id});
  };
  auto a = server("server-a"), b = server("server-b");
  ASSERT_TRUE(a->Open().ok() && b->Open().ok());
  // server-a's round is in flight: it holds both actions for one lease.
  ASSERT_EQ(
      store_->ClaimDue("outbox", clock_.Now(), clock_.Now() + a->lease(), 50, "server-a")->size(),
      2u);
  for (int beat = 0; beat < 6; ++beat) {  // 30 s of heartbeats, every 5 s
    ASSERT_TRUE(clock_.Advance(std::chrono::seconds(5)).ok());
    EXPECT_EQ(*a->RenewClaims(), 2);
    EXPECT_EQ(*b->RenewClaims(), 0);
  }
  EXPECT_EQ(*b->DeliverDue(), 0u) << "server-a is alive: its claims hold past the lease";
  // server-a restarts: what it claimed is due again at once, for whichever server comes first.
  auto restarted = server("server-a");
  ASSERT_TRUE(restarted->Open().ok());
  EXPECT_EQ(*restarted->ReclaimOwn(), 2);
  EXPECT_EQ(*restarted->DeliverDue(), 2u);
  EXPECT_EQ(*a->RenewClaims(), 0) << "delivered: nothing left to renew";
}

// Erasure: the lines about the person (by subject, instance key or one of its addresses) are
// replaced by a line that only says something was delivered then; the others stay as they were.
TEST_F(JourneyServiceTest, AnErasureRewritesTheSinkWithoutTheLinesAboutThePerson) {
  const std::string sink = path_ + ".sink";
  auto line = [](const std::string& key, const Json& action) {
    return Json{
        {"idempotency_key", key}, {"delivered_at", "2026-11-02T09:00:00Z"}, {"action", action}}
        .dump();
  };
  const std::string other = line("j/O-7/confirm/0", {{"subject", "per_2"}, {"params", {}}});
  {
    std::ofstream out(sink, std::ios::binary);
    out << line("j/per_1/welcome/0", {{"subject", "per_1"}, {"instance_key", "per_1"}}) << "\n"
        << other << "\n"
        << line("j/anna@example.org/news/0", {{"instance_key", "anna@example.org"}}) << "\n"
        << line("j/O-8/confirm/0", {{"subject", "per_0"}}) << "\n";
  }
  OutboxDeliverer deliverer(*store_, clock_, metrics_, *service_, {.sink_file = sink});
  ASSERT_TRUE(deliverer.Open().ok());
  auto erased = deliverer.EraseFromSink({"per_1", "per_0"}, {"anna@example.org"}, "era_1");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ((*erased)["lines"], 3);
  std::ifstream in(sink);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], other) << "a line about someone else is kept byte for byte";
  EXPECT_EQ(Json::parse(lines[0]), Json({{"idempotency_key", "j/per_1/welcome/0"},
                                         {"delivered_at", "2026-11-02T09:00:00Z"},
                                         {"erased", "era_1"}}));
  EXPECT_EQ(Json::parse(lines[2])["idempotency_key"], "j/[erased]/news/0");
  EXPECT_EQ(Json::parse(lines[3])["erased"], "era_1");
  for (const auto& l : lines) EXPECT_EQ(l.find("anna@example.org"), std::string::npos) << l;
  EXPECT_FALSE(std::filesystem::exists(sink + ".erasing"));
  EXPECT_EQ((*deliverer.EraseFromSink({"per_1"}, {}, "era_2"))["lines"], 0)
      << "a second erasure finds nothing left";
}

// open_case actions go to the cases service, not the sink: an unavailable one is retried, a
// wrong one (kInvalidArgument) is given up at once with its reason; messages are annotated
// (e.g. with the customer's preferences) before they are written.
TEST_F(JourneyServiceTest, OpenCaseGoesInProcessAndMessagesAreAnnotatedBeforeTheyLeave) {
  Json open_case = {{"idempotency_key", "j/K/escalate#0"},
                    {"kind", "open_case"},
                    {"case", {{"type", "lost_kit"}}}};
  Json message = {
      {"idempotency_key", "j/K/invoice#0"}, {"kind", "message"}, {"template", "invoice"}};
  store::WriteBatch queued;
  queued.enqueue.push_back({"outbox", "j/K/escalate#0", clock_.Now(), open_case.dump(), 0});
  queued.enqueue.push_back({"outbox", "j/K/invoice#0", clock_.Now(), message.dump(), 0});
  ASSERT_TRUE(store_->Write(queued).ok());
  std::vector<Status> answers = {Unavailable("cases store busy"),
                                 InvalidArgument("no team 'logistics'", "team")};
  int calls = 0;
  OutboxOptions options{.sink_file = path_ + ".sink"};
  options.open_case = [&](const Json& action) {
    EXPECT_EQ(action["case"]["type"], "lost_kit");
    return answers[std::min<size_t>(calls++, answers.size() - 1)];
  };
  options.annotate = [](Json& action) {
    EXPECT_NE(action.value("kind", ""), "open_case");
    action["preferences"] = {{"invoice_format", "tax-compliant"}};
    return OkStatus();
  };
  OutboxDeliverer deliverer(*store_, clock_, metrics_, *service_, options);
  ASSERT_TRUE(deliverer.Open().ok());
  EXPECT_EQ(*deliverer.DeliverDue(), 1u);  // the message; the case is retried later
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(clock_.Advance(std::chrono::seconds(2)).ok());
  EXPECT_EQ(*deliverer.DeliverDue(), 0u);
  EXPECT_EQ(calls, 2);
  auto dead = store_->ReadLog("outbox-dead", "j/K/escalate#0", 0, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE((*dead)[0].body.find("no team 'logistics'"), std::string::npos) << (*dead)[0].body;
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(2)).ok());
  EXPECT_EQ(*deliverer.DeliverDue(), 0u);
  EXPECT_EQ(calls, 2);  // given up: not tried again
  std::ifstream sink(path_ + ".sink");
  std::vector<Json> lines;
  for (std::string l; std::getline(sink, l);) lines.push_back(Json::parse(l));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["action"]["template"], "invoice");
  EXPECT_EQ(lines[0]["action"]["preferences"]["invoice_format"], "tax-compliant");
}

// Two servers on one store take turns: each keeps the instances it wrote in memory, and a
// copy made stale by the other server must never be written back.
// Issue 20: a person's instances are found by subject, e-mail addresses whatever their case;
// a database whose instances predate the index gets them indexed once, at start.
TEST_F(JourneyServiceTest, InstancesAreFoundBySubjectAndOlderOnesIndexedOnceAtStart) {
  Event a = Ev("a1", "order.placed", {{"order_id", "O-1"}}, "2026-11-02T09:00:00Z",
               Json{{"trade_in", true}});
  a.subject = "shop:C-1";
  Event b = Ev("b1", "order.placed", {{"order_id", "O-2"}}, "2026-11-02T09:00:00Z",
               Json{{"trade_in", true}});
  b.subject = "Anna.Berg@Example.ORG";
  Append({a, b});
  ASSERT_TRUE(service_->CatchUp().ok());
  auto keys = [&](std::vector<std::string> subjects) {
    auto list = service_->InstancesOf(subjects);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> out;
    if (list.ok()) {
      for (const auto& i : *list) out.push_back(i["key"]);
    }
    return out;
  };
  EXPECT_EQ(keys({"shop:C-1"}), std::vector<std::string>{"O-1"});
  EXPECT_EQ(keys({"anna.berg@example.org", "shop:C-9"}), std::vector<std::string>{"O-2"});
  EXPECT_TRUE(keys({"shop:C"}).empty()) << "a prefix of a subject is not the subject";

  // As a database written before the index: no entries, no setting.
  auto entries = store_->ListDocuments("journey-subject", "", "", 100);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  store::WriteBatch forget;
  for (const auto& d : *entries) forget.deletes.emplace_back("journey-subject", d.id);
  forget.settings.emplace_back("journey.subject_index", "");
  ASSERT_TRUE(store_->Write(forget).ok());
  EXPECT_TRUE(keys({"shop:C-1"}).empty());
  Reopen();
  EXPECT_EQ(keys({"shop:C-1"}), std::vector<std::string>{"O-1"});
  EXPECT_EQ(keys({"ANNA.BERG@example.org"}), std::vector<std::string>{"O-2"});
  auto setting = store_->GetSetting("journey.subject_index");
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(setting->value_or(""), "1");
}

TEST_F(JourneyServiceTest, TwoServicesOnOneStoreNeverWriteFromAStaleCopy) {
  JourneyService other(*store_, clock_, metrics_);
  ASSERT_TRUE(other.Start().ok());
  Append({Ev("e1", "order.placed", {{"order_id", "O-3"}}, "2026-11-02T09:00:00Z",
             {{"trade_in", true}})});
  ASSERT_TRUE(service_->CatchUp().ok());  // service_ caches O-3
  Append({Ev("e2", "kit.label_created", {{"order_id", "O-3"}, {"shipment_id", "S-3"}},
             "2026-11-02T15:00:00Z")});
  ASSERT_TRUE(other.CatchUp().ok());  // the other server moves O-3 on
  Append({Ev("e3", "kit.picked_up", {{"shipment_id", "S-3"}}, "2026-11-03T10:00:00Z"),
          Ev("e4", "kit.delivered", {{"shipment_id", "S-3"}}, "2026-11-04T10:00:00Z")});
  ASSERT_TRUE(service_->CatchUp().ok());  // must not write from its copy without the label
  auto inst = service_->Instance("trade-in", "O-3");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  for (const char* fact : {"order.placed", "kit.label_created", "kit.picked_up", "kit.delivered"}) {
    EXPECT_TRUE((*inst)["facts"].contains(fact)) << fact << " lost: " << (*inst)["facts"].dump();
  }
  std::set<std::string> timers;
  for (const auto& t : (*inst)["timers"]) timers.insert(t["action"].get<std::string>());
  EXPECT_EQ(timers, (std::set<std::string>{"send_back_reminder", "escalate_device_not_sent",
                                           "end:abandoned"}));
}

// A journey deployed through one server is used by every other server from its next round
// on, even by one that was processing when the deploy happened.
TEST_F(JourneyServiceTest, ADeployOnOneServerReachesTheOthersBeforeTheirNextEvents) {
  JourneyService other(*store_, clock_, metrics_);
  ASSERT_TRUE(other.Start().ok());
  std::string v2 = TradeInYaml();
  v2.replace(v2.find("journey: trade-in"), 17, "journey: trade-in-2");
  ASSERT_TRUE(service_->Deploy(v2, "trade-in-2.yaml").ok());
  Append({Ev("e1", "order.placed", {{"order_id", "O-4"}}, "2026-11-02T09:00:00Z",
             {{"trade_in", true}})});
  ASSERT_TRUE(other.CatchUp().ok());  // the other server takes the event
  auto inst = other.Instance("trade-in-2", "O-4");
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ(other.ListJourneys().size(), 2u);
  // The first server sees the same instance and has nothing left to do.
  EXPECT_EQ(*service_->CatchUp(), 0u);
  EXPECT_TRUE(service_->Instance("trade-in-2", "O-4").ok());
}

// A database from before the cursor document: the position kept in the old setting holds,
// so a journey deployed now does not see the events that came before.
TEST(JourneyServiceUpgradeTest, ThePositionOfTheOldCursorSettingIsKept) {
  auto store = store::OpenSqliteStore({.path = ":memory:"});
  ASSERT_TRUE(store.ok());
  ManualClock clock(*ParseTime("2026-11-02T09:00:00Z"));
  MetricsRegistry metrics;
  ASSERT_TRUE((*store)
                  ->AppendEvents({Ev("old", "order.placed", {{"order_id", "O-9"}},
                                     "2026-11-01T09:00:00Z", {{"trade_in", true}})})
                  .ok());
  ASSERT_TRUE((*store)->PutSetting("journey.cursor", "1").ok());
  JourneyService service(**store, clock, metrics);
  ASSERT_TRUE(service.Start().ok());
  ASSERT_TRUE(service.Deploy(TradeInYaml(), "trade-in.yaml").ok());
  EXPECT_EQ(*service.CatchUp(), 0u);
  EXPECT_EQ(service.Instance("trade-in", "O-9").status().code(), StatusCode::kNotFound);
}

TEST(HmacTest, MatchesRfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace rapport::journey

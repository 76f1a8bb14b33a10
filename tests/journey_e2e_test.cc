// S1 end to end: journeys deployed, fed and inspected through the HTTP API of the real
// server on the manual clock. The scenario files of src/journey/testdata are played through
// the server exactly as the in-process scenario test plays them through the runtime, so the
// server must produce the same actions at the same times. Crash tests end the server at
// failpoints (core/failpoint.h) between outbox write and delivery and between timer due and
// fire, restart it, and check that every action is delivered once.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/clock.h"
#include "core/failpoint.h"
#include "journey/scenario_file.h"
#include "test_server.h"

namespace rapport::testing {
namespace {

using journey::ScenarioActionLine;

// The file list is needed when ctest discovers the tests, before RAPPORT_SOURCE_DIR is set.
std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : RAPPORT_E2E_SOURCE_DIR;
}

std::string TradeInYaml() { return ReadFile(SourceDir() + "/examples/journeys/trade-in.yaml"); }

// A server with an admin token and the helpers the tests share.
class JourneyServer {
 public:
  explicit JourneyServer(const ScratchDir& dir, std::vector<std::string> extra = {})
      : db_(dir.File("rapport.db")) {
    token_ = CreateToken(db_, "admin");
    Start(std::move(extra));
  }

  void Start(std::vector<std::string> extra) {
    server_ = std::make_unique<ServerProcess>(db_, std::move(extra));
    client_ = std::make_unique<HttpClient>(server_->Client());
  }

  ServerProcess& process() { return *server_; }
  HttpClient& http() { return *client_; }
  const std::string& token() const { return token_; }
  std::string sink() const { return db_ + ".outbox.ndjson"; }

  HttpResult Deploy(const std::string& yaml) {
    return client_->Post("/v1/journeys", yaml, token_, "application/yaml");
  }
  // The shop's customer a subject ("shop:C-1", or the bare key "P-9") names, with an e-mail
  // address: a message to a customer nobody knows is held, not sent (issue 20).
  HttpResult AddCustomer(const std::string& subject) {
    size_t colon = subject.find(':');
    std::string source = colon == std::string::npos ? "shop" : subject.substr(0, colon);
    std::string key = colon == std::string::npos ? subject : subject.substr(colon + 1);
    Json record = {{"source", source},
                   {"source_key", key},
                   {"fields",
                    {{"given_name", "Kundin"},
                     {"family_name", key},
                     {"email", "kundin." + key + "@example.org"}}}};
    return client_->Post("/v1/records", record.dump(), token_);
  }
  // The trade-in journey's webhooks hand the customer's order to logistics and payments: as
  // in any real deployment, those recipients are registered with their legal basis, or the
  // ledger refuses the webhooks of customers it knows.
  void RegisterTradeInRecipients() {
    for (const auto& [name, url, purpose] :
         {std::tuple{"logistics", "https://logistics.example.com/", "fulfilment"},
          std::tuple{"payments", "https://payments.example.com/", "payout"}}) {
      Json body = {{"organisation", name},
                   {"legal_basis", "contract"},
                   {"purposes", {purpose}},
                   {"endpoints", {{{"url", url}, {"purpose", purpose}}}}};
      auto r = client_->Request("PUT", std::string("/v1/privacy/recipients/") + name, body.dump(),
                                token_);
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }
  HttpResult PostEvent(const std::string& json) {
    return client_->Post("/v1/events", json, token_);
  }
  HttpResult MoveClockTo(Time t) {
    return client_->Post("/v1/admin/clock", Json{{"to", FormatTime(t)}}.dump(), token_);
  }
  Time Now() {
    auto r = client_->Get("/v1/clock", token_);
    return *ParseTime(r.json().value("now", ""));
  }
  HttpResult Instance(const std::string& journey, const std::string& key) {
    return client_->Get("/v1/journeys/" + journey + "/instances/" + key, token_);
  }
  std::vector<Json> Outbox() {
    auto r = client_->Get("/v1/outbox?limit=1000", token_);
    std::vector<Json> out;
    if (r.status == 200) {
      Json body = r.json();
      for (const auto& a : body["actions"]) out.push_back(a);
    }
    return out;
  }

 private:
  std::string db_;
  std::string token_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

// --- The S1 scenario files through the API ------------------------------------------------

struct ArrivingEvent {
  Time received;
  std::string json;  // without received_at: the server stamps arrival itself
};

std::vector<ArrivingEvent> EventsByArrival(const std::string& ndjson) {
  std::vector<ArrivingEvent> out;
  std::istringstream in(ndjson);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json j = *ParseJson(line);
    std::string at = j.value("received_at", j.value("occurred_at", ""));
    j.erase("received_at");
    out.push_back({*ParseTime(at), j.dump()});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.received < b.received; });
  return out;
}

class ScenarioThroughApi : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioThroughApi, ServerSendsExactlyTheExpectedActions) {
  auto scenario = journey::LoadScenarioFile(GetParam());
  ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
  SCOPED_TRACE(scenario->name);
  std::vector<ArrivingEvent> events = EventsByArrival(scenario->events);
  ASSERT_FALSE(events.empty());

  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", FormatTime(events[0].received)});
  ASSERT_TRUE(s.process().ok()) << s.process().startup_output();
  auto deployed = s.Deploy(ReadFile(SourceDir() + "/" + scenario->definition));
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  const std::string journey = deployed.json().value("name", "");
  s.RegisterTradeInRecipients();
  std::set<std::string> customers;
  for (const ArrivingEvent& e : events) {
    std::string subject = ParseJson(e.json)->value("subject", "");
    if (!subject.empty() && customers.insert(subject).second) {
      ASSERT_EQ(s.AddCustomer(subject).status, 201) << subject;
    }
  }

  // Moves the clock from timer to timer up to (not including) `limit`, as a scheduler that
  // is never late would: every pending timer fires at its due time.
  auto fire_timers_before = [&](Time limit) {
    for (int guard = 0; guard < 100; ++guard) {
      std::optional<Time> next;
      for (const auto& [key, state] : scenario->states) {
        auto inst = s.Instance(journey, key);
        if (inst.status != 200) continue;
        Json body = inst.json();
        for (const auto& t : body["timers"]) {
          Time due = *ParseTime(t.value("due", ""));
          if (!next || due < *next) next = due;
        }
      }
      if (!next || *next >= limit) return;
      ASSERT_GT(*next, s.Now()) << "a timer due in the past did not fire";
      ASSERT_EQ(s.MoveClockTo(*next).status, 200);
    }
    FAIL() << "more than 100 timers";
  };

  for (const ArrivingEvent& e : events) {
    fire_timers_before(e.received);
    if (e.received > s.Now()) ASSERT_EQ(s.MoveClockTo(e.received).status, 200);
    auto posted = s.PostEvent(e.json);
    ASSERT_TRUE(posted.status == 200 || posted.status == 201) << posted.body;
    // Reading an instance applies everything received so far, at the current time.
    for (const auto& [key, state] : scenario->states) s.Instance(journey, key);
  }
  Time end = scenario->until.value_or(events.back().received + std::chrono::hours(24 * 90));
  fire_timers_before(end);

  std::vector<std::string> actual;
  for (const Json& a : s.Outbox()) {
    actual.push_back(ScenarioActionLine(a));
    EXPECT_FALSE(a["reasons"].empty()) << "an action without its reasons: " << a.dump();
  }
  EXPECT_EQ(actual, scenario->actions);
  for (const auto& [key, want] : scenario->states) {
    auto inst = s.Instance(journey, key);
    ASSERT_EQ(inst.status, 200) << key << ": " << inst.body;
    Json j = inst.json();
    std::string got = j.value("status", "") == "ended" ? j.value("end_state", "") : "running";
    EXPECT_EQ(got, want) << key;
  }
  // Everything in the outbox but the cases it opens (those go to the cases service) reaches
  // the sink (no webhook sending here), each once.
  size_t to_sink = 0;
  for (const Json& a : s.Outbox()) to_sink += a.value("kind", "") != "open_case";
  ASSERT_TRUE(WaitUntil([&] { return SinkKeys(s.sink()).size() == to_sink; }))
      << "held: " << s.http().Get("/v1/outbox/held", s.token()).body;
  for (const auto& [key, n] : SinkKeys(s.sink())) EXPECT_EQ(n, 1) << key;
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string stem = std::filesystem::path(info.param).stem().string();
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return stem;
}

INSTANTIATE_TEST_SUITE_P(S1, ScenarioThroughApi,
                         ::testing::ValuesIn(journey::ScenarioFilesIn(SourceDir() +
                                                                      "/src/journey/testdata")),
                         TestName);

// --- Definitions: bad ones and new versions -------------------------------------------

const char* kOrder = R"({"id":"o1","type":"order.placed","subject":"shop:C-1",)"
                     R"("keys":{"order_id":"O-1"},)"
                     R"("occurred_at":"2026-11-02T09:00:00Z","payload":{"trade_in":true}})";
const char* kLabel =
    R"({"id":"o2","type":"kit.label_created","keys":{"order_id":"O-1","shipment_id":"S-1"},)"
    R"("occurred_at":"2026-11-02T15:00:00Z"})";
const char* kPickedUp = R"({"id":"o3","type":"kit.picked_up","keys":{"shipment_id":"S-1"},)"
                        R"("occurred_at":"2026-11-03T10:00:00Z"})";
const char* kDelivered = R"({"id":"o4","type":"kit.delivered","keys":{"shipment_id":"S-1"},)"
                         R"("occurred_at":"2026-11-04T12:00:00Z"})";

TEST(JourneyApi, BadDefinitionsAndEventsAreRejectedAndChangeNoInstance) {
  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z"});
  ASSERT_EQ(s.Deploy(TradeInYaml()).status, 201);
  ASSERT_EQ(s.PostEvent(kOrder).status, 201);
  ASSERT_EQ(s.PostEvent(kLabel).status, 201);
  auto before = s.Instance("trade-in", "O-1");
  ASSERT_EQ(before.status, 200) << before.body;

  // A reminder that asks the customer to act without saying when they can.
  std::string careless = TradeInYaml();
  careless.replace(careless.find("version: 1"), 10, "version: 2");
  careless.replace(careless.find("    requires: [kit.delivered]"), 30, "");
  auto bad = s.Deploy(careless);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("requires"), std::string::npos) << bad.body;
  // Where: "<file>:<line>:<column>", the file being the request.
  std::string where = bad.json()["error"].value("field", "");
  EXPECT_EQ(where.rfind("request:", 0), 0u) << bad.body;
  EXPECT_EQ(std::count(where.begin(), where.end(), ':'), 2) << bad.body;

  auto broken_yaml = s.Deploy("journey: x\nversion: 1\nsteps: [\n");
  EXPECT_EQ(broken_yaml.status, 400) << broken_yaml.body;

  // The same version with other text is refused: a version never changes.
  std::string changed = TradeInYaml();
  changed.replace(changed.find("after: 10d"), 10, "after: 9d ");
  EXPECT_EQ(s.Deploy(changed).status, 409);

  // Bad events: malformed JSON (nothing stored) and an event the journey cannot route.
  auto malformed = s.PostEvent(R"({"id":"x","type":"kit.delivered",)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("column"), std::string::npos) << malformed.body;
  auto unroutable = s.PostEvent(
      R"({"id":"o9","type":"kit.delivered","keys":{"parcel":"S-1"},"occurred_at":"2026-11-03T10:00:00Z"})");
  EXPECT_EQ(unroutable.status, 201) << unroutable.body;  // the log keeps it: it happened

  auto after = s.Instance("trade-in", "O-1");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.json()["facts"], before.json()["facts"]);
  EXPECT_EQ(after.json()["timers"], before.json()["timers"]);
  EXPECT_EQ(after.json().value("version", 0), 1);
  auto list = s.http().Get("/v1/journeys", s.token()).json();
  ASSERT_EQ(list["journeys"].size(), 1u);
  EXPECT_EQ(list["journeys"][0].value("latest_version", 0), 1);
}

// Issue 21: what runs is what was checked. A journey that asks the customer before they can
// act is refused with the check's report (422); forcing it deploys it and puts who forced it and
// the report in the audit log.
TEST(JourneyApi, DeployRunsTheCheckAndAForcedDeployIsAudited) {
  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z"});
  const std::string broken =
      ReadFile(SourceDir() + "/examples/journeys/broken/reminder-from-order.yaml");
  auto refused = s.Deploy(broken);
  ASSERT_EQ(refused.status, 422) << refused.body;
  Json body = refused.json();
  EXPECT_EQ(body["error"]["field"], "definition") << refused.body;
  EXPECT_NE(body["error"]["message"].get<std::string>().find("?force=true"), std::string::npos);
  EXPECT_FALSE(body["check"]["pass"].get<bool>());
  EXPECT_FALSE(body["check"]["violations"].empty());
  EXPECT_NE(body["check"]["model"].get<std::string>().find("built-in optimistic model"),
            std::string::npos);
  EXPECT_TRUE(s.http().Get("/v1/journeys", s.token()).json()["journeys"].empty())
      << "nothing deployed";
  EXPECT_EQ(s.http().Post("/v1/journeys?force=maybe", broken, s.token(), "application/yaml").status,
            400);

  auto forced = s.http().Post("/v1/journeys?force=true", broken, s.token(), "application/yaml");
  ASSERT_EQ(forced.status, 201) << forced.body;
  EXPECT_TRUE(forced.json()["check"]["forced"].get<bool>()) << forced.body;
  auto audit = s.http().Get("/v1/audit?subject=trade-in@1", s.token());
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_EQ(audit.json()["entries"].size(), 1u) << audit.body;
  Json entry = audit.json()["entries"][0];
  EXPECT_EQ(entry["action"], "journey.deploy_forced");
  EXPECT_FALSE(entry["detail"]["violations"].empty()) << entry.dump();

  // A journey that passes is deployed without a word, and says so.
  std::string v2 = TradeInYaml();
  v2.replace(v2.find("version: 1"), 10, "version: 2");
  auto good = s.Deploy(v2);
  ASSERT_EQ(good.status, 201) << good.body;
  EXPECT_TRUE(good.json()["check"]["pass"].get<bool>()) << good.body;
  EXPECT_FALSE(good.json()["check"]["forced"].get<bool>());
}

TEST(JourneyApi, NewVersionLeavesRunningInstancesOnTheirs) {
  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z"});
  ASSERT_EQ(s.Deploy(TradeInYaml()).status, 201);
  ASSERT_EQ(s.PostEvent(kOrder).status, 201);
  ASSERT_EQ(s.Instance("trade-in", "O-1").status, 200);

  std::string v2 = TradeInYaml();
  v2.replace(v2.find("version: 1"), 10, "version: 2");
  v2.replace(v2.find("after: 10d"), 10, "after: 7d ");
  auto deployed = s.Deploy(v2);
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  EXPECT_EQ(s.Deploy(v2).status, 200);  // the same text again: nothing new
  ASSERT_EQ(s.PostEvent(R"({"id":"p1","type":"order.placed","keys":{"order_id":"O-2"},)"
                        R"("occurred_at":"2026-11-02T09:00:00Z","payload":{"trade_in":true}})")
                .status,
            201);
  EXPECT_EQ(s.Instance("trade-in", "O-1").json().value("version", 0), 1);
  EXPECT_EQ(s.Instance("trade-in", "O-2").json().value("version", 0), 2);
}

// Issue 20: a message goes to the golden record's contact point, through the consent check of
// its purpose; without a known customer, an address for its channel or a consent it is held
// with the reason (not sent to nobody), and leaves once the record or the consent arrives.
TEST(JourneyApi, AMessageWithoutRecipientOrConsentIsHeldAndLeavesOnceTheyArrive) {
  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z"});
  std::string yaml = R"(journey: welcome
version: 1
correlation: order_id
start: order.placed
events:
  order.placed: {keys: [order_id]}
  payment.received: {keys: [order_id]}
steps:
  - name: ordered
    completed_by: order.placed
  - name: paid
    completed_by: payment.received
actions:
  - name: confirm_order
    kind: message
    channel: email
    template: order_confirmation
    requires: [order.placed]
  - name: newsletter_offer
    kind: message
    channel: email
    template: newsletter
    requires: [order.placed]
    params:
      purpose: newsletter
  - name: text_message
    kind: message
    channel: sms
    template: order_sms
    requires: [order.placed]
end_states:
  - name: paid
    when: paid
)";
  ASSERT_EQ(s.Deploy(yaml).status, 201);
  auto order = [&](const std::string& id, const std::string& subject) {
    Json e = {{"id", id},
              {"type", "order.placed"},
              {"subject", subject},
              {"keys", {{"order_id", id}}},
              {"occurred_at", "2026-11-02T09:00:00Z"}};
    return s.PostEvent(e.dump());
  };
  // Nobody is known under shop:C-5 yet.
  ASSERT_EQ(order("O-5", "shop:C-5").status, 201);
  auto held = [&] {
    Json body = s.http().Get("/v1/outbox/held", s.token()).json();
    std::map<std::string, std::string> out;  // action key -> reason
    for (const auto& h : body["held"]) out[h["idempotency_key"]] = h["reason"];
    return out;
  };
  std::map<std::string, std::string> now_held;
  ASSERT_TRUE(WaitUntil([&] {
    now_held = held();
    return now_held.size() == 3;
  })) << s.http().Get("/v1/outbox/held", s.token()).body;
  EXPECT_NE(now_held["welcome/O-5/confirm_order#0"].find("shop:C-5"), std::string::npos)
      << now_held["welcome/O-5/confirm_order#0"];
  EXPECT_TRUE(SinkKeys(s.sink()).empty()) << "nothing is sent to nobody";

  // The record arrives (e-mail, no phone): within the hour the e-mails go, the SMS stays held
  // for want of a number, the newsletter for want of a consent.
  ASSERT_EQ(s.AddCustomer("shop:C-5").status, 201);
  ASSERT_EQ(s.MoveClockTo(*ParseTime("2026-11-02T10:00:01Z")).status, 200);
  ASSERT_TRUE(WaitUntil([&] { return SinkKeys(s.sink()).size() == 1; }));
  std::string sink = ReadFile(s.sink());
  Json sent = *ParseJson(sink.substr(0, sink.find('\n')));
  EXPECT_EQ(sent["action"]["action"], "confirm_order");
  EXPECT_EQ(sent["action"]["recipient"]["address"], "kundin.C-5@example.org") << sink;
  EXPECT_FALSE(sent["action"].contains("held_since")) << sink;
  // The line is in the sink before the round's write that forgets it was held commits.
  ASSERT_TRUE(WaitUntil([&] {
    now_held = held();
    return now_held.size() == 2;
  }));
  EXPECT_NE(now_held["welcome/O-5/text_message#0"].find("no phone number"), std::string::npos)
      << now_held["welcome/O-5/text_message#0"];
  EXPECT_NE(now_held["welcome/O-5/newsletter_offer#0"].find("no active consent"), std::string::npos)
      << now_held["welcome/O-5/newsletter_offer#0"];

  // A consent for the newsletter, to the company itself: the offer goes out at the next look.
  std::string person = s.http().Get("/v1/persons/shop:C-5", s.token()).json().value("id", "");
  ASSERT_FALSE(person.empty());
  Json consent = {{"purposes", {"newsletter"}},
                  {"recipients", {"self"}},
                  {"proof", {{"text_version", "nl-1"}, {"channel", "web"}, {"reference", "f-1"}}}};
  auto given = s.http().Post("/v1/persons/" + person + "/consents", consent.dump(), s.token());
  ASSERT_EQ(given.status, 201) << given.body;
  ASSERT_EQ(s.MoveClockTo(*ParseTime("2026-11-02T11:00:02Z")).status, 200);
  ASSERT_TRUE(WaitUntil([&] { return SinkKeys(s.sink()).size() == 2; }));
  EXPECT_TRUE(WaitUntil([&] { return held().size() == 1; }));

  // Held a week, the SMS is given up, named as held, never sent.
  ASSERT_EQ(s.MoveClockTo(*ParseTime("2026-11-09T12:00:00Z")).status, 200);
  ASSERT_TRUE(WaitUntil([&] { return held().empty(); }));
  EXPECT_EQ(SinkKeys(s.sink()).size(), 2u);
  EXPECT_EQ(SinkKeys(s.sink()).count("welcome/O-5/text_message#0"), 0u);
}

// Issue 20: a person's journeys are found whatever form of them their events named — source:key,
// bare key, e-mail address — and a late record or a merge brings in the ones started under a
// subject nobody had yet; the 360 and the access report list them.
TEST(JourneyApi, APersonsJourneysAreFoundUnderEveryFormOfItsSubject) {
  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z"});
  ASSERT_EQ(s.Deploy(TradeInYaml()).status, 201);
  ASSERT_EQ(s.AddCustomer("shop:C-1").status, 201);
  ASSERT_EQ(s.AddCustomer("shop:C-2").status, 201);
  auto order = [&](const std::string& id, const std::string& subject) {
    Json e = {{"id", id},
              {"type", "order.placed"},
              {"subject", subject},
              {"keys", {{"order_id", id}}},
              {"occurred_at", "2026-11-02T09:00:00Z"},
              {"payload", {{"trade_in", true}}}};
    ASSERT_EQ(s.PostEvent(e.dump()).status, 201) << id;
  };
  order("O-1", "shop:C-1");
  order("O-2", "C-1");
  order("O-3", "Kundin.C-1@Example.org");
  order("O-4", "shop:C-9");  // nobody yet
  order("O-5", "shop:C-2");  // someone else
  auto keys_of = [&](const std::string& subject) {
    auto r = s.http().Get("/v1/persons/" + subject + "/journeys", s.token());
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<std::string> keys;
    const Json body = r.json();
    for (const auto& j : body["journeys"]) {
      EXPECT_EQ(j["journey"], "trade-in");
      EXPECT_EQ(j["status"], "running") << j.dump();
      keys.insert(j["key"]);
    }
    return keys;
  };
  EXPECT_EQ(keys_of("shop:C-1"), (std::set<std::string>{"O-1", "O-2", "O-3"}));
  EXPECT_EQ(keys_of("shop:C-2"), std::set<std::string>{"O-5"});
  EXPECT_EQ(s.http().Get("/v1/persons/per_DOESNOTEXIST/journeys", s.token()).status, 404);

  // C-9's record arrives and turns out to be the same customer: merged, O-4 is hers too.
  ASSERT_EQ(s.AddCustomer("shop:C-9").status, 201);
  std::string first = s.http().Get("/v1/persons/shop:C-1", s.token()).json().value("id", "");
  std::string late = s.http().Get("/v1/persons/shop:C-9", s.token()).json().value("id", "");
  ASSERT_FALSE(first.empty() || late.empty());
  if (first != late) {
    auto merged =
        s.http().Post("/v1/persons/" + first + "/merge", Json{{"other", late}}.dump(), s.token());
    ASSERT_EQ(merged.status, 200) << merged.body;
  }
  EXPECT_EQ(keys_of("shop:C-9"), (std::set<std::string>{"O-1", "O-2", "O-3", "O-4"}));
  Json person = s.http().Get("/v1/persons/shop:C-1", s.token()).json();
  EXPECT_EQ(person["journeys"].size(), 4u) << person["journeys"].dump();
  auto report = s.http().Get("/v1/persons/shop:C-1/access-report", s.token());
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.json()["journeys"].size(), 4u) << report.body;
  auto html = s.http().Get("/v1/persons/shop:C-1/access-report?format=html", s.token());
  ASSERT_EQ(html.status, 200);
  EXPECT_NE(html.body.find("O-4"), std::string::npos);
}

// Issue 21: a timed end runs on the server as in `journey check` and `journey run`: the
// survey nobody answers ends by itself, its timer stored and fired like any other, nothing sent.
TEST(JourneyApi, AnUnansweredSurveyEndsByItselfOnTheServer) {
  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z"});
  auto deployed = s.Deploy(ReadFile(SourceDir() + "/examples/journeys/survey.yaml"));
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  ASSERT_EQ(s.AddCustomer("shop:C-1").status, 201);
  ASSERT_EQ(s.PostEvent(R"({"id":"d1","type":"order.delivered","subject":"shop:C-1",)"
                        R"("keys":{"order_id":"O-1"},"occurred_at":"2026-11-02T09:00:00Z"})")
                .status,
            201);
  Json running = s.Instance("survey", "O-1").json();
  std::set<std::string> timers;
  for (const Json& t : running["timers"]) timers.insert(t.value("action", ""));
  EXPECT_EQ(timers, (std::set<std::string>{"survey_reminder", "end:expired"})) << running.dump();
  ASSERT_EQ(s.MoveClockTo(*ParseTime("2026-12-02T09:00:00Z")).status, 200);
  Json ended = s.Instance("survey", "O-1").json();
  EXPECT_EQ(ended.value("status", ""), "ended") << ended.dump();
  EXPECT_EQ(ended.value("end_state", ""), "expired");
  EXPECT_TRUE(ended["timers"].empty());
  std::vector<std::string> actions;
  for (const Json& a : s.Outbox()) actions.push_back(a.value("action", ""));
  EXPECT_EQ(actions, (std::vector<std::string>{"send_survey", "survey_reminder"}));
}

TEST(JourneyApi, CancelEndsTheInstanceThroughItsCancellationEndState) {
  ScratchDir dir;
  JourneyServer s(dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z"});
  ASSERT_EQ(s.Deploy(TradeInYaml()).status, 201);
  ASSERT_EQ(s.PostEvent(kOrder).status, 201);
  auto cancelled = s.http().Post("/v1/journeys/trade-in/instances/O-1/cancel",
                                 R"({"reason":"customer called"})", s.token());
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  auto inst = s.Instance("trade-in", "O-1").json();
  EXPECT_EQ(inst.value("status", ""), "ended");
  EXPECT_EQ(inst.value("end_state", ""), "cancelled");
  EXPECT_TRUE(inst["timers"].empty());
  std::vector<std::string> actions;
  for (const Json& a : s.Outbox()) actions.push_back(a.value("action", ""));
  EXPECT_EQ(actions, (std::vector<std::string>{"confirm_trade_in", "create_return_label",
                                               "void_return_label", "confirm_cancellation"}));
  EXPECT_EQ(s.http().Post("/v1/journeys/trade-in/instances/O-404/cancel", "", s.token()).status,
            404);
}

// --- Webhooks ------------------------------------------------------------------------------

// A minimal HTTP receiver on loopback that records requests and answers with a set status.
class WebhookReceiver {
 public:
  struct Request {
    std::string head;
    std::string body;
    std::string Header(const std::string& name) const {
      std::string lower_head = head;
      for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto p = lower_head.find("\r\n" + name + ":");
      if (p == std::string::npos) return "";
      p += name.size() + 3;
      while (head[p] == ' ') ++p;
      return head.substr(p, head.find("\r\n", p) - p);
    }
  };

  WebhookReceiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~WebhookReceiver() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  void set_status(int status) { status_ = status; }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (true) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string data;
      char buf[4096];
      size_t header_end = std::string::npos, need = 0;
      while (true) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos) {
          header_end = data.find("\r\n\r\n");
          if (header_end == std::string::npos) continue;
          Request probe{data.substr(0, header_end + 2), ""};
          need =
              header_end + 4 + std::strtoull(probe.Header("content-length").c_str(), nullptr, 10);
        }
        if (data.size() >= need) break;
      }
      // The status is read before the request is visible: a test that sees the request and
      // then changes the status must not change this request's answer.
      const int status = status_.load();
      if (header_end != std::string::npos) {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back({data.substr(0, header_end + 2), data.substr(header_end + 4)});
      }
      std::string answer = "HTTP/1.1 " + std::to_string(status) +
                           " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!write(c, answer.data(), answer.size());
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> status_{200};
  std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

std::string HmacHex(const std::string& key, const std::string& data) {
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

TEST(JourneyWebhooks, SignedRetriedWithBackoffAndDeliveredOnce) {
  WebhookReceiver receiver;
  receiver.set_status(503);
  std::string yaml = TradeInYaml();
  const std::string vendor = "https://logistics.example.com";
  for (size_t p; (p = yaml.find(vendor)) != std::string::npos;) {
    yaml.replace(p, vendor.size(), "http://127.0.0.1:" + std::to_string(receiver.port()));
  }
  ScratchDir dir;
  JourneyServer s(
      dir, {"--clock", "manual", "--clock-start", "2026-11-02T09:00:00Z", "--send-webhooks"});
  auto deployed = s.Deploy(yaml);
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  std::string secret = deployed.json()["webhook_secrets"].value("create_return_label", "");
  ASSERT_FALSE(secret.empty()) << deployed.body;

  ASSERT_EQ(s.PostEvent(kOrder).status, 201);
  ASSERT_TRUE(WaitUntil([&] { return receiver.requests().size() == 1; }));
  // Refused: retried after a backoff on the clock, not before.
  receiver.set_status(200);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(receiver.requests().size(), 1u);
  ASSERT_EQ(s.MoveClockTo(*ParseTime("2026-11-02T09:00:02Z")).status, 200);
  ASSERT_EQ(receiver.requests().size(), 2u);
  ASSERT_EQ(s.MoveClockTo(*ParseTime("2026-11-02T12:00:00Z")).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(receiver.requests().size(), 2u) << "delivered again after success";

  auto requests = receiver.requests();
  for (const auto& r : requests) {
    EXPECT_EQ(r.head.rfind("POST /return-labels HTTP/1.1", 0), 0u) << r.head;
    std::string ts = r.Header("x-rapport-timestamp");
    EXPECT_EQ(r.Header("x-rapport-signature"), "sha256=" + HmacHex(secret, ts + "." + r.body));
    EXPECT_EQ(ParseJson(r.body)->value("action", ""), "create_return_label");
  }
  EXPECT_FALSE(requests[0].Header("idempotency-key").empty());
  EXPECT_EQ(requests[0].Header("idempotency-key"), requests[1].Header("idempotency-key"));
  EXPECT_EQ(requests[0].body, requests[1].body);
}

// --- Crashes ------------------------------------------------------------------------------

// Arms a failpoint for the server processes started while it lives.
class ArmedFailpoint {
 public:
  explicit ArmedFailpoint(const std::string& name) { setenv("RAPPORT_FAILPOINT", name.c_str(), 1); }
  ~ArmedFailpoint() { unsetenv("RAPPORT_FAILPOINT"); }
};

class CrashAt : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashAt, RestartDeliversEveryActionOnceAndLosesNoEvent) {
  const std::string failpoint = GetParam();
  const bool at_timer = failpoint == "timers.before_fire";
  const std::vector<std::string> clock = {"--clock", "manual", "--clock-start",
                                          "2026-11-02T09:00:00Z"};
  ScratchDir dir;
  std::unique_ptr<JourneyServer> s;
  {
    ArmedFailpoint armed(failpoint);
    s = std::make_unique<JourneyServer>(dir, clock);
  }
  ASSERT_EQ(s->Deploy(TradeInYaml()).status, 201);
  ASSERT_EQ(s->AddCustomer("shop:C-1").status, 201);
  s->RegisterTradeInRecipients();
  std::vector<std::string> acknowledged;
  auto post = [&](const char* event) {
    auto r = s->PostEvent(event);
    if (r.status == 201) acknowledged.push_back(ParseJson(event)->value("id", ""));
  };
  post(kOrder);
  if (at_timer) {
    // Let the first actions through, then bring the tracking events; the reminder timer
    // is the first timer to come due.
    ASSERT_TRUE(WaitUntil([&] { return SinkKeys(s->sink()).size() == 2; }));
    for (const char* e : {kLabel, kPickedUp, kDelivered}) post(e);
    // The reminder, a person's call should the device never come, and the end at 8 weeks.
    ASSERT_EQ(s->Instance("trade-in", "O-1").json()["timers"].size(), 3u);
    s->MoveClockTo(*ParseTime("2026-11-14T12:01:00Z"));  // the server ends while answering
  }
  ASSERT_EQ(s->process().WaitForExit(30000), kFailpointExitCode) << "failpoint not reached";

  s->Start(clock);
  ASSERT_TRUE(s->process().ok()) << s->process().startup_output();
  for (const auto& id : acknowledged) {
    EXPECT_EQ(s->http().Get("/v1/events/" + id, s->token()).status, 200) << "lost event " << id;
  }
  // Deliveries claimed before the crash come back at once: the server takes back its own
  // claims when it starts (issue 18, finding 6), without waiting for their lease to end.
  const size_t expected = at_timer ? 3 : 2;
  ASSERT_TRUE(WaitUntil([&] { return SinkKeys(s->sink()).size() == expected; }))
      << "sink has " << SinkKeys(s->sink()).size();
  // Time goes on; nothing is sent again.
  ASSERT_EQ(s->MoveClockTo(*ParseTime("2026-11-15T00:00:00Z")).status, 200);
  auto keys = SinkKeys(s->sink());
  EXPECT_EQ(keys.size(), expected);
  for (const auto& [key, n] : keys) EXPECT_EQ(n, 1) << key << " delivered " << n << " times";
  std::vector<std::string> actions;
  for (const Json& a : s->Outbox()) actions.push_back(a.value("action", ""));
  std::vector<std::string> want = {"confirm_trade_in", "create_return_label"};
  // Without a label event, logistics is asked after 3 business days (a case, not a delivery).
  want.push_back(at_timer ? "send_back_reminder" : "escalate_no_label");
  EXPECT_EQ(actions, want);
}

// Issue 18, finding 6: with several servers on one database, a claim names its server. A
// server that died leaves its claims until their 20-second lease ends (no heartbeat renews
// them), then another server delivers them; before that, nobody does. The manual clock moves
// the lease; each clock move delivers what is due before it answers, so no test sleeps.
TEST(OutboxClaims, ADeadServersClaimsMoveToAnotherServerWhenTheLeaseEnds) {
  const std::vector<std::string> clock = {"--clock", "manual", "--clock-start",
                                          "2026-11-02T09:00:00Z"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), clock.begin(), clock.end());
    return args;
  };
  ScratchDir dir;
  std::unique_ptr<JourneyServer> s;
  {
    ArmedFailpoint armed("outbox.before_send");
    s = std::make_unique<JourneyServer>(dir, with({"--server-id", "server-a"}));
  }
  ASSERT_EQ(s->Deploy(TradeInYaml()).status, 201);
  ASSERT_EQ(s->AddCustomer("shop:C-1").status, 201);
  s->RegisterTradeInRecipients();
  s->PostEvent(kOrder);  // the server may end before it answers
  ASSERT_EQ(s->process().WaitForExit(30000), kFailpointExitCode) << "failpoint not reached";
  const Time crashed_at = *ParseTime("2026-11-02T09:00:00Z");

  s->Start(with({"--server-id", "server-b"}));
  ASSERT_TRUE(s->process().ok()) << s->process().startup_output();
  ASSERT_EQ(s->MoveClockTo(crashed_at + std::chrono::seconds(15)).status, 200);
  EXPECT_TRUE(SinkKeys(s->sink()).empty()) << "server-a's claims still hold";
  ASSERT_EQ(s->MoveClockTo(crashed_at + std::chrono::seconds(21)).status, 200);
  // Delivered by the clock move or by server-b's delivery thread, whichever claimed first.
  ASSERT_TRUE(WaitUntil([&] { return SinkKeys(s->sink()).size() == 2; }))
      << "server-b delivers them once server-a's lease ended";
  auto keys = SinkKeys(s->sink());
  for (const auto& [key, n] : keys) EXPECT_EQ(n, 1) << key << " delivered " << n << " times";
}

INSTANTIATE_TEST_SUITE_P(Failpoints, CrashAt,
                         ::testing::Values("outbox.before_send", "outbox.after_send",
                                           "timers.before_fire"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

}  // namespace
}  // namespace rapport::testing

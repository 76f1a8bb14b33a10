// Issue 21, one driver: what `journey check` proves must be what the server runs. Every
// counterexample check finds in the shipped journeys is replayed through the path of `journey
// run` (Runtime and Replay, which check itself confirms counterexamples with) and through the
// server's (JourneyService on a SQLite store, events appended and timers fired as a server
// does); both must send the same actions, with the same parameters, at the same times, and
// leave the instance in the same state.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "journey/replay.h"
#include "journey/runtime.h"
#include "journey/service/journey_service.h"
#include "journey/verify/check.h"
#include "journey/verify/deviations.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport::journey {
namespace {

std::string ReadSource(const std::string& rel) {
  std::ifstream in(std::string(RAPPORT_SOURCE_DIR) + "/" + rel);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

// What reached the customer or a partner, as both paths record it.
std::string Sent(const Json& a) {
  return a.value("created_at", "") + " " + a.value("action", "") + " #" +
         std::to_string(a.value("occurrence", -1)) + " " + a["params"].dump();
}

struct Outcome {
  std::vector<std::string> sent;
  std::string state;  // "running" or the end state
};

Outcome ThroughRuntime(const DefinitionPtr& def, const std::vector<Event>& events, Time until) {
  ManualClock clock(events.front().received_at);
  Runtime rt(clock);
  EXPECT_TRUE(rt.Deploy(def).ok());
  Replay(rt, clock, events, {.until = until});
  Outcome out;
  for (const OutboxAction& a : rt.outbox()) out.sent.push_back(Sent(OutboxActionToJson(a)));
  const std::string& key = events.front().keys.front().second;
  const InstanceState* s = rt.Find(def->name(), key);
  out.state = !s                                    ? "none"
              : s->status == InstanceStatus::kEnded ? def->end_states()[s->end_state].name
                                                    : "running";
  return out;
}

Outcome ThroughServer(const std::string& yaml, const DefinitionPtr& def,
                      const std::vector<Event>& events, Time until) {
  const std::string path =
      ::testing::TempDir() + "/journey_drivers_" + std::to_string(getpid()) + ".db";
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  Outcome out;
  {
    auto store = store::OpenSqliteStore({.path = path, .sync_every_commit = false});
    EXPECT_TRUE(store.ok());
    ManualClock clock(events.front().received_at);
    MetricsRegistry metrics;
    JourneyService service(**store, clock, metrics);
    EXPECT_TRUE(service.Start().ok());
    EXPECT_TRUE(service.Deploy(yaml, def->file()).ok());
    // As Replay orders them: a timer due strictly before an event's receipt fires first.
    auto run_timers_before = [&](Time t, bool inclusive) {
      for (;;) {
        auto due = service.NextDue();
        EXPECT_TRUE(due.ok());
        if (!due.ok() || !*due || **due > t || (!inclusive && **due == t)) break;
        EXPECT_TRUE(clock.AdvanceTo(std::max(clock.Now(), **due)).ok());
        EXPECT_TRUE(service.RunDue().ok());
      }
    };
    for (const Event& e : events) {
      if (e.received_at > until) break;
      run_timers_before(e.received_at, false);
      EXPECT_TRUE(clock.AdvanceTo(std::max(clock.Now(), e.received_at)).ok());
      EXPECT_TRUE((*store)->AppendEvents({e}).ok());
      EXPECT_TRUE(service.CatchUp().ok());
    }
    run_timers_before(until, true);
    const std::string& key = events.front().keys.front().second;
    auto inst = service.Instance(def->name(), key);
    if (!inst.ok()) {
      out.state = "none";
    } else {
      for (const Json& a : (*inst)["outbox"]) out.sent.push_back(Sent(a));
      out.state =
          (*inst).value("status", "") == "ended" ? (*inst).value("end_state", "") : "running";
    }
  }
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  return out;
}

TEST(OneDriver, EveryCounterexampleRunsOnTheServerAsInCheck) {
  const std::string trade_in = "examples/journeys/trade-in.deviations.yaml";
  const std::string two_parcels = "examples/journeys/two-parcel-kit.deviations.yaml";
  size_t replayed = 0;
  for (const auto& [rel, model_file] : std::vector<std::pair<std::string, std::string>>{
           {"examples/journeys/trade-in.yaml", trade_in},
           {"examples/journeys/broken/deadline-from-shipping.yaml", trade_in},
           {"examples/journeys/broken/lost-kit-no-timeout.yaml", trade_in},
           {"examples/journeys/broken/payout-needs-pickup-scan.yaml", trade_in},
           {"examples/journeys/broken/promise-in-calendar-days.yaml", trade_in},
           {"examples/journeys/broken/reminder-after-device.yaml", trade_in},
           {"examples/journeys/broken/reminder-from-label.yaml", trade_in},
           {"examples/journeys/broken/reminder-from-order.yaml", trade_in},
           {"examples/journeys/broken/reminder-from-first-parcel.yaml", two_parcels}}) {
    SCOPED_TRACE(rel);
    const std::string yaml = ReadSource(rel);
    auto def = LoadDefinition(yaml, rel);
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    auto model = LoadDeviations(**def, ReadSource(model_file), model_file);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    CheckReport report = CheckJourney(**def, *model);
    for (const Violation& v : report.violations) {
      if (v.events.empty()) continue;
      SCOPED_TRACE(v.property + ": " + v.message);
      std::vector<Event> events = v.events;
      for (size_t i = 0; i < events.size(); ++i) events[i].seq = static_cast<int64_t>(i + 1);
      // A week past the violation: what the run does next is compared too.
      const Time until = std::max(v.at, events.back().received_at) + std::chrono::hours(24 * 7);
      Outcome offline = ThroughRuntime(*def, events, until);
      Outcome served = ThroughServer(yaml, *def, events, until);
      EXPECT_EQ(served.sent, offline.sent);
      EXPECT_EQ(served.state, offline.state);
      EXPECT_FALSE(offline.sent.empty());
      ++replayed;
    }
  }
  EXPECT_GE(replayed, 8u) << "each broken journey has a counterexample with events";
}

}  // namespace
}  // namespace rapport::journey

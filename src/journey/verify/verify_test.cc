// Tests of the deviation model loader, `journey check` (the trade-in journey passes, each broken
// variant in examples/journeys/broken/ fails with the expected property, and its counterexample
// replayed through the runtime really shows the action) and `journey simulate`.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "journey/replay.h"
#include "journey/runtime.h"
#include "journey/verify/check.h"
#include "journey/verify/deviations.h"
#include "journey/verify/simulate.h"

namespace rapport::journey {
namespace {

const char kModel[] = "examples/journeys/trade-in.deviations.yaml";

std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : ".";
}

std::string ReadFile(const std::string& rel) {
  std::ifstream in(SourceDir() + "/" + rel);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

DefinitionPtr Load(const std::string& rel) {
  std::string text = ReadFile(rel);
  EXPECT_FALSE(text.empty()) << "cannot read " << rel << " (RAPPORT_SOURCE_DIR?)";
  auto d = LoadDefinition(text, rel);
  EXPECT_TRUE(d.ok()) << d.status().message() << " " << d.status().where();
  return d.ok() ? *d : nullptr;
}

DeviationModel Model(const JourneyDefinition& def, const std::string& rel = kModel) {
  auto m = LoadDeviations(def, ReadFile(rel), rel);
  EXPECT_TRUE(m.ok()) << m.status().message() << " " << m.status().where();
  return m.ok() ? *m : DefaultDeviations(def);
}

std::vector<Diagnostic> Problems(const JourneyDefinition& def, const std::string& yaml) {
  std::vector<Diagnostic> d;
  EXPECT_FALSE(CompileDeviations(def, yaml, "d.yaml", &d).has_value());
  return d;
}

// --- deviation model ---------------------------------------------------------------------

TEST(DeviationsTest, TradeInModelLoads) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  DeviationModel m = Model(*def);
  const EventModel* pickup = m.Find(*def->FindFact("kit.picked_up"));
  ASSERT_NE(pickup, nullptr);
  EXPECT_TRUE(pickup->business_days);
  EXPECT_EQ(pickup->max_days, 5);
  EXPECT_TRUE(pickup->missing);
  const EventModel* label = m.Find(*def->FindFact("kit.label_created"));
  ASSERT_NE(label, nullptr);
  EXPECT_EQ(label->after_action, *def->FindAction("create_return_label"));
  EXPECT_EQ(m.asks[*def->FindAction("send_back_reminder")], *def->FindFact("device_sent"));
  EXPECT_EQ(TimeGrid(*def, m), std::chrono::hours(24));
}

TEST(DeviationsTest, ProblemsAreReportedAtLineAndColumn) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  auto d = Problems(*def,
                    "events:\n"
                    "  kit.arrived: {after: order.placed}\n"
                    "  kit.delivered: {after: order.placed, delay: [3d, 1d]}\n"
                    "  device.shipped: {after: kit.delivered, dealy: 2d}\n"
                    "  payout.made: {after: nothing, delay: 2x}\n");
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].ToString(),
            "d.yaml:2:3: unknown event type 'kit.arrived' (the definition "
            "declares it under events:)");
  EXPECT_EQ(d[1].line, 3);
  EXPECT_NE(d[1].message.find("min 3d is greater than max 1d"), std::string::npos);
  EXPECT_EQ(d[2].line, 4);
  EXPECT_EQ(d[2].column, 42);
  EXPECT_NE(d[2].message.find("unknown field 'dealy'"), std::string::npos);
  EXPECT_EQ(d[3].line, 5);
  EXPECT_NE(d[3].message.find("unknown event type or action 'nothing'"), std::string::npos);
  EXPECT_EQ(d[4].line, 5);
  EXPECT_NE(d[4].message.find("delay"), std::string::npos);
}

TEST(DeviationsTest, CausesMustBeModelledAndAcyclic) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  auto d = Problems(*def,
                    "events:\n"
                    "  kit.picked_up: {after: kit.delivered}\n"
                    "  kit.delivered: {after: kit.picked_up}\n"
                    "  device.shipped: {after: device.received}\n");
  ASSERT_GE(d.size(), 3u);
  std::string all;
  for (const auto& x : d) all += x.ToString() + "\n";
  EXPECT_NE(all.find("d.yaml:4:3: event device.shipped is caused by device.received, which the "
                     "model does not make happen"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("d.yaml:2:3: event kit.picked_up is caused by itself"), std::string::npos)
      << all;
}

TEST(DeviationsTest, YamlSyntaxErrorHasAPosition) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  auto d = Problems(*def, "events:\n  kit.delivered: [after\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_GT(d[0].line, 0);
  EXPECT_EQ(d[0].message.rfind("YAML: ", 0), 0u);
  auto r = LoadDeviations(*def, "events: 3", "x.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().where(), "x.yaml:1:9");
}

TEST(DeviationsTest, DefaultsChainTheStepsAndLetTheCustomerNotAct) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  DeviationModel m = DefaultDeviations(*def);
  const EventModel* shipped = m.Find(*def->FindFact("device.shipped"));
  ASSERT_NE(shipped, nullptr);
  EXPECT_EQ(shipped->after_event, *def->FindFact("kit.delivered"));
  EXPECT_TRUE(shipped->lost);  // asked of the customer: they may never do it
  const EventModel* cancelled = m.Find(*def->FindFact("order.cancelled"));
  ASSERT_NE(cancelled, nullptr);
  EXPECT_TRUE(cancelled->optional);
  EXPECT_TRUE(CheckJourney(*def, m).pass());
}

// --- check -------------------------------------------------------------------------------

// Replays a counterexample through the real runtime (as `rapport journey run` does) up to the
// violation and returns the outbox.
std::vector<OutboxAction> ReplayCounterexample(const JourneyDefinition& def, const Violation& v) {
  auto events = ParseReplayEvents(CounterexampleNdjson(v), "counterexample");
  EXPECT_TRUE(events.ok()) << events.status().message();
  if (!events.ok() || events->empty()) return {};
  ManualClock clock(events->front().received_at);
  Runtime rt(clock);
  EXPECT_TRUE(rt.Deploy(std::make_shared<JourneyDefinition>(def)).ok());
  ReplayOptions opt;
  opt.until = v.at;
  Replay(rt, clock, *events, opt);
  return rt.outbox();
}

const OutboxAction* FiredAt(const std::vector<OutboxAction>& outbox, const Violation& v) {
  for (const auto& o : outbox) {
    if (o.action == v.action && o.occurrence == v.occurrence && o.created_at == v.at) return &o;
  }
  return nullptr;
}

const Violation* Find(const CheckReport& r, const std::string& property) {
  for (const auto& v : r.violations) {
    if (v.property == property) return &v;
  }
  return nullptr;
}

TEST(CheckTest, TradeInPassesWithItsModel) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  EXPECT_TRUE(r.complete);
  EXPECT_GT(r.runs, 1000u);
  EXPECT_GT(r.states, r.runs);
  for (const auto& v : r.violations) ADD_FAILURE() << v.property << ": " << v.message;
  EXPECT_TRUE(r.pass());
  EXPECT_NE(CheckReportToText(*def, r).find("pass: trade-in v1: 7 properties hold"),
            std::string::npos);
}

// S1: the reminder anchored to the order date asks the customer to send the device back before
// the kit was delivered; the shortest counterexample is the order and the label, nothing else.
TEST(CheckTest, ReminderAnchoredToOrderIsRejectedWithTheShortestCounterexample) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-from-order.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  EXPECT_FALSE(r.pass());
  const Violation* v = Find(r, kPropCanAct);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action, "send_back_reminder");
  EXPECT_EQ(v->occurrence, 0);
  ASSERT_EQ(v->events.size(), 2u);
  EXPECT_EQ(v->events[0].type, "order.placed");
  EXPECT_EQ(v->events[1].type, "kit.label_created");
  EXPECT_EQ(v->at - v->events[0].occurred_at, std::chrono::days(10));
  EXPECT_NE(v->message.find("kit.delivered has not happened"), std::string::npos) << v->message;
  // Replayed through the runtime, the reminder really goes out, with no delivery known.
  auto outbox = ReplayCounterexample(*def, *v);
  EXPECT_NE(FiredAt(outbox, *v), nullptr);
  EXPECT_NE(Find(r, kPropDeadline), nullptr);
}

TEST(CheckTest, ReminderAnchoredToShippingIsRejected) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-from-label.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  const Violation* v = Find(r, kPropCanAct);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->action, "send_back_reminder");
  EXPECT_NE(FiredAt(ReplayCounterexample(*def, *v), *v), nullptr);
  for (const Event& e : v->events) {
    if (e.type == "kit.delivered") {
      EXPECT_GT(e.occurred_at, v->at);  // too early, really
    }
  }
}

TEST(CheckTest, DeadlineCountedFromShippingIsTooShort) {
  DefinitionPtr def = Load("examples/journeys/broken/deadline-from-shipping.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  ASSERT_EQ(r.violations.size(), 1u);
  const Violation& v = r.violations[0];
  EXPECT_EQ(v.property, kPropDeadline);
  std::vector<OutboxAction> outbox = ReplayCounterexample(*def, v);
  const OutboxAction* o = FiredAt(outbox, v);
  ASSERT_NE(o, nullptr);
  // The deadline the runtime told leaves less than 14 days after the real delivery.
  Time delivered = Time::max();
  for (const Event& e : v.events) {
    if (e.type == "kit.delivered") delivered = std::min(delivered, e.occurred_at);
  }
  ASSERT_NE(delivered, Time::max());
  auto told = ParseTime(o->params["deadline"].get<std::string>());
  ASSERT_TRUE(told.ok());
  EXPECT_LT(*told - delivered, std::chrono::days(14));
}

TEST(CheckTest, ReminderAfterTheDeviceWasSentIsRejected) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-after-device.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  ASSERT_EQ(r.violations.size(), 1u);
  const Violation& v = r.violations[0];
  EXPECT_EQ(v.property, kPropNotDone);
  EXPECT_NE(FiredAt(ReplayCounterexample(*def, v), v), nullptr);
  bool shipped_before = false;
  for (const Event& e : v.events)
    shipped_before |= e.type == "device.shipped" && e.received_at < v.at;
  EXPECT_TRUE(shipped_before);
}

TEST(CheckTest, LostKitWithoutTimeoutWaitsSilently) {
  DefinitionPtr def = Load("examples/journeys/broken/lost-kit-no-timeout.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.violations[0].property, kPropNoSilentWait);
  ASSERT_FALSE(r.violations[0].events.empty());
  EXPECT_EQ(r.violations[0].events.back().type, "kit.label_created");  // then: nothing, ever
}

TEST(CheckTest, PayoutThatNeedsThePickupScanCanDeadlock) {
  DefinitionPtr def = Load("examples/journeys/broken/payout-needs-pickup-scan.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  ASSERT_EQ(r.violations.size(), 1u);
  const Violation& v = r.violations[0];
  EXPECT_EQ(v.property, kPropNoSilentWait);
  ASSERT_FALSE(v.events.empty());
  EXPECT_EQ(v.events.back().type, "device.inspected");
  for (const Event& e : v.events) EXPECT_NE(e.type, "kit.picked_up");  // the scan never came
}

TEST(CheckTest, AnEventThatNeverComesLeavesStepsUnreachableAndNoEnd) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  // A world in which nobody ever creates the label: the kit never ships.
  auto m = LoadDeviations(*def, "events:\n  order.placed: {}\n", "m.yaml");
  ASSERT_TRUE(m.ok());
  CheckReport r = CheckJourney(*def, *m);
  const Violation* ends = Find(r, kPropEnds);
  ASSERT_NE(ends, nullptr);
  EXPECT_EQ(ends->events.size(), 1u);
  const Violation* steps = Find(r, kPropStepsReachable);
  ASSERT_NE(steps, nullptr);
  EXPECT_NE(steps->message.find("kit_shipped"), std::string::npos);
}

TEST(CheckTest, AnEventJustAfterADeadlineIsExplored) {
  // The delivery scan arrives exactly when the order-anchored reminder is due: the event wins,
  // and "just after" the timer wins. Both branches must be explored, so a model with a fixed
  // 10-day delivery still finds the premature reminder.
  DefinitionPtr def = Load("examples/journeys/broken/reminder-from-order.yaml");
  ASSERT_TRUE(def);
  auto m = LoadDeviations(*def,
                          "events:\n"
                          "  order.placed: {}\n"
                          "  kit.label_created: {after: order.placed}\n"
                          "  kit.delivered: {after: order.placed, delay: 10d}\n"
                          "  device.shipped: {after: kit.delivered, delay: 5d}\n",
                          "m.yaml");
  ASSERT_TRUE(m.ok());
  CheckReport r = CheckJourney(*def, *m);
  const Violation* v = Find(r, kPropCanAct);
  ASSERT_NE(v, nullptr) << CheckReportToText(*def, r);
  EXPECT_NE(v->message.find("happened only at"), std::string::npos) << v->message;
  EXPECT_EQ(FormatTime(v->at), "2026-11-12T09:00:00Z");
}

TEST(CheckTest, JsonReportHasTheCounterexample) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-from-order.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, Model(*def));
  Json j = CheckReportToJson(*def, r);
  EXPECT_EQ(j["pass"], false);
  EXPECT_EQ(j["states"], r.states);
  ASSERT_GE(j["violations"].size(), 1u);
  EXPECT_EQ(j["violations"][0]["property"], kPropCanAct);
  EXPECT_EQ(j["violations"][0]["events"][0]["type"], "order.placed");
  EXPECT_TRUE(j["violations"][0]["events"][0].contains("received_at"));
}

TEST(CheckTest, GivesUpBeyondMaxStates) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  CheckOptions o;
  o.max_states = 100;
  CheckReport r = CheckJourney(*def, Model(*def), o);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.pass());
}

// --- simulate ----------------------------------------------------------------------------

Json WithoutSeconds(const SimulateReport& r) {
  Json j = SimulateReportToJson(r);
  j.erase("seconds");
  return j;
}

TEST(SimulateTest, DeterministicForASeed) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  DeviationModel m = Model(*def);
  SimulateOptions o;
  o.customers = 300;
  o.seed = 7;
  SimulateReport a = Simulate(*def, m, o);
  SimulateReport b = Simulate(*def, m, o);
  EXPECT_EQ(WithoutSeconds(a), WithoutSeconds(b));
  EXPECT_EQ(SimulateReportToSvg(*def, a), SimulateReportToSvg(*def, b));
  o.seed = 8;
  SimulateReport c = Simulate(*def, m, o);
  EXPECT_NE(WithoutSeconds(a), WithoutSeconds(c));
  EXPECT_EQ(a.customers, 300u);
  EXPECT_GT(a.events, 300u * 4);
}

TEST(SimulateTest, CorrectTradeInHasNoCustomerFacingAnomaly) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  SimulateOptions o;
  o.customers = 2000;
  SimulateReport r = Simulate(*def, Model(*def), o);
  EXPECT_EQ(r.anomalies.at(kAnomalyPremature), 0u);
  EXPECT_EQ(r.anomalies.at(kAnomalyShortDeadline), 0u);
  EXPECT_EQ(r.anomalies.at(kAnomalyDuplicate), 0u);
  EXPECT_EQ(r.anomalies.at(kAnomalyAfterDone), 0u);
  EXPECT_EQ(r.anomalies.at(kAnomalySilentWait), 0u);
  EXPECT_GT(r.end_states.at("completed"), 1500u);
  ASSERT_EQ(r.completion.size(), 4u);
  EXPECT_LE(r.completion[0].second, r.completion[1].second);
  EXPECT_LE(r.completion[1].second, r.completion[2].second);
  // Not ended: exactly the customers who never send the device or whose kit was lost (plus
  // cancellations end), so strictly between 0 and the sum of those fault rates.
  EXPECT_GT(r.running, 0u);
  EXPECT_LT(r.running, 2000u * 15 / 100);
}

TEST(SimulateTest, OrderAnchoredReminderIsPrematureAtTheRateTheModelImplies) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-from-order.yaml");
  ASSERT_TRUE(def);
  SimulateOptions o;
  o.customers = 4000;
  SimulateReport r = Simulate(*def, Model(*def), o);
  double premature = static_cast<double>(r.anomalies.at(kAnomalyPremature)) / 4000;
  // The reminder goes out 10 days after the order; the kit arrives after that when the label,
  // pickup and delivery delays add up to more than 10 days, or it is lost (2%): a few percent,
  // never zero, far from all.
  EXPECT_GT(premature, 0.02);
  EXPECT_LT(premature, 0.15);
  EXPECT_GT(r.anomalies.at(kAnomalyShortDeadline), 4000u / 2);
}

TEST(SimulateTest, SvgIsAChartOfEveryStep) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  SimulateOptions o;
  o.customers = 200;
  SimulateReport r = Simulate(*def, Model(*def), o);
  std::string svg = SimulateReportToSvg(*def, r);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  for (const StepSpec& s : def->steps()) EXPECT_NE(svg.find(">" + s.name + "<"), std::string::npos);
  EXPECT_NE(svg.find("<rect"), std::string::npos);
}

}  // namespace
}  // namespace rapport::journey

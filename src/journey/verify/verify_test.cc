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
#include "journey/verify/internal/test_files.h"
#include "journey/verify/simulate.h"

namespace rapport::journey {
namespace {

using test_files::kModel;
using test_files::Load;
using test_files::Model;
using test_files::ReadFile;

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

// Names from the model end up in counterexamples as JSON, which must be UTF-8 (journey_fuzzer
// crashed the serializer with a byte 0xFF in an event name).
TEST(DeviationsTest, TextThatIsNotUtf8IsRefusedAtItsPosition) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  auto d = Problems(*def, "events:\n  kit.deliver\xFF: {max_days: 3}\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].line, 2);
  EXPECT_EQ(d[0].column, 14);
  EXPECT_NE(d[0].message.find("not UTF-8"), std::string::npos) << d[0].ToString();
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

// A parcel to the customer: confirmed, shipped, delivered. `chase` adds a task for the
// logistics team when the delivery scan does not come.
std::string ParcelJourney(bool chase) {
  std::string y =
      "journey: parcel\nversion: 1\ncorrelation: order_id\nstart: {on: order.placed}\n"
      "events:\n  order.placed: {keys: [order_id]}\n  parcel.shipped: {keys: [order_id]}\n"
      "  parcel.delivered: {keys: [order_id]}\n"
      "steps:\n  - {name: ordered, completed_by: order.placed}\n"
      "  - {name: shipped, completed_by: parcel.shipped}\n"
      "  - {name: delivered, completed_by: parcel.delivered}\n"
      "actions:\n"
      "  - {name: confirm, kind: message, channel: email, template: confirm, requires: "
      "[order.placed]}\n";
  if (chase) {
    y += "  - {name: chase_carrier, kind: task, queue: logistics, after: 4d from parcel.shipped, "
         "unless: [delivered]}\n";
  }
  return y + "end_states:\n  - {name: done, when: delivered}\n";
}

// Issue 21: the pessimistic built-in model lets any step's event be lost, go unreported, come a
// day late or twice (one fault a run by default): without any deviations file it finds the
// parcel lost after shipping that nobody hears of, which the optimistic model never loses.
TEST(DeviationsTest, ThePessimisticModelFindsALostParcelWithoutAFile) {
  auto careless = LoadDefinition(ParcelJourney(false), "parcel.yaml");
  ASSERT_TRUE(careless.ok()) << careless.status().ToString();
  DeviationModel m = PessimisticDeviations(**careless);
  EXPECT_EQ(m.max_faults, 1);
  const EventModel* shipped = m.Find(*(*careless)->FindFact("parcel.shipped"));
  ASSERT_NE(shipped, nullptr);
  EXPECT_TRUE(shipped->lost && shipped->missing && shipped->duplicate);
  EXPECT_EQ(shipped->max_late, std::chrono::hours(24));
  EXPECT_NE(m.Describe().find("at most 1 fault a run"), std::string::npos) << m.Describe();

  CheckReport optimistic = CheckJourney(**careless, DefaultDeviations(**careless));
  EXPECT_TRUE(optimistic.pass()) << CheckReportToText(**careless, optimistic);
  CheckReport r = CheckJourney(**careless, m);
  ASSERT_EQ(r.violations.size(), 1u) << CheckReportToText(**careless, r);
  EXPECT_EQ(r.violations[0].property, "no-silent-wait");
  EXPECT_NE(r.violations[0].message.find("after parcel.shipped"), std::string::npos)
      << r.violations[0].message;
  EXPECT_NE(r.model.find("pessimistic"), std::string::npos) << r.model;
  // No fault allowed: everything happens within its delays, once, reported.
  EXPECT_TRUE(CheckJourney(**careless, PessimisticDeviations(**careless, 0)).pass());

  // Chasing the carrier is what the pessimistic world asks for; every fault, each at a time.
  auto careful = LoadDefinition(ParcelJourney(true), "parcel.yaml");
  ASSERT_TRUE(careful.ok()) << careful.status().ToString();
  CheckReport fine = CheckJourney(**careful, PessimisticDeviations(**careful));
  EXPECT_TRUE(fine.pass()) << CheckReportToText(**careful, fine);

  // A file states its own budget.
  auto budget = LoadDeviations(**careful, "max_faults: 2\nevents:\n  order.placed: {}\n", "m.yaml");
  ASSERT_TRUE(budget.ok()) << budget.status().ToString();
  EXPECT_EQ(budget->max_faults, 2);
  auto negative =
      LoadDeviations(**careful, "max_faults: -1\nevents:\n  order.placed: {}\n", "m.yaml");
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().where(), "m.yaml:1:13") << negative.status().ToString();
}

// Issue 21: a second report of a scan after the escalation about it was opened starts no new
// wait; somebody was told, and nothing new happened since.
TEST(CheckTest, ASecondReportAfterTheEscalationIsNoSilentWait) {
  auto def = LoadDefinition(ParcelJourney(true), "parcel.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  const std::string world =
      "events:\n  order.placed: {}\n"
      "  parcel.shipped: {after: order.placed, delay: 0d, late: [0d, 6d], duplicate: true}\n"
      "  parcel.delivered: {after: parcel.shipped, delay: 1d, lost: true}\n";
  auto m = LoadDeviations(**def, world, "late-scans.yaml");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  CheckReport r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.pass()) << CheckReportToText(**def, r);
  // The same world without the task: the lost parcel is a silent wait, seen as before.
  auto careless = LoadDefinition(ParcelJourney(false), "parcel.yaml");
  ASSERT_TRUE(careless.ok());
  auto mc = LoadDeviations(**careless, world, "late-scans.yaml");
  ASSERT_TRUE(mc.ok()) << mc.status().ToString();
  CheckReport c = CheckJourney(**careless, *mc);
  ASSERT_FALSE(c.violations.empty());
  EXPECT_EQ(c.violations[0].property, kPropNoSilentWait);
}

// Issue 21: an answer the customer may never give must not keep a journey open for ever.
TEST(CheckTest, ASurveyEndsByItselfAndWithoutItsTimedEndWaitsForEver) {
  DefinitionPtr survey = Load("examples/journeys/survey.yaml");
  ASSERT_TRUE(survey);
  CheckReport r = CheckJourney(*survey, PessimisticDeviations(*survey));
  EXPECT_TRUE(r.pass()) << CheckReportToText(*survey, r);
  std::string text = ReadFile("examples/journeys/survey.yaml");
  text = text.substr(0, text.find("  - name: expired"));
  auto open = LoadDefinition(text, "survey-without-end.yaml");
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  for (const DeviationModel& m : {PessimisticDeviations(**open), DefaultDeviations(**open)}) {
    CheckReport f = CheckJourney(**open, m);
    ASSERT_EQ(f.violations.size(), 1u) << CheckReportToText(**open, f);
    EXPECT_EQ(f.violations[0].property, kPropEnds);
    EXPECT_NE(f.violations[0].message.find("the customer does not do what was asked"),
              std::string::npos)
        << f.violations[0].message;
  }
}

TEST(DefinitionTest, TimedEndsAreCheckedWhereTheyAreWritten) {
  const std::string head =
      "journey: s\nversion: 1\ncorrelation: order_id\nstart: order.delivered\n"
      "events:\n  order.delivered: {keys: [order_id]}\n  survey.answered: {keys: [order_id]}\n"
      "steps:\n  - {name: answered, completed_by: survey.answered}\n"
      "actions:\n  - {name: ask, kind: message, channel: email, template: t, "
      "requires: [order.delivered]}\nend_states:\n";
  auto error = [&](const std::string& ends) {
    auto d = LoadDefinition(head + ends, "s.yaml");
    return d.ok() ? std::string() : d.status().message();
  };
  EXPECT_EQ(error("  - {name: done, when: answered}\n  - {name: expired, after: 30d from "
                  "order.delivered, unless: [answered]}\n"),
            "");
  EXPECT_NE(error("  - {name: done}\n").find("missing 'when'"), std::string::npos);
  EXPECT_NE(error("  - {name: done, when: answered, unless: [answered]}\n")
                .find("'unless' belongs to a timed end"),
            std::string::npos);
  EXPECT_NE(error("  - {name: late, after: 30 days from order.delivered}\n").find("bad duration"),
            std::string::npos)
      << error("  - {name: late, after: 30 days from order.delivered}\n");
}

// Issue 21: without a deviations file nothing says which task the reminder of
// broken/reminder-after-device.yaml asks for; check asks for it instead of passing.
TEST(CheckTest, AReminderThatNamesNoTaskIsRejectedWithoutADeviationsFile) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-after-device.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, DefaultDeviations(*def));
  ASSERT_FALSE(r.violations.empty()) << CheckReportToText(*def, r);
  EXPECT_EQ(r.violations[0].property, kPropNotDone);
  EXPECT_NE(r.violations[0].message.find("send_back_reminder reminds the customer up to 2 times "
                                         "but names no task"),
            std::string::npos)
      << r.violations[0].message;
  EXPECT_TRUE(r.violations[0].events.empty());
  DefinitionPtr good = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(good);
  for (const Violation& v : CheckJourney(*good, Model(*good)).violations) {
    EXPECT_NE(v.property, kPropNotDone) << v.message;
  }
}

// Issue 21: a date that agrees with the rule that computed it still breaks the promise the
// message makes in words ("within 14 business days"), and check says so.
TEST(CheckTest, ADateComputedInCalendarDaysBreaksAPromiseInBusinessDays) {
  DefinitionPtr def = Load("examples/journeys/broken/promise-in-calendar-days.yaml");
  ASSERT_TRUE(def);
  CheckReport r = CheckJourney(*def, DefaultDeviations(*def));
  ASSERT_EQ(r.violations.size(), 1u) << CheckReportToText(*def, r);
  EXPECT_EQ(r.violations[0].property, kPropDeadline);
  EXPECT_NE(r.violations[0].message.find(
                "before what it promises: within 14 business days from kit.delivered"),
            std::string::npos)
      << r.violations[0].message;
  EXPECT_FALSE(r.violations[0].events.empty());
  // The shipped journey promises what it computes (14 days): it passes.
  DefinitionPtr good = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(good);
  ASSERT_TRUE(good->actions()[*good->FindAction("send_back_reminder")].promise);
  EXPECT_TRUE(CheckJourney(*good, DefaultDeviations(*good)).pass());
}

TEST(DefinitionTest, APromiseBelongsToAMessageThatTellsADate) {
  const std::string head =
      "journey: p\nversion: 1\ncorrelation: order_id\nstart: order.placed\n"
      "events:\n  order.placed: {keys: [order_id]}\n  order.paid: {keys: [order_id]}\n"
      "steps:\n  - {name: paid, completed_by: order.paid}\nactions:\n";
  const std::string ends = "end_states:\n  - {name: done, when: paid}\n";
  auto error = [&](const std::string& action) {
    auto d = LoadDefinition(head + action + ends, "p.yaml");
    return d.ok() ? std::string() : d.status().message();
  };
  EXPECT_EQ(error("  - {name: ask, kind: message, channel: email, template: t, requires: "
                  "[order.placed], promise: {within: 10 business days, from: order.placed}, "
                  "params: {due: {date: 14d from order.placed}}}\n"),
            "");
  EXPECT_NE(error("  - {name: ask, kind: message, channel: email, template: t, requires: "
                  "[order.placed], promise: {within: 10d, from: order.placed}}\n")
                .find("a promise belongs to a message that tells a date"),
            std::string::npos);
  EXPECT_NE(error("  - {name: ask, kind: message, channel: email, template: t, requires: "
                  "[order.placed], promise: {within: 10d}, params: {due: {date: 14d from "
                  "order.placed}}}\n")
                .find("promise is {within"),
            std::string::npos);
  EXPECT_NE(error("  - {name: ask, kind: message, channel: email, template: t, requires: "
                  "[order.placed], promise: {within: soon, from: order.placed}, params: {due: "
                  "{date: 14d from order.placed}}}\n")
                .find("bad duration"),
            std::string::npos);
}

TEST(DeviationsTest, DefaultsChainTheStepsAndLetTheCustomerNotAct) {
  DefinitionPtr def = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def);
  DeviationModel m = DefaultDeviations(*def);
  const EventModel* shipped = m.Find(*def->FindFact("device.shipped"));
  ASSERT_NE(shipped, nullptr);
  EXPECT_EQ(shipped->after_events, std::vector<FactId>{*def->FindFact("kit.delivered")});
  EXPECT_TRUE(shipped->lost);  // asked of the customer: they may never do it
  const EventModel* cancelled = m.Find(*def->FindFact("order.cancelled"));
  ASSERT_NE(cancelled, nullptr);
  EXPECT_TRUE(cancelled->optional);
  // In the built-in world the label is created 0-3 days after the order, at any time of day, and
  // the escalation is due 7 business days after it: for a label late on Wednesday that is 9
  // days, early on Thursday 11. A grid point stands for real times on both days, so check
  // explores both (branches for another calendar day). And its delays of 0 let the delivery
  // scan be parked before the pickup scan at one grid point: both release orders are explored.
  // Every run is decided: the journey passes.
  CheckReport r = CheckJourney(*def, m);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.not_exact.empty()) << CheckReportToText(*def, r);
  EXPECT_TRUE(r.violations.empty()) << CheckReportToText(*def, r);
  EXPECT_GT(r.day_branches, 0u);
  EXPECT_TRUE(r.pass());
  std::string text = CheckReportToText(*def, r);
  EXPECT_EQ(text.rfind("model: built-in optimistic model: ", 0), 0u)
      << "the report names its model: " << text;
  EXPECT_NE(text.find("\npass: trade-in v1: 7 properties hold in every run ("), std::string::npos)
      << text;
  EXPECT_NE(text.find(" states, "), std::string::npos) << text;
  EXPECT_NE(text.find("branches for another calendar day: "), std::string::npos) << text;
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

// The delivery is exactly 10 days after the order, when the order-anchored reminder is due.
// Whichever of the two the runtime processes first, the kit is in the customer's hands when they
// are asked (able to act at the same instant). The checker before the exact grid reported a
// premature reminder here by moving the delivery 1 us later, outside the model's fixed delay.
// (The deadline counted from the order is still too short: that violation is real.)
TEST(CheckTest, AnEventExactlyAtADeadlineIsNoFalseAlarm) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-from-order.yaml");
  ASSERT_TRUE(def);
  auto model = [](const std::string& delivery) {
    return "events:\n"
           "  order.placed: {}\n"
           "  kit.label_created: {after: order.placed}\n"
           "  kit.delivered: {after: order.placed, delay: " +
           delivery +
           "}\n"
           "  device.shipped: {after: kit.delivered, delay: 5d}\n";
  };
  auto exact = LoadDeviations(*def, model("10d"), "m.yaml");
  ASSERT_TRUE(exact.ok());
  CheckReport r = CheckJourney(*def, *exact);
  EXPECT_TRUE(r.not_exact.empty());
  EXPECT_EQ(Find(r, kPropCanAct), nullptr) << CheckReportToText(*def, r);
  EXPECT_NE(Find(r, kPropDeadline), nullptr) << CheckReportToText(*def, r);
  // One day of slack, and the delivery can come after the reminder.
  auto slack = LoadDeviations(*def, model("[10d, 11d]"), "m.yaml");
  ASSERT_TRUE(slack.ok());
  r = CheckJourney(*def, *slack);
  const Violation* v = Find(r, kPropCanAct);
  ASSERT_NE(v, nullptr) << CheckReportToText(*def, r);
  EXPECT_NE(v->message.find("kit.delivered has not happened"), std::string::npos) << v->message;
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

// --- the time grid is exact --------------------------------------------------------------

// A warehouse journey in which two events of different causal chains always happen at the same
// instant (both exactly one day after the order): the stock reservation and a fraud hold. The
// label is printed only for reserved stock not on hold; nobody ever releases a hold. If the hold
// is processed first, the label is never printed and the order never ends although nothing was
// lost. The runtime may see the two in either order (they race), so check must try both; the
// checker before the exact grid processed simultaneous events in one canonical order and, for
// one of the two listings of the model below, missed the deadlock.
const char kRaceJourney[] = R"(journey: warehouse
version: 1
correlation: order_id
start: {on: order.placed}
events:
  order.placed: {keys: [order_id]}
  stock.reserved: {keys: [order_id]}
  order.held: {keys: [order_id]}
  label.printed: {keys: [order_id]}
steps:
  - name: ordered
    completed_by: order.placed
  - name: reserved
    completed_by: stock.reserved
  - name: shipped
    completed_by: label.printed
actions:
  - name: print_label
    kind: webhook
    url: https://warehouse.example.com/labels
    requires: [stock.reserved]
    unless: [order.held]
end_states:
  - name: shipped
    when: shipped
)";

std::string RaceModel(bool held_first) {
  std::string reserved = "  stock.reserved: {after: order.placed, delay: 1d}\n";
  std::string held = "  order.held: {after: order.placed, delay: 1d, optional: true}\n";
  return "events:\n  order.placed: {}\n" + (held_first ? held + reserved : reserved + held) +
         "  label.printed: {after: print_label, delay: 0d}\n";
}

TEST(ExactGridTest, SimultaneousEventsOfDifferentChainsAreTriedInEveryOrder) {
  auto def = LoadDefinition(kRaceJourney, "warehouse.yaml");
  ASSERT_TRUE(def.ok()) << def.status().message() << " " << def.status().where();
  for (bool held_first : {false, true}) {
    SCOPED_TRACE(held_first ? "hold listed first" : "reservation listed first");
    auto m = LoadDeviations(**def, RaceModel(held_first), "m.yaml");
    ASSERT_TRUE(m.ok()) << m.status().message();
    CheckReport r = CheckJourney(**def, *m);
    EXPECT_TRUE(r.complete);
    const Violation* v = Find(r, kPropEnds);
    ASSERT_NE(v, nullptr) << CheckReportToText(**def, r);
    // The shortest counterexample: the order, then at the same instant the hold before the
    // reservation.
    ASSERT_EQ(v->events.size(), 3u) << CheckReportToText(**def, r);
    EXPECT_EQ(v->events[0].type, "order.placed");
    EXPECT_EQ(v->events[1].type, "order.held");
    EXPECT_EQ(v->events[2].type, "stock.reserved");
    EXPECT_EQ(v->events[1].received_at, v->events[2].received_at);
    // Replayed through the runtime in that order, the label is never printed: the instance
    // waits with nothing left to do.
    auto events = ParseReplayEvents(CounterexampleNdjson(*v), "counterexample");
    ASSERT_TRUE(events.ok()) << events.status().message();
    ManualClock clock(events->front().received_at);
    Runtime rt(clock);
    ASSERT_TRUE(rt.Deploy(*def).ok());
    Replay(rt, clock, *events, {});
    EXPECT_TRUE(rt.outbox().empty());
    const InstanceState* s = rt.Find("warehouse", "C-1");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->status, InstanceStatus::kRunning);
    EXPECT_TRUE(s->timers.empty());
    // In the other order the label is printed: the order of the two decides.
    std::vector<Event> swapped = *events;
    std::swap(swapped[1], swapped[2]);
    ManualClock clock2(swapped.front().received_at);
    Runtime rt2(clock2);
    ASSERT_TRUE(rt2.Deploy(*def).ok());
    Replay(rt2, clock2, swapped, {});
    ASSERT_EQ(rt2.outbox().size(), 1u);
    EXPECT_EQ(rt2.outbox()[0].action, "print_label");
  }
}
// The same race between a timer and a receipt: the label is printed by a timer one day after
// the order, if the stock is reserved by then; the reservation comes exactly one day after the
// order. When the timer is processed first, the label is never printed and the order never
// ends. The counterexample lists the reservation 1 us after the timer, which is how `journey
// run` reproduces "processed after the timer" (its occurrence, and so every fact, unchanged).
TEST(ExactGridTest, ATimerAndAReceiptAtOneInstantRace) {
  std::string journey = kRaceJourney;
  journey.replace(journey.find("    unless: [order.held]\n"), 25,
                  "    after: 1d from order.placed\n");
  auto def = LoadDefinition(journey, "warehouse.yaml");
  ASSERT_TRUE(def.ok()) << def.status().message() << " " << def.status().where();
  auto m = LoadDeviations(**def,
                          "events:\n  order.placed: {}\n"
                          "  stock.reserved: {after: order.placed, delay: 1d}\n"
                          "  label.printed: {after: print_label, delay: 0d}\n",
                          "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  CheckReport r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.not_exact.empty());
  const Violation* v = Find(r, kPropEnds);
  ASSERT_NE(v, nullptr) << CheckReportToText(**def, r);
  ASSERT_EQ(v->events.size(), 2u);
  EXPECT_EQ(v->events[1].type, "stock.reserved");
  EXPECT_EQ(v->events[1].occurred_at, v->events[0].occurred_at + std::chrono::days(1));
  EXPECT_EQ(v->events[1].received_at, v->events[1].occurred_at + std::chrono::microseconds(1));
  EXPECT_EQ(v->after_timers, (std::vector<uint16_t>{0, 1}));
  // Reports show the instant and say that the receipt came after the timers, not a microsecond.
  std::string ndjson = CounterexampleNdjson(*v);
  EXPECT_NE(ndjson.find("\"after_timers\":true"), std::string::npos) << ndjson;
  EXPECT_EQ(ndjson.find(".000001Z"), std::string::npos) << ndjson;
  std::string text = CheckReportToText(**def, r);
  EXPECT_NE(text.find("stock.reserved  (after the timers due then)"), std::string::npos) << text;
  EXPECT_EQ(text.find(".000001Z"), std::string::npos) << text;
  auto events = ParseReplayEvents(CounterexampleNdjson(*v), "counterexample");
  ASSERT_TRUE(events.ok()) << events.status().message();
  ManualClock clock(events->front().received_at);
  Runtime rt(clock);
  ASSERT_TRUE(rt.Deploy(*def).ok());
  Replay(rt, clock, *events, {});
  EXPECT_TRUE(rt.outbox().empty());  // the timer found no reservation: skipped
  const InstanceState* s = rt.Find("warehouse", "C-1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->status, InstanceStatus::kRunning);
  EXPECT_TRUE(s->timers.empty());
}

const char kKitJourney[] = R"(journey: kit
version: 1
correlation: order_id
start: {on: order.placed}
events:
  order.placed: {keys: [order_id]}
  kit.shipped: {keys: [order_id]}
  kit.delivered: {keys: [order_id]}
steps:
  - name: ordered
    completed_by: order.placed
  - name: shipped
    completed_by: kit.shipped
  - name: delivered
    completed_by: kit.delivered
actions:
  - name: chase_carrier
    kind: task
    queue: logistics
    after: 1 business days from kit.shipped
    unless: [delivered]
end_states:
  - name: done
    when: delivered
)";

// A business-day rule whose count depends on which side of a midnight a real time within one
// grid step lies: a kit shipped 0-4 days after a Monday-morning order, chased 1 business day
// later (Thursday evening: Friday; Friday morning: Monday). The grid point stands for both days;
// check explores both and decides (the checker before that reported NOT PROVEN here).
TEST(ExactGridTest, ABusinessDayRuleAcrossAMidnightIsDecided) {
  auto def = LoadDefinition(kKitJourney, "kit.yaml");
  ASSERT_TRUE(def.ok()) << def.status().message() << " " << def.status().where();
  auto model = [](const std::string& shipped) {
    return "events:\n  order.placed: {}\n  kit.shipped: {after: order.placed, delay: " + shipped +
           "}\n  kit.delivered: {after: kit.shipped, delay: [0d, 4d]}\n";
  };
  auto m = LoadDeviations(**def, model("[0d, 4d]"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  CheckReport r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.not_exact.empty()) << CheckReportToText(**def, r);
  EXPECT_TRUE(r.pass()) << CheckReportToText(**def, r);
  EXPECT_GT(r.day_branches, 0u);
  Json j = CheckReportToJson(**def, r);
  EXPECT_EQ(j["exact"], true);
  EXPECT_EQ(j["day_branches"], r.day_branches);
  // Shipped early in the week only: the count is one day on every side of each grid point.
  m = LoadDeviations(**def, model("[0d, 1d]"), "m.yaml");
  ASSERT_TRUE(m.ok());
  r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.not_exact.empty()) << r.not_exact[0];
  EXPECT_TRUE(r.pass()) << CheckReportToText(**def, r);
  EXPECT_EQ(r.day_branches, 0u);
}

// The reminder counts 1 business day from the kit leaving the warehouse, which the model ships
// 4-5 days after a Monday 09:00 order (Friday 09:00 to Saturday 09:00); the kit is delivered
// exactly 7 days after the order (Monday 09:00). Shipped on Friday, the reminder goes out on
// Monday at the time of shipping, shipped on Saturday likewise: at 09:00 (the grid points) the
// customer has the kit by then. But shipped early on Saturday (00:00-09:00), the reminder goes
// out before Monday 09:00, before the delivery. Such a real time rounds down to the Friday grid
// point while its calendar day is Saturday's: only the branch for that day finds the violation,
// and its counterexample is real and replays.
TEST(ExactGridTest, AReminderPrematureOnlyForAKitShippedEarlyOnSaturdayIsFound) {
  const char journey[] = R"(journey: kit
version: 1
correlation: order_id
start: {on: order.placed}
events:
  order.placed: {keys: [order_id]}
  kit.shipped: {keys: [order_id]}
  kit.delivered: {keys: [order_id]}
  device.shipped: {keys: [order_id]}
steps:
  - {name: ordered, completed_by: order.placed}
  - {name: shipped, completed_by: kit.shipped}
  - {name: delivered, completed_by: kit.delivered}
  - {name: device_sent, completed_by: device.shipped}
actions:
  - name: send_back_reminder
    kind: message
    channel: email
    template: send_back
    asks_customer_to: device_sent
    requires: [shipped]
    after: 1 business days from kit.shipped
    unless: [device_sent]
end_states:
  - {name: done, when: device_sent}
)";
  auto def = LoadDefinition(journey, "kit.yaml");
  ASSERT_TRUE(def.ok()) << def.status().message() << " " << def.status().where();
  auto m = LoadDeviations(**def,
                          "start: 2026-11-02T09:00:00Z\n"
                          "events:\n  order.placed: {}\n"
                          "  kit.shipped: {after: order.placed, delay: [4d, 5d]}\n"
                          "  kit.delivered: {after: order.placed, delay: 7d}\n"
                          "  device.shipped: {after: kit.delivered, delay: [0d, 1d]}\n",
                          "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  CheckReport r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.not_exact.empty()) << CheckReportToText(**def, r);
  const Violation* v = Find(r, kPropCanAct);
  ASSERT_NE(v, nullptr) << CheckReportToText(**def, r);
  EXPECT_EQ(v->action, "send_back_reminder");
  EXPECT_NE(v->message.find("kit.delivered has not happened"), std::string::npos) << v->message;
  // Found only in the branch for Saturday, so confirmed by replaying it (Confirm).
  EXPECT_NE(v->message.find("(replayed with real times within the model)"), std::string::npos)
      << v->message;
  ASSERT_EQ(v->events.size(), 2u) << CheckReportToText(**def, r);
  EXPECT_EQ(v->events[1].type, "kit.shipped");
  EXPECT_EQ(FormatTime(v->events[1].occurred_at), "2026-11-07T00:00:00Z");  // Saturday, 00:00
  EXPECT_EQ(FormatTime(v->at), "2026-11-09T00:00:00Z");                     // Monday, 00:00
  // Replayed through the runtime, the reminder really goes out, 9 hours before the delivery.
  auto outbox = ReplayCounterexample(**def, *v);
  EXPECT_NE(FiredAt(outbox, *v), nullptr);
  EXPECT_LT(v->at, (*m).start + std::chrono::days(7));
}

// Across a daylight-saving change a business day is 23 or 25 hours: Friday 23 October 2026 in
// Berlin plus one business day is Monday, 73 hours later, not a multiple of the grid. Check says
// so instead of passing; the week after, it passes.
TEST(ExactGridTest, ABusinessDayRuleAcrossADaylightSavingChangeIsNotProven) {
  std::string journey = kKitJourney;
  journey.replace(journey.find("events:"), 7, "calendar: {time_zone: Europe/Berlin}\nevents:");
  auto def = LoadDefinition(journey, "kit.yaml");
  ASSERT_TRUE(def.ok()) << def.status().message() << " " << def.status().where();
  auto model = [](const std::string& start) {
    return "start: " + start +
           "\nevents:\n  order.placed: {}\n"
           "  kit.shipped: {after: order.placed, delay: [0d, 4d]}\n"
           "  kit.delivered: {after: kit.shipped, delay: [0d, 4d]}\n";
  };
  auto m = LoadDeviations(**def, model("2026-10-19T09:00:00Z"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  CheckReport r = CheckJourney(**def, *m);
  EXPECT_FALSE(r.pass());
  ASSERT_FALSE(r.not_exact.empty()) << CheckReportToText(**def, r);
  EXPECT_NE(r.not_exact[0].find("the timer of chase_carrier (1 business days from "),
            std::string::npos)
      << r.not_exact[0];
  EXPECT_NE(r.not_exact[0].find("adds 3d1h, not a multiple of the grid 1d"), std::string::npos)
      << r.not_exact[0];
  m = LoadDeviations(**def, model("2026-11-02T09:00:00Z"), "m.yaml");
  ASSERT_TRUE(m.ok());
  r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.not_exact.empty()) << r.not_exact[0];
  EXPECT_TRUE(r.pass()) << CheckReportToText(**def, r);
}

// Scans parked under a key the instance learns later (the shipment id of the label) are released
// by occurred_at. A stock reservation and a hold that tie on the grid may have occurred in either
// order, so check releases them in both: when the hold comes first, the label is never printed.
// If the model makes both occur exactly one day after the order, they always occur together and
// are released in the order they were parked (the reservation first, the hold arrives a day
// late): the journey passes. (The checker before reported NOT PROVEN for both.)
TEST(ExactGridTest, ParkedEventsThatTieAreReleasedInEveryOrderTheyCanOccurIn) {
  const char journey[] = R"(journey: warehouse
version: 1
correlation: order_id
start: {on: order.placed}
events:
  order.placed: {keys: [order_id]}
  label.created: {keys: [order_id, shipment_id]}
  stock.reserved: {keys: [shipment_id]}
  order.held: {keys: [shipment_id]}
  label.printed: {keys: [order_id]}
steps:
  - {name: ordered, completed_by: order.placed}
  - {name: reserved, completed_by: stock.reserved}
  - {name: shipped, completed_by: label.printed}
actions:
  - name: print_label
    kind: webhook
    url: https://warehouse.example.com/labels
    requires: [stock.reserved]
    unless: [order.held]
end_states:
  - {name: shipped, when: shipped}
)";
  auto def = LoadDefinition(journey, "warehouse.yaml");
  ASSERT_TRUE(def.ok()) << def.status().message() << " " << def.status().where();
  auto model = [](const std::string& reserved) {
    return "events:\n  order.placed: {}\n"
           "  label.created: {after: order.placed, delay: 2d}\n"
           "  stock.reserved: {after: order.placed, delay: " +
           reserved +
           "}\n  order.held: {after: order.placed, delay: 1d, late: 1d, optional: true}\n"
           "  label.printed: {after: print_label, delay: 0d}\n";
  };
  auto m = LoadDeviations(**def, model("1d"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  CheckReport r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.not_exact.empty()) << CheckReportToText(**def, r);
  EXPECT_TRUE(r.pass()) << CheckReportToText(**def, r);
  m = LoadDeviations(**def, model("[1d, 2d]"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.not_exact.empty()) << CheckReportToText(**def, r);
  EXPECT_GT(r.order_branches, 0u);
  const Violation* v = Find(r, kPropEnds);
  ASSERT_NE(v, nullptr) << CheckReportToText(**def, r);
  auto events = ParseReplayEvents(CounterexampleNdjson(*v), "counterexample");
  ASSERT_TRUE(events.ok()) << events.status().message();
  ManualClock clock(events->front().received_at);
  Runtime rt(clock);
  ASSERT_TRUE(rt.Deploy(*def).ok());
  Replay(rt, clock, *events, {});
  EXPECT_TRUE(rt.outbox().empty());  // the hold was applied first: no label
  const InstanceState* s = rt.Find("warehouse", "C-1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->status, InstanceStatus::kRunning);
}

// Condition (1) fails for a timer processed exactly `expires` after its due time (the runtime
// skips it as stale only if strictly later): the anchor event occurs on time but is reported
// 2 days late, the reminder is due 1 day after it and expires after 1 day.
TEST(ExactGridTest, ATimerOnItsExpiryBoundaryIsNotProven) {
  std::string journey = kRaceJourney;
  journey.replace(journey.find("    unless: [order.held]\n"), 25,
                  "    after: 1d from stock.reserved\n    expires: 1d\n");
  auto def = LoadDefinition(journey, "warehouse.yaml");
  ASSERT_TRUE(def.ok()) << def.status().message() << " " << def.status().where();
  auto model = [](const std::string& late) {
    return "events:\n  order.placed: {}\n"
           "  stock.reserved: {after: order.placed, delay: 1d, late: " +
           late + "}\n  label.printed: {after: print_label, delay: 0d}\n";
  };
  auto m = LoadDeviations(**def, model("2d"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  CheckReport r = CheckJourney(**def, *m);
  ASSERT_FALSE(r.not_exact.empty()) << CheckReportToText(**def, r);
  EXPECT_NE(r.not_exact[0].find("timer print_label #0 is processed exactly 1d (its expires)"),
            std::string::npos)
      << r.not_exact[0];
  // Three days late it is stale on every side: exact, and the label is never printed.
  m = LoadDeviations(**def, model("3d"), "m.yaml");
  ASSERT_TRUE(m.ok());
  r = CheckJourney(**def, *m);
  EXPECT_TRUE(r.not_exact.empty()) << r.not_exact[0];
  EXPECT_NE(Find(r, kPropEnds), nullptr) << CheckReportToText(**def, r);
}

// The empirical side of the theorem: on a grid two and three times finer, every example journey
// has the same verdict, the same violated properties and counterexamples of the same length.
// (The narrow model keeps the finer grids fast under the sanitizers; with the full trade-in
// model, grid/2 gives the same too: docs/journeys.md.)
class GridRefinementTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GridRefinementTest, AFinerGridFindsTheSameViolations) {
  DefinitionPtr def = Load(GetParam());
  ASSERT_TRUE(def);
  DeviationModel m = Model(*def, "examples/journeys/trade-in.narrow.deviations.yaml");
  auto summary = [&](const CheckReport& r) {
    std::vector<std::pair<std::string, size_t>> s;
    for (const Violation& v : r.violations) s.emplace_back(v.property, v.events.size());
    return s;
  };
  CheckReport base = CheckJourney(*def, m);
  EXPECT_TRUE(base.complete);
  EXPECT_TRUE(base.not_exact.empty());
  EXPECT_EQ(base.pass(), std::string(GetParam()) == "examples/journeys/trade-in.yaml");
  for (int divisor : {2, 3}) {
    SCOPED_TRACE("grid / " + std::to_string(divisor));
    CheckOptions o;
    o.grid_divisor = divisor;
    CheckReport fine = CheckJourney(*def, m, o);
    EXPECT_EQ(fine.grid * divisor, base.grid);
    EXPECT_GT(fine.states, base.states);
    EXPECT_TRUE(fine.not_exact.empty());
    EXPECT_EQ(fine.pass(), base.pass());
    EXPECT_EQ(summary(fine), summary(base)) << CheckReportToText(*def, fine);
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, GridRefinementTest,
                         ::testing::Values("examples/journeys/trade-in.yaml",
                                           "examples/journeys/broken/deadline-from-shipping.yaml",
                                           "examples/journeys/broken/lost-kit-no-timeout.yaml",
                                           "examples/journeys/broken/payout-needs-pickup-scan.yaml",
                                           "examples/journeys/broken/reminder-after-device.yaml",
                                           "examples/journeys/broken/reminder-from-label.yaml",
                                           "examples/journeys/broken/reminder-from-order.yaml"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = std::string(info.param);
                           name = name.substr(name.rfind('/') + 1);
                           name = name.substr(0, name.find('.'));
                           std::erase(name, '-');
                           return name;
                         });

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

TEST(SimulateTest, CountsCustomersToldADateBeforeThePromise) {
  DefinitionPtr broken = Load("examples/journeys/broken/promise-in-calendar-days.yaml");
  ASSERT_TRUE(broken);
  SimulateOptions o;
  o.customers = 1000;
  SimulateReport r = Simulate(*broken, Model(*broken), o);
  // Every reminder of a customer whose kit arrived tells 14 calendar days for 14 business days.
  EXPECT_GT(r.anomalies.at(kAnomalyBrokenPromise), 1000u / 4);
  EXPECT_EQ(r.anomalies.at(kAnomalyShortDeadline), 0u) << "the date keeps its own rule";
  EXPECT_FALSE(r.samples[kAnomalyBrokenPromise].empty());
  DefinitionPtr good = Load("examples/journeys/trade-in.yaml");
  ASSERT_TRUE(good);
  EXPECT_EQ(Simulate(*good, Model(*good), o).anomalies.at(kAnomalyBrokenPromise), 0u);
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

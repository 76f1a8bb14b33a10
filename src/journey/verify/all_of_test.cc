// Issue 21: all of several events. A step completed by all of them (`completed_by: {all: [..]}`),
// an anchor counted from the later of several facts (`from latest(a, b)`), and a deviation model
// whose event is caused by several events (`after: [a, b]`) and enabled by other facts than its
// cause (`enabled_by:`). The two-parcel return kit is the shipped example.
#include <gtest/gtest.h>

#include <string>

#include "journey/instance.h"
#include "journey/verify/check.h"
#include "journey/verify/deviations.h"
#include "journey/verify/internal/test_files.h"
#include "journey/verify/simulate.h"

namespace rapport::journey {
namespace {

using std::chrono::days;
using std::chrono::hours;
using test_files::Load;
using test_files::Model;
using test_files::ReadFile;

constexpr char kTwoParcels[] = "examples/journeys/two-parcel-kit.yaml";
constexpr char kTwoParcelWorld[] = "examples/journeys/two-parcel-kit.deviations.yaml";

Time T(std::string_view s) { return ParseTime(s).value(); }

Event Ev(std::string id, std::string type, Fields keys, Time occurred) {
  Event e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.keys = std::move(keys);
  e.occurred_at = occurred;
  e.received_at = occurred;
  if (e.type == "order.placed") e.payload = {{"trade_in", true}};
  return e;
}

// The kit as the author of broken/ might write it: either parcel "completes" the delivery.
std::string AnyParcelCompletes() {
  std::string y = ReadFile(kTwoParcels);
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t at = y.find(from); at != std::string::npos; at = y.find(from, at + to.size())) {
      y.replace(at, from.size(), to);
    }
  };
  replace_all("completed_by: {all: [box.delivered, label.delivered]}",
              "completed_by: [box.delivered, label.delivered]");
  replace_all("latest(box.delivered, label.delivered)", "kit_delivered");
  return y;
}

TEST(AllOfTest, AStepOfAllItsEventsAndALatestAnchorCompile) {
  DefinitionPtr def = Load(kTwoParcels);
  ASSERT_TRUE(def);
  FactId box = *def->FindFact("box.delivered"), label = *def->FindFact("label.delivered");
  FactId latest = *def->FindFact("latest(box.delivered, label.delivered)");
  FactId delivered = *def->FindFact("kit_delivered"), sent = *def->FindFact("device_sent");
  EXPECT_EQ(def->facts()[latest].kind, FactKind::kAllOf);
  EXPECT_EQ(def->facts()[latest].parts, (std::vector<FactId>{box, label}));
  // One fact for the step's {all: [..]} and the anchors' latest(..) of the same events.
  EXPECT_EQ(def->steps()[def->facts()[delivered].index].completed_by, std::vector<FactId>{latest});
  EXPECT_EQ(def->actions()[*def->FindAction("send_back_reminder")].after->fact, latest);
  // One parcel alone implies nothing; both do, and whatever a later step says.
  EXPECT_FALSE(def->Implies(box, delivered));
  EXPECT_FALSE(def->Implies(box, latest));
  EXPECT_TRUE(def->Implies(latest, delivered));
  EXPECT_TRUE(def->Implies(latest, box));
  EXPECT_TRUE(def->Implies(sent, delivered));
  // The ways kit_delivered comes to hold: both parcels, or any event of a later step.
  const auto& ways = def->Conditions(delivered);
  ASSERT_EQ(ways.size(), 3u);
  EXPECT_NE(std::find(ways.begin(), ways.end(), std::vector<FactId>{box, label}), ways.end());
  // Named in either order, latest(...) is the one fact.
  EXPECT_EQ(def->FindFact("latest(box.delivered, label.delivered)"), latest);
  auto at = [&](std::map<FactId, Time> times) {
    return def->HoldsSince(delivered, Time::max(),
                           [&](FactId e) { return times.count(e) ? times[e] : Time::max(); });
  };
  Time t = T("2026-11-03T09:00:00Z");
  EXPECT_EQ(at({{box, t}}), Time::max());
  EXPECT_EQ(at({{box, t}, {label, t + days(2)}}), t + days(2));
  EXPECT_EQ(at({{box, t}, {*def->FindFact("device.shipped"), t + days(1)}}), t + days(1));
  Json j = DefinitionToJson(*def);
  bool listed = false;
  for (const Json& f : j["facts"]) {
    if (f["name"] == "latest(box.delivered, label.delivered)") {
      listed = f["kind"] == "all_of" && f["parts"].size() == 2;
    }
  }
  EXPECT_TRUE(listed) << j["facts"].dump();
}

TEST(AllOfTest, MistakesAreReportedWhereTheyAreWritten) {
  const std::string head =
      "journey: k\nversion: 1\ncorrelation: order_id\nstart: order.placed\n"
      "events:\n  order.placed: {keys: [order_id]}\n  box.delivered: {keys: [order_id]}\n"
      "  label.delivered: {keys: [order_id]}\n  order.cancelled: {keys: [order_id]}\n";
  auto error = [&](const std::string& rest) {
    auto d = LoadDefinition(head + rest, "k.yaml");
    return d.ok() ? std::string() : d.status().where() + ": " + d.status().message();
  };
  const std::string ends = "end_states:\n  - {name: done, when: kit}\n";
  EXPECT_EQ(error("steps:\n  - name: kit\n    completed_by: {all: [box.delivered, "
                  "label.delivered]}\n" +
                  ends),
            "");
  EXPECT_EQ(error("steps:\n  - name: kit\n    completed_by: {all: [box.delivered]}\n" + ends),
            "k.yaml:12:19: step kit: completed_by.all needs at least two events");
  EXPECT_EQ(error("steps:\n  - name: kit\n    completed_by: {all: [box.delivered, parcel.lost]}\n" +
                  ends),
            "k.yaml:12:41: unknown event 'parcel.lost' (declare it under events:)");
  EXPECT_EQ(error("steps:\n  - name: kit\n    completed_by: {any: [box.delivered]}\n" + ends)
                .find("k.yaml:12:20: completed_by: unknown field 'any'"),
            0u)
      << error("steps:\n  - name: kit\n    completed_by: {any: [box.delivered]}\n" + ends);
  const std::string steps =
      "steps:\n  - {name: kit, completed_by: [box.delivered]}\nactions:\n"
      "  - name: nudge\n    kind: message\n    channel: email\n    template: t\n"
      "    requires: [order.placed]\n";
  const std::string cancelled = "end_states:\n  - {name: cancelled, when: order.cancelled}\n";
  EXPECT_EQ(
      error(steps + "    after: \"2d from latest(box.delivered, label.delivered)\"\n" + cancelled),
      "");
  // An all-of fact implies its parts, and what they imply.
  EXPECT_EQ(error(steps + "    after: \"2d from latest(box.delivered, label.delivered)\"\n" + ends),
            "k.yaml:18:12: action nudge: timer anchored to latest(box.delivered, label.delivered), "
            "which cannot happen in a running instance: it ends the journey (end state done)");
  EXPECT_EQ(error(steps + "    after: \"2d from latest(box.delivered)\"\n" + cancelled),
            "k.yaml:18:12: 'latest(box.delivered)': latest(...) names at least two facts, e.g. "
            "latest(box.delivered, label.delivered)");
  EXPECT_EQ(
      error(steps + "    after: \"2d from latest(box.delivered, label.delivered\"\n" + cancelled),
      "k.yaml:18:12: 'latest(box.delivered, label.delivered': latest(...) misses its closing "
      "')', e.g. latest(box.delivered, label.delivered)");
  EXPECT_EQ(
      error(steps + "    after: \"2d from latest(box.delivered, box.delivered)\"\n" + cancelled),
      "k.yaml:18:12: 'latest(box.delivered, box.delivered)' names box.delivered twice");
  EXPECT_EQ(error("steps:\n  - name: kit\n    completed_by: {all: [box.delivered, "
                  "box.delivered]}\n" +
                  ends),
            "k.yaml:12:41: step kit: completed_by.all names box.delivered twice");
  EXPECT_EQ(error("steps:\n  - name: kit\n    completed_by: {}\n" + ends),
            "k.yaml:12:19: step kit: completed_by as a map is {all: [event, event, ...]}");
  // An all-of fact may be required, and a date from it is known when its parts are required.
  EXPECT_EQ(error("steps:\n  - {name: kit, completed_by: [box.delivered]}\nactions:\n"
                  "  - name: nudge\n    kind: message\n    channel: email\n    template: t\n"
                  "    requires: [box.delivered, label.delivered]\n    params:\n"
                  "      due: {date: \"14d from latest(label.delivered, box.delivered)\"}\n" +
                  cancelled),
            "");
  EXPECT_EQ(error("steps:\n  - {name: kit, completed_by: [box.delivered]}\nactions:\n"
                  "  - name: nudge\n    kind: message\n    channel: email\n    template: t\n"
                  "    requires: [\"latest(box.delivered, label.delivered)\"]\n" +
                  cancelled),
            "");
  EXPECT_EQ(error(steps + "    after: \"2d from latest(box.delivered, kit.lost)\"\n" + cancelled),
            "k.yaml:18:12: unknown fact 'kit.lost' in 'latest(box.delivered, kit.lost)' (a fact "
            "is a declared event type or a step name)");
}

// The ways a fact can hold are kept minimal: latest(...) over a long chain of steps compiles at
// once instead of multiplying out every later step of every part.
TEST(AllOfTest, LatestOverManyStepsCompilesAtOnce) {
  std::string y = "journey: chain\nversion: 1\ncorrelation: id\nstart: e0\nevents:\n";
  for (int i = 0; i <= 20; ++i) y += "  e" + std::to_string(i) + ": {keys: [id]}\n";
  y += "steps:\n";
  std::string all;
  for (int i = 0; i <= 20; ++i) {
    y += "  - {name: s" + std::to_string(i) + ", completed_by: [e" + std::to_string(i) + "]}\n";
    if (i > 0) all += std::string(all.empty() ? "" : ", ") + "s" + std::to_string(i);
  }
  y += "actions:\n  - {name: a, kind: task, queue: q, after: \"1d from latest(" + all +
       ")\"}\nend_states:\n  - {name: done, when: e20}\n  - {name: gone, when: e19}\n";
  auto def = LoadDefinition(y, "chain.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  FactId latest = (*def)->actions()[0].after->fact;
  // Every step up to s20 holds once s20 does: one way per event of s20 or later, here e20.
  EXPECT_EQ((*def)->Conditions(latest),
            (std::vector<std::vector<FactId>>{{*(*def)->FindFact("e20")}}));
}

// The instance: kit_delivered holds once both parcels arrived, in either order, from the later
// delivery; the reminder is scheduled from it and survives the stored form.
TEST(AllOfTest, TheKitIsDeliveredWhenTheLaterParcelArrives) {
  DefinitionPtr def = Load(kTwoParcels);
  ASSERT_TRUE(def);
  const Time t0 = T("2026-11-02T09:00:00Z");
  FactId delivered = *def->FindFact("kit_delivered");
  ActionId reminder = *def->FindAction("send_back_reminder");
  for (bool box_first : {true, false}) {
    SCOPED_TRACE(box_first ? "box first" : "label first");
    InstanceState s;
    Effects fx;
    ASSERT_TRUE(
        StartInstance(*def, Ev("e1", "order.placed", {{"order_id", "O-1"}}, t0), t0, &s, &fx).ok());
    ASSERT_TRUE(
        ApplyEvent(*def, &s,
                   Ev("e2", "kit.shipped",
                      {{"order_id", "O-1"}, {"box_id", "B-1"}, {"label_id", "L-1"}}, t0 + hours(3)),
                   t0 + hours(3), &fx)
            .ok());
    Event box = Ev("e3", "box.delivered", {{"box_id", "B-1"}}, t0 + days(1));
    Event label = Ev("e4", "label.delivered", {{"label_id", "L-1"}}, t0 + days(4));
    const Event& first = box_first ? box : label;
    const Event& second = box_first ? label : box;
    ASSERT_TRUE(ApplyEvent(*def, &s, first, t0 + days(4), &fx).ok());
    EXPECT_FALSE(s.Holds(delivered));
    EXPECT_FALSE(s.Progress(reminder) ||
                 std::any_of(s.timers.begin(), s.timers.end(),
                             [&](const PendingTimer& p) { return p.action == reminder; }));
    ASSERT_TRUE(ApplyEvent(*def, &s, second, t0 + days(4), &fx).ok());
    ASSERT_TRUE(s.Holds(delivered));
    EXPECT_EQ(s.Fact(delivered)->at, t0 + days(4));
    EXPECT_EQ(s.Fact(delivered)->event_id, "e4");
    auto timer = std::find_if(s.timers.begin(), s.timers.end(),
                              [&](const PendingTimer& p) { return p.action == reminder; });
    ASSERT_NE(timer, s.timers.end());
    EXPECT_EQ(timer->due, t0 + days(14));
    auto back = StateFromJson(*def, StateToJson(*def, s));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(StateToJson(*def, *back), StateToJson(*def, s));
    // The reminder tells the date from the later delivery.
    Effects fired;
    ASSERT_TRUE(FireTimer(*def, &s, reminder, 0, timer->due, &fired).ok());
    ASSERT_EQ(fired.outbox.size(), 1u);
    EXPECT_EQ(fired.outbox[0].params["deadline"], "2026-11-20T09:00:00Z");
  }
}

TEST(AllOfTest, TheTwoParcelKitPassesAndItsBrokenVariantsAreRejected) {
  DefinitionPtr def = Load(kTwoParcels);
  ASSERT_TRUE(def);
  // The built-in world makes each parcel happen after the kit was shipped and the customer's
  // device after both.
  DeviationModel built_in = PessimisticDeviations(*def);
  const EventModel* device = built_in.Find(*def->FindFact("device.shipped"));
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->after_events, (std::vector<FactId>{*def->FindFact("box.delivered"),
                                                       *def->FindFact("label.delivered")}));
  for (const DeviationModel& m : {built_in, Model(*def, kTwoParcelWorld)}) {
    CheckReport r = CheckJourney(*def, m);
    EXPECT_TRUE(r.pass()) << CheckReportToText(*def, r);
  }

  // The reminder counted from the box alone: found without a deviations file.
  DefinitionPtr first = Load("examples/journeys/broken/reminder-from-first-parcel.yaml");
  ASSERT_TRUE(first);
  CheckReport r = CheckJourney(*first, PessimisticDeviations(*first));
  std::set<std::string> found;
  for (const Violation& v : r.violations) found.insert(v.property);
  EXPECT_EQ(found, (std::set<std::string>{kPropCanAct, kPropDeadline}))
      << CheckReportToText(*first, r);
  for (const Violation& v : r.violations) {
    if (v.property == kPropCanAct) {
      EXPECT_NE(v.message.find("but they could not: label.delivered has not happened"),
                std::string::npos)
          << v.message;
    }
  }

  // Either parcel completing the delivery: the world of the two parcels says the customer
  // needs both, and check finds the reminder sent when only one came.
  auto any = LoadDefinition(AnyParcelCompletes(), "any-parcel.yaml");
  ASSERT_TRUE(any.ok()) << any.status().ToString();
  CheckReport a = CheckJourney(**any, Model(**any, kTwoParcelWorld));
  found.clear();
  for (const Violation& v : a.violations) found.insert(v.property);
  EXPECT_TRUE(found.count(kPropCanAct)) << CheckReportToText(**any, a);
}

// A customer who reacts to the reminder (its cause) can still only act once the kit is there
// (what enables it): with `enabled_by` check holds the reminder against the kit's delivery.
TEST(AllOfTest, WhatEnablesTheCustomerIsSeparateFromWhatCausesThem) {
  DefinitionPtr def = Load("examples/journeys/broken/reminder-from-label.yaml");
  ASSERT_TRUE(def);
  std::string world = ReadFile(test_files::kModel);
  const std::string shipped =
      "  device.shipped:                # the customer sends the old phone back\n"
      "    after: kit.delivered\n";
  ASSERT_NE(world.find(shipped), std::string::npos);
  auto reacting = [&](const std::string& enabled) {
    std::string w = world;
    w.replace(w.find(shipped), shipped.size(),
              "  device.shipped:\n    after: send_back_reminder\n" + enabled);
    auto m = LoadDeviations(*def, w, "reacting.yaml");
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return CheckJourney(*def, *m);
  };
  // Caused by the reminder and nothing else said: the customer "could act" when reminded.
  CheckReport blind = reacting("");
  for (const Violation& v : blind.violations) EXPECT_NE(v.property, kPropCanAct) << v.message;
  CheckReport r = reacting("    enabled_by: kit.delivered\n");
  bool premature = false;
  for (const Violation& v : r.violations) {
    premature |= v.property == kPropCanAct &&
                 v.message.find("but they could not: kit.delivered") != std::string::npos;
  }
  EXPECT_TRUE(premature) << CheckReportToText(*def, r);

  auto bad = LoadDeviations(*def,
                            "events:\n  order.placed: {enabled_by: order.placed}\n"
                            "  kit.label_created: {after: [create_return_label]}\n",
                            "bad.yaml");
  auto unmodelled = LoadDeviations(*def,
                                   "events:\n  order.placed: {}\n"
                                   "  device.shipped: {after: order.placed, enabled_by: "
                                   "kit.delivered}\n",
                                   "m.yaml");
  ASSERT_FALSE(unmodelled.ok());
  EXPECT_EQ(unmodelled.status().message(),
            "event device.shipped is enabled by kit.delivered, which the model does not make "
            "happen (add it under events:)");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "bad.yaml:2:30") << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("nothing enables it"), std::string::npos)
      << bad.status().message();
}

// A customer who never does an all-of step (sign the form and send the device) is a customer
// who does not act, not a fault of the world: the journey must end by itself then.
TEST(AllOfTest, ACustomerWhoNeverCompletesAnAllOfStepMustNotKeepTheJourneyOpen) {
  const std::string journey =
      "journey: r\nversion: 1\ncorrelation: order_id\nstart: order.placed\n"
      "events:\n  order.placed: {keys: [order_id]}\n  form.signed: {keys: [order_id]}\n"
      "  device.shipped: {keys: [order_id]}\n"
      "steps:\n  - {name: ordered, completed_by: order.placed}\n"
      "  - name: returned\n    completed_by: {all: [form.signed, device.shipped]}\n"
      "actions:\n  - {name: ask, kind: message, channel: email, template: t, requires: "
      "[ordered], asks_customer_to: returned}\n"
      "end_states:\n  - {name: done, when: returned}\n";
  auto open = LoadDefinition(journey, "r.yaml");
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  CheckReport r = CheckJourney(**open, PessimisticDeviations(**open));
  const Violation* ends = nullptr;
  for (const Violation& v : r.violations) {
    if (v.property == kPropEnds) ends = &v;
  }
  ASSERT_NE(ends, nullptr) << CheckReportToText(**open, r);
  EXPECT_NE(ends->message.find("the customer does not do what was asked"), std::string::npos)
      << ends->message;
  auto timed = LoadDefinition(
      journey + "  - {name: lapsed, after: 30d from order.placed, unless: [returned]}\n", "r.yaml");
  ASSERT_TRUE(timed.ok()) << timed.status().ToString();
  CheckReport t = CheckJourney(**timed, PessimisticDeviations(**timed));
  EXPECT_TRUE(t.pass()) << CheckReportToText(**timed, t);
}

// simulate draws the device after both parcels: the correct kit asks nobody too early, the
// any-parcel variant does.
TEST(AllOfTest, SimulateCountsRemindersBeforeTheSecondParcel) {
  SimulateOptions o;
  o.customers = 2000;
  DefinitionPtr def = Load(kTwoParcels);
  ASSERT_TRUE(def);
  SimulateReport good = Simulate(*def, Model(*def, kTwoParcelWorld), o);
  EXPECT_EQ(good.anomalies.at(kAnomalyPremature), 0u);
  EXPECT_EQ(good.anomalies.at(kAnomalyShortDeadline), 0u);
  EXPECT_EQ(good.anomalies.at(kAnomalyBrokenPromise), 0u);
  EXPECT_GT(good.end_states.at("completed"), 1000u);
  auto any = LoadDefinition(AnyParcelCompletes(), "any-parcel.yaml");
  ASSERT_TRUE(any.ok()) << any.status().ToString();
  SimulateReport bad = Simulate(**any, Model(**any, kTwoParcelWorld), o);
  EXPECT_GT(bad.anomalies.at(kAnomalyPremature), 0u);
}

}  // namespace
}  // namespace rapport::journey

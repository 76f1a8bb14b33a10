// The pure step functions of instance.h, without the runtime: state JSON round trip,
// idempotency keys, order independence of facts, at-most-once per occurrence and the errors.
#include "journey/instance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

namespace rapport::journey {
namespace {

using std::chrono::days;
using std::chrono::hours;

std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : ".";
}

Time T(std::string_view s) { return ParseTime(s).value(); }

class InstanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto def = LoadDefinitionFile(SourceDir() + "/examples/journeys/trade-in.yaml");
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    def_ = *def;
  }
  static Event Ev(std::string id, std::string type, Fields keys, Time occurred) {
    Event e;
    e.id = std::move(id);
    e.type = std::move(type);
    e.keys = std::move(keys);
    e.occurred_at = occurred;
    if (e.type == "order.placed") e.payload = {{"trade_in", true}};
    return e;
  }
  // Order O-1 up to the kit's delivery; shipped carries both keys so S-1 is bound.
  std::vector<Event> KitEvents() const {
    return {Ev("e1", "order.placed", {{"order_id", "O-1"}}, t0_),
            Ev("e2", "kit.label_created", {{"order_id", "O-1"}, {"shipment_id", "S-1"}},
               t0_ + hours(5)),
            Ev("e3", "kit.picked_up", {{"order_id", "O-1"}}, t0_ + days(1)),
            Ev("e4", "kit.delivered", {{"order_id", "O-1"}}, t0_ + days(2))};
  }
  // Applies events in order (the first starts the instance), at `now` each.
  InstanceState Run(const std::vector<Event>& events, Time now, Effects* fx) {
    InstanceState s;
    for (size_t i = 0; i < events.size(); ++i) {
      Status st = i == 0 ? StartInstance(*def_, events[i], now, &s, fx)
                         : ApplyEvent(*def_, &s, events[i], now, fx);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    return s;
  }
  ActionId Action(std::string_view name) const { return *def_->FindAction(name); }

  DefinitionPtr def_;
  const Time t0_ = T("2026-11-02T09:00:00Z");
};

TEST_F(InstanceTest, StateJsonRoundTripPreservesBehaviour) {
  Effects fx;
  InstanceState s = Run(KitEvents(), t0_ + days(3), &fx);
  Json j = StateToJson(*def_, s);
  EXPECT_EQ(j["journey"], "trade-in");
  EXPECT_EQ(j["key"], "O-1");
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["aliases"][0]["value"], "S-1");
  EXPECT_EQ(j["facts"]["kit.delivered"]["event_id"], "e4");
  ASSERT_FALSE(j["timers"].empty());

  auto back = StateFromJson(*def_, Json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(StateToJson(*def_, *back), j);

  // Continuing from the restored state gives the same effects as from the original.
  Time due = s.timers[0].due;
  for (const auto& t : s.timers) due = std::max(due, t.due);
  for (InstanceState* state : {&s, &*back}) {
    Effects a;
    for (const PendingTimer t : std::vector<PendingTimer>(state->timers)) {
      ASSERT_TRUE(FireTimer(*def_, state, t.action, t.occurrence, due, &a).ok());
    }
    EXPECT_FALSE(a.outbox.empty());
  }
  EXPECT_EQ(StateToJson(*def_, s), StateToJson(*def_, *back));
}

TEST_F(InstanceTest, StateFromJsonRejectsAnotherVersionAndGarbage) {
  Effects fx;
  InstanceState s = Run(KitEvents(), t0_, &fx);
  Json j = StateToJson(*def_, s);
  j["version"] = 7;
  auto r = StateFromJson(*def_, j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  Json bad = StateToJson(*def_, s);
  bad["seen"] = Json::array({"xyz"});
  EXPECT_EQ(StateFromJson(*def_, bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(StateFromJson(*def_, Json::array()).ok());
}

TEST_F(InstanceTest, AtMostOncePerOccurrenceIdempotencyKeysAreStable) {
  Effects a, b;
  InstanceState s1 = Run(KitEvents(), t0_ + days(2), &a);
  InstanceState s2 = Run(KitEvents(), t0_ + days(2) + hours(7), &b);
  ASSERT_EQ(a.outbox.size(), b.outbox.size());
  for (size_t i = 0; i < a.outbox.size(); ++i) {
    EXPECT_EQ(a.outbox[i].idempotency_key, b.outbox[i].idempotency_key);
  }
  EXPECT_EQ(a.outbox[0].idempotency_key, IdempotencyKey("trade-in", "O-1", a.outbox[0].action, 0));
  EXPECT_EQ(IdempotencyKey("trade-in", "O/1#x%", "send_back_reminder", 3),
            "trade-in/O%2F1%23x%25/send_back_reminder#3");
  // Timer ids name the occurrence they decide, identically in both runs.
  ASSERT_EQ(s1.timers, s2.timers);
}

TEST_F(InstanceTest, AtMostOncePerOccurrenceFiringTwiceIsANoOp) {
  Effects fx;
  InstanceState s = Run(KitEvents(), t0_ + days(2), &fx);
  ActionId reminder = Action("send_back_reminder");
  auto t = std::find_if(s.timers.begin(), s.timers.end(),
                        [&](const PendingTimer& p) { return p.action == reminder; });
  ASSERT_NE(t, s.timers.end());
  PendingTimer timer = *t;
  EXPECT_EQ(timer.due, t0_ + days(2) + days(10));  // from kit.delivered's occurred_at
  Effects first, second;
  ASSERT_TRUE(FireTimer(*def_, &s, reminder, timer.occurrence, timer.due, &first).ok());
  ASSERT_TRUE(FireTimer(*def_, &s, reminder, timer.occurrence, timer.due, &second).ok());
  ASSERT_EQ(first.outbox.size(), 1u);
  EXPECT_TRUE(second.outbox.empty());
  EXPECT_EQ(s.Progress(reminder)->next, timer.occurrence + 1);
}

TEST_F(InstanceTest, TimersAreDerivedFromOccurredAtNotFromNow) {
  Effects early, late;
  InstanceState a = Run(KitEvents(), t0_ + days(2), &early);
  InstanceState b = Run(KitEvents(), t0_ + days(9), &late);  // learnt a week later
  EXPECT_EQ(a.timers, b.timers);
  // Not yet due: FireTimer refuses.
  Effects fx;
  const PendingTimer t = a.timers.front();
  EXPECT_EQ(FireTimer(*def_, &a, t.action, t.occurrence, t.due - hours(1), &fx).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(InstanceTest, FactsAreMonotoneAndIndependentOfArrivalOrder) {
  std::vector<Event> events = KitEvents();
  events.push_back(Ev("e5", "device.shipped", {{"order_id", "O-1"}}, t0_ + days(4)));
  // The start event first, then every order of the rest.
  std::vector<size_t> rest = {1, 2, 3, 4};
  Json want;
  int runs = 0;
  do {
    std::vector<Event> order = {events[0]};
    for (size_t i : rest) order.push_back(events[i]);
    Effects fx;
    InstanceState s = Run(order, t0_ + days(5), &fx);
    Json j = StateToJson(*def_, s);
    Json facts_and_timers = {{"facts", j["facts"]}, {"timers", j["timers"]}};
    if (runs++ == 0) {
      want = facts_and_timers;
    } else {
      EXPECT_EQ(facts_and_timers, want) << "order differs at run " << runs;
    }
  } while (std::next_permutation(rest.begin(), rest.end()));
  EXPECT_EQ(runs, 24);
  EXPECT_TRUE(want["facts"].contains("device_sent"));
}

TEST_F(InstanceTest, IdempotentByEventIdDuplicateChangesNothing) {
  Effects fx;
  InstanceState s = Run(KitEvents(), t0_ + days(2), &fx);
  Json before = StateToJson(*def_, s);
  Effects dup;
  ASSERT_TRUE(ApplyEvent(*def_, &s, KitEvents()[3], t0_ + days(3), &dup).ok());
  EXPECT_EQ(StateToJson(*def_, s), before);
  EXPECT_TRUE(dup.outbox.empty());
  EXPECT_TRUE(dup.timers.empty());
  ASSERT_EQ(dup.timeline.size(), 1u);
  EXPECT_EQ(dup.timeline[0].kind, TimelineKind::kDuplicate);
}

TEST_F(InstanceTest, StepEventLeavesTheOldStateUntouched) {
  Effects fx;
  InstanceState s = Run(KitEvents(), t0_ + days(2), &fx);
  Json before = StateToJson(*def_, s);
  auto r = StepEvent(*def_, &s, Ev("e9", "device.shipped", {{"order_id", "O-1"}}, t0_ + days(3)),
                     t0_ + days(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(StateToJson(*def_, s), before);
  EXPECT_TRUE(r->state.Holds(*def_->FindFact("device_sent")));
  // The reminder timer is cancelled in the new state and reported as an effect.
  auto cancelled =
      std::count_if(r->effects.timers.begin(), r->effects.timers.end(),
                    [](const TimerChange& c) { return c.op == TimerChange::Op::kCancel; });
  EXPECT_GE(cancelled, 1);
}

TEST_F(InstanceTest, OneInstancePerKeyEventsOfAnotherKeyAreRefused) {
  Effects fx;
  InstanceState s = Run(KitEvents(), t0_, &fx);
  Effects none;
  Status st =
      ApplyEvent(*def_, &s, Ev("x", "device.shipped", {{"order_id", "O-2"}}, t0_), t0_, &none);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyEvent(*def_, &s, Ev("", "device.shipped", {{"order_id", "O-1"}}, t0_), t0_, &none)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ApplyEvent(*def_, &s, Ev("y", "parcel.lost", {{"order_id", "O-1"}}, t0_), t0_, &none).code(),
      StatusCode::kInvalidArgument);
  InstanceState other = s;
  other.version = 9;
  EXPECT_EQ(
      ApplyEvent(*def_, &other, Ev("z", "device.shipped", {{"order_id", "O-1"}}, t0_), t0_, &none)
          .code(),
      StatusCode::kFailedPrecondition);
  EXPECT_TRUE(none.outbox.empty());
  // Only a start event (with trade_in: true) creates an instance.
  InstanceState fresh;
  Event plain = Ev("p", "order.placed", {{"order_id", "O-3"}}, t0_);
  plain.payload = {{"trade_in", false}};
  EXPECT_EQ(StartInstance(*def_, plain, t0_, &fresh, &none).code(), StatusCode::kInvalidArgument);
}

TEST_F(InstanceTest, EveryDecisionHasReasonsTimelineEntriesRender) {
  Effects fx;
  InstanceState s = Run(KitEvents(), t0_ + days(2), &fx);
  auto fired = std::find_if(fx.timeline.begin(), fx.timeline.end(), [](const TimelineEntry& e) {
    return e.kind == TimelineKind::kFired && e.subject == "confirm_trade_in";
  });
  ASSERT_NE(fired, fx.timeline.end());
  ASSERT_FALSE(fired->reasons.empty());
  EXPECT_EQ(fired->reasons[0].fact, "ordered");
  EXPECT_EQ(fired->reasons[0].event_id, "e1");
  std::string text = TimelineEntryToText(*fired);
  EXPECT_NE(text.find("because ordered since"), std::string::npos) << text;
  Json j = TimelineEntryToJson(*fired);
  EXPECT_EQ(j["kind"], "fired");
  EXPECT_EQ(OutboxActionToJson(fx.outbox[0])["reasons"][0]["event_id"], "e1");
}

TEST_F(InstanceTest, TheTimelineWriterWritesWhatTheJsonFormWouldDump) {
  Effects fx;
  Run(KitEvents(), t0_ + days(30), &fx);
  ASSERT_GT(fx.timeline.size(), 5u);
  // Every optional part, and text that has to be escaped.
  TimelineEntry odd;
  odd.at = t0_;
  odd.kind = TimelineKind::kLate;
  odd.subject = "kit.delivered";
  odd.event_id = "e\"7\\";
  odd.occurred_at = t0_ - hours(1);
  odd.due = t0_ + days(14);
  odd.occurrence = 2;
  odd.text = "Zustellung an Frau Müller\n\tum 10:00";
  odd.reasons = {{"requires", "kit_delivered", true, t0_, "", true},
                 {"unless", "cancelled", false, {}, "ignored when not held", true}};
  fx.timeline.push_back(odd);
  for (const TimelineEntry& e : fx.timeline) {
    std::string written;
    AppendTimelineEntryJson(written, e);
    EXPECT_EQ(written, TimelineEntryToJson(e).dump()) << e.text;
  }
}

}  // namespace
}  // namespace rapport::journey

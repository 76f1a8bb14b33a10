// S1 (the return kit that was not there yet) on the in-memory runtime with a manual clock:
// the normal path and every deviation from shared/SCENARIOS.md, named after the invariant
// (instance.h) or the story line they check. Expected times are derived from the event times.
#include "journey/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace rapport::journey {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : ".";
}

Time T(std::string_view s) { return ParseTime(s).value(); }

class TradeInTest : public ::testing::Test {
 public:
  static Event Ev(std::string id, std::string type, Fields keys, Time occurred) {
    Event e;
    e.id = std::move(id);
    e.type = std::move(type);
    e.keys = std::move(keys);
    e.occurred_at = occurred;
    return e;
  }
  // The events of order O-n and its kit shipment S-n.
  static Event Placed(Time t, std::string order = "O-1") {
    Event e = Ev(order + "-placed", "order.placed", {{"order_id", order}}, t);
    e.payload = {{"trade_in", true}};
    return e;
  }
  static Event Shipped(Time t, std::string order = "O-1", std::string ship = "S-1") {
    return Ev(ship + "-shipped", "kit.label_created", {{"order_id", order}, {"shipment_id", ship}},
              t);
  }
  static Event PickedUp(Time t, std::string ship = "S-1") {
    return Ev(ship + "-picked", "kit.picked_up", {{"shipment_id", ship}}, t);
  }
  static Event Delivered(Time t, std::string ship = "S-1") {
    return Ev(ship + "-delivered", "kit.delivered", {{"shipment_id", ship}}, t);
  }
  static Event OrderEvent(std::string type, Time t, std::string order = "O-1") {
    return Ev(order + "-" + type, type, {{"order_id", order}}, t);
  }

 protected:
  void SetUp() override {
    auto def = LoadDefinitionFile(SourceDir() + "/examples/journeys/trade-in.yaml");
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    def_ = *def;
    ASSERT_TRUE(rt_.Deploy(def_).ok());
  }

  // Moves the clock to `to`, deciding every timer due strictly before it on the way.
  void RunBefore(Time to) {
    while (auto due = rt_.NextDue()) {
      if (*due >= to) break;
      ASSERT_TRUE(clock_.AdvanceTo(*due).ok());
      rt_.RunDue();
    }
    if (clock_.Now() < to) {
      ASSERT_TRUE(clock_.AdvanceTo(to).ok());
    }
  }
  // As RunBefore, and also the timers due at `to`.
  void RunUntil(Time to) {
    RunBefore(to);
    rt_.RunDue();
  }
  // Delivers `e` when it is received (default: when it occurred); timers due before go first.
  void Send(const Event& e, std::optional<Time> received = std::nullopt) {
    RunBefore(received.value_or(e.occurred_at));
    Status s = rt_.Ingest(e);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<OutboxAction> Sent(std::string_view action) const {
    std::vector<OutboxAction> out;
    for (const auto& o : const_cast<Runtime&>(rt_).outbox()) {
      if (o.action == action) out.push_back(o);
    }
    return out;
  }
  size_t CustomerMessages() const {
    size_t n = 0;
    for (const auto& o : const_cast<Runtime&>(rt_).outbox()) {
      n += o.audience == Audience::kCustomer;
    }
    return n;
  }
  const InstanceState& Instance(std::string_view key = "O-1") {
    const InstanceState* s = rt_.Find("trade-in", key);
    EXPECT_NE(s, nullptr);
    static const InstanceState kNone;
    return s ? *s : kNone;
  }
  std::string EndState(std::string_view key = "O-1") {
    const InstanceState& s = Instance(key);
    if (s.status != InstanceStatus::kEnded) return "running";
    return def_->end_states()[s.end_state].name;
  }
  bool TimelineHas(TimelineKind kind, std::string_view subject) const {
    for (const auto& r : const_cast<Runtime&>(rt_).timeline()) {
      if (r.entry.kind == kind && r.entry.subject == subject) return true;
    }
    return false;
  }
  // Every idempotency key in the outbox is unique (invariant 5).
  void ExpectNothingTwice() const {
    std::set<std::string> keys;
    for (const auto& o : const_cast<Runtime&>(rt_).outbox()) {
      EXPECT_TRUE(keys.insert(o.idempotency_key).second) << "sent twice: " << o.idempotency_key;
    }
  }
  // The rest of the journey after the kit arrived: device back, inspected, paid.
  void FinishAfter(Time device_shipped) {
    Send(OrderEvent("device.shipped", device_shipped));
    Send(OrderEvent("device.received", device_shipped + days(2)));
    Send(OrderEvent("device.inspected", device_shipped + days(3)));
    Send(OrderEvent("payout.made", device_shipped + days(4)));
    RunUntil(device_shipped + days(60));
  }

  ManualClock clock_{T("2026-11-02T08:00:00Z")};
  Runtime rt_{clock_};
  DefinitionPtr def_;
  const Time t0_ = T("2026-11-02T09:00:00Z");  // a Monday
};

using TradeInTestAccess = TradeInTest;

TEST_F(TradeInTest, NormalPathRemindsOnlyAfterDeliveryWithDateFromDelivery) {
  Time delivered = t0_ + days(2) + hours(3);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(PickedUp(t0_ + days(1)));
  RunUntil(delivered - minutes(1));
  EXPECT_TRUE(Sent("send_back_reminder").empty());
  Send(Delivered(delivered));
  RunUntil(delivered + days(11));

  auto reminders = Sent("send_back_reminder");
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].created_at, delivered + days(10));
  EXPECT_EQ(reminders[0].params["deadline"], FormatTime(delivered + days(14)));
  EXPECT_EQ(reminders[0].channel, "email");
  // The reason names the delivery and the event that established it (invariant 9).
  auto it = std::find_if(reminders[0].reasons.begin(), reminders[0].reasons.end(),
                         [](const FactReason& r) { return r.role == "requires"; });
  ASSERT_NE(it, reminders[0].reasons.end());
  EXPECT_EQ(it->fact, "kit.delivered");
  EXPECT_EQ(it->since, delivered);
  EXPECT_EQ(it->event_id, "S-1-delivered");

  FinishAfter(delivered + days(11) + hours(1));
  EXPECT_EQ(Sent("send_back_reminder").size(), 1u);  // the second one was cancelled
  EXPECT_EQ(Sent("confirm_trade_in").size(), 1u);
  EXPECT_EQ(Sent("create_return_label").size(), 1u);
  EXPECT_EQ(Sent("request_payout").size(), 1u);
  EXPECT_TRUE(Sent("escalate_lost_kit").empty());
  EXPECT_EQ(EndState(), "completed");
  EXPECT_EQ(rt_.pending_timers(), 0u);
  ExpectNothingTwice();
}

TEST_F(TradeInTest, CarrierThreeDaysLateMovesTheDeadlineAndStillPays) {
  Time shipped = t0_ + hours(6);
  Time picked = shipped + days(3);  // the kit waited in the warehouse
  Time delivered = picked + days(2);
  Send(Placed(t0_));
  Send(Shipped(shipped));
  Send(PickedUp(picked));
  RunUntil(delivered - minutes(1));
  // Nothing asks the customer to act while the kit is in the warehouse or in transit.
  EXPECT_TRUE(Sent("send_back_reminder").empty());
  for (const PendingTimer& t : Instance().timers) {
    EXPECT_NE(def_->actions()[t.action].name, "send_back_reminder");
  }
  Send(Delivered(delivered));
  RunUntil(delivered + days(10));
  auto reminders = Sent("send_back_reminder");
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].created_at, delivered + days(10));
  EXPECT_EQ(reminders[0].params["deadline"], FormatTime(delivered + days(14)));
  FinishAfter(delivered + days(12) + hours(1));
  EXPECT_EQ(Sent("request_payout").size(), 1u);
  EXPECT_TRUE(Sent("escalate_lost_kit").empty());
  EXPECT_EQ(EndState(), "completed");
  ExpectNothingTwice();
}

TEST_F(TradeInTest, IdempotentByEventIdDuplicateTrackingEventsSendNothingTwice) {
  Time delivered = t0_ + days(2);
  Event placed = Placed(t0_);
  Event shipped = Shipped(t0_ + hours(6));
  Event picked = PickedUp(t0_ + days(1));
  Event kit = Delivered(delivered);
  for (const Event* e : {&placed, &shipped, &picked, &kit}) {
    Send(*e);
    Send(*e, clock_.Now() + hours(1));  // the same event again, later
  }
  // The carrier re-sends the delivery scan under a new id, with a later time.
  Event rescan = Delivered(delivered + hours(5));
  rescan.id = "S-1-delivered-rescan";
  Send(rescan, delivered + days(1));
  RunUntil(delivered + days(10));
  auto reminders = Sent("send_back_reminder");
  ASSERT_EQ(reminders.size(), 1u);
  // The earliest delivery counts (invariant 3), not the re-scan.
  EXPECT_EQ(reminders[0].params["deadline"], FormatTime(delivered + days(14)));
  Event device = OrderEvent("device.shipped", delivered + days(10) + hours(2));
  Send(device);
  Send(device, clock_.Now() + hours(3));
  FinishAfter(delivered + days(10) + hours(3));
  EXPECT_EQ(Sent("confirm_trade_in").size(), 1u);
  EXPECT_EQ(Sent("send_back_reminder").size(), 1u);
  EXPECT_EQ(Sent("request_payout").size(), 1u);
  EXPECT_TRUE(TimelineHas(TimelineKind::kDuplicate, "kit.delivered"));
  EXPECT_EQ(EndState(), "completed");
  EXPECT_EQ(rt_.instance_count(), 1u);
  ExpectNothingTwice();
}

TEST_F(TradeInTest, DeliveredBeforePickedUpIsKeptAndTheJourneyEndsRight) {
  Time picked = t0_ + days(1);
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  Send(PickedUp(picked), delivered + hours(4));  // the pick-up scan arrives last
  const InstanceState& s = Instance();
  const HeldFact* step = s.Fact(*def_->FindFact("kit_picked_up"));
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->at, picked);  // the real scan replaced the implication (invariant 3)
  EXPECT_FALSE(step->implied);
  RunUntil(delivered + days(10));
  auto reminders = Sent("send_back_reminder");
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].created_at, delivered + days(10));
  FinishAfter(delivered + days(10) + hours(1));
  EXPECT_EQ(EndState(), "completed");
  EXPECT_TRUE(Sent("escalate_lost_kit").empty());
  ExpectNothingTwice();
}

TEST_F(TradeInTest, DeliveredBeforeTheKitWasKnownIsParkedAndApplied) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Delivered(delivered));  // shipment S-1 is not bound to any order yet
  EXPECT_EQ(rt_.parked_events(), 1u);
  EXPECT_FALSE(Instance().Holds(*def_->FindFact("kit.delivered")));
  Send(Shipped(t0_ + hours(6)), delivered + hours(1));  // binds S-1 to O-1
  EXPECT_EQ(rt_.parked_events(), 0u);
  const HeldFact* f = Instance().Fact(*def_->FindFact("kit.delivered"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->at, delivered);
  RunUntil(delivered + days(10));
  ASSERT_EQ(Sent("send_back_reminder").size(), 1u);
  EXPECT_EQ(Sent("send_back_reminder")[0].created_at, delivered + days(10));
}

TEST_F(TradeInTest, EventsBeforeTheStartEventAreKept) {
  Send(Shipped(t0_ + hours(6)), t0_ + hours(7));
  EXPECT_EQ(rt_.instance_count(), 0u);
  Send(Placed(t0_), t0_ + hours(8));
  ASSERT_EQ(rt_.instance_count(), 1u);
  EXPECT_TRUE(Instance().Holds(*def_->FindFact("kit_shipped")));
  // The label action is not wanted once the kit is already shipped.
  EXPECT_TRUE(Sent("create_return_label").empty());
}

TEST_F(TradeInTest, OrdersWithoutTradeInStartNothingAndStrayEventsAreDroppedInTime) {
  Event plain = Placed(t0_, "O-5");
  plain.payload = {{"trade_in", false}};
  Send(plain);
  EXPECT_EQ(rt_.instance_count(), 0u);
  EXPECT_EQ(rt_.parked_events(), 0u);
  Send(OrderEvent("payout.made", t0_ + hours(1), "O-5"));  // a key that never starts
  EXPECT_EQ(rt_.parked_events(), 1u);
  RunUntil(t0_ + days(45));
  EXPECT_EQ(rt_.parked_events(), 0u);
  EXPECT_EQ(rt_.dropped_parked_events(), 1u);
}

TEST_F(TradeInTest, DeviceSentBeforeAnyReminderMeansNoReminderAtAll) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(PickedUp(t0_ + days(1)));
  Send(Delivered(delivered));
  FinishAfter(delivered + days(3));
  EXPECT_TRUE(Sent("send_back_reminder").empty());
  EXPECT_EQ(CustomerMessages(), 1u);  // only the trade-in confirmation
  EXPECT_TRUE(TimelineHas(TimelineKind::kCancelled, "send_back_reminder"));
  EXPECT_EQ(EndState(), "completed");
}

TEST_F(TradeInTest, LostKitEscalatesToAnAgentAndDoesNotNagTheCustomer) {
  Time shipped = t0_ + hours(6);
  Send(Placed(t0_));
  Send(Shipped(shipped));
  RunUntil(shipped + days(40));
  auto tasks = Sent("escalate_lost_kit");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].audience, Audience::kInternal);
  EXPECT_EQ(tasks[0].kind, ActionKind::kOpenCase);
  ASSERT_TRUE(tasks[0].open_case);
  EXPECT_EQ(tasks[0].open_case->team, "logistics");
  EXPECT_EQ(tasks[0].created_at, def_->calendar().AddBusinessDays(shipped, 7));
  EXPECT_TRUE(Sent("send_back_reminder").empty());
  EXPECT_EQ(CustomerMessages(), 1u);  // only the confirmation
  EXPECT_EQ(EndState(), "running");
}

TEST_F(TradeInTest, GuardsUseFactsKnownNowNoStaleReminderAfterDowntime) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  // Down from before the reminder was due until 5 hours after; meanwhile the customer acted.
  RunBefore(delivered + days(10) - hours(1));
  ASSERT_TRUE(clock_.AdvanceTo(delivered + days(10) + hours(5)).ok());
  ASSERT_TRUE(rt_.Ingest(OrderEvent("device.shipped", delivered + days(10) + hours(1))).ok());
  rt_.RunDue();  // overdue timers are decided after the backlog
  FinishAfter(delivered + days(10) + hours(6));
  EXPECT_TRUE(Sent("send_back_reminder").empty());
  EXPECT_EQ(EndState(), "completed");
}

TEST_F(TradeInTest, GuardsUseFactsKnownNowOverdueOccurrencesCollapse) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  RunBefore(delivered + days(9));
  // Down past both reminder due times (10d and 12d): one reminder, not a burst of two.
  ASSERT_TRUE(clock_.AdvanceTo(delivered + days(12) + hours(1)).ok());
  rt_.RunDue();
  auto reminders = Sent("send_back_reminder");
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(reminders[0].occurrence, 1);
  EXPECT_TRUE(TimelineHas(TimelineKind::kSkipped, "send_back_reminder"));
}

TEST_F(TradeInTest, GuardsUseFactsKnownNowRemindersLongOverdueExpire) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  RunBefore(delivered + days(9));
  const ActionSpec& spec = def_->actions()[*def_->FindAction("send_back_reminder")];
  // Down until well after the last reminder's due time plus its expiry: nothing is sent late.
  Time last_due = delivered + days(10) + spec.every * (spec.max_occurrences - 1);
  ASSERT_TRUE(clock_.AdvanceTo(last_due + spec.expires + hours(1)).ok());
  rt_.RunDue();
  EXPECT_TRUE(Sent("send_back_reminder").empty());
  EXPECT_TRUE(TimelineHas(TimelineKind::kSkipped, "send_back_reminder"));
  // What is left: a person's call three weeks after the kit arrived, and the end at eight.
  EXPECT_EQ(rt_.pending_timers(), 2u);
}

TEST_F(TradeInTest, ACustomerWhoKeepsTheDeviceEndsTheJourneyAfterEightWeeks) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  RunBefore(delivered + days(56));
  EXPECT_EQ(EndState(), "running");
  EXPECT_EQ(Sent("escalate_device_not_sent").size(), 1u) << "a person called at three weeks";
  RunUntil(delivered + days(56));
  EXPECT_EQ(EndState(), "abandoned");
  EXPECT_TRUE(TimelineHas(TimelineKind::kEnded, "abandoned"));
  EXPECT_TRUE(Sent("end:abandoned").empty()) << "a timed end sends nothing";
  EXPECT_EQ(rt_.pending_timers(), 0u);
}

TEST_F(TradeInTest, ATimedEndWaitsWhileItsUnlessHolds) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  // The device is on its way at day 55 and is lost: no end at 56 days, the loss is a case.
  Send(OrderEvent("device.shipped", delivered + days(55)));
  RunUntil(delivered + days(80));
  EXPECT_EQ(EndState(), "running");
  EXPECT_EQ(Sent("escalate_device_not_received").size(), 1u);
}

TEST_F(TradeInTest, BoundedRepetitionsAtMostMaxReminders) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  RunUntil(delivered + days(90));
  auto reminders = Sent("send_back_reminder");
  const ActionSpec& spec = def_->actions()[*def_->FindAction("send_back_reminder")];
  ASSERT_EQ(reminders.size(), spec.max_occurrences);
  for (size_t k = 0; k < reminders.size(); ++k) {
    EXPECT_EQ(reminders[k].occurrence, k);
    EXPECT_EQ(reminders[k].created_at, delivered + days(10) + spec.every * k);
    // Every reminder names the same deadline, from the real delivery.
    EXPECT_EQ(reminders[k].params["deadline"], FormatTime(delivered + days(14)));
  }
  EXPECT_EQ(rt_.pending_timers(), 0u);
}

TEST_F(TradeInTest, TimerWonTheRaceIsRecordedWhenTheEventArrivesLate) {
  Time delivered = t0_ + days(2);
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(Delivered(delivered));
  // The customer shipped 1 day before the reminder was due, but we learn it 2 hours after.
  Send(OrderEvent("device.shipped", delivered + days(9)), delivered + days(10) + hours(2));
  EXPECT_EQ(Sent("send_back_reminder").size(), 1u);
  EXPECT_TRUE(TimelineHas(TimelineKind::kLate, "send_back_reminder"));
  RunUntil(delivered + days(30));
  EXPECT_EQ(Sent("send_back_reminder").size(), 1u);  // and no second one
}

TEST_F(TradeInTest, CancellationCompensatesTheReturnLabelAndEndsTheJourney) {
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  ASSERT_EQ(Sent("create_return_label").size(), 1u);  // fired on order.placed
  Send(OrderEvent("order.cancelled", t0_ + hours(8)));
  EXPECT_EQ(EndState(), "cancelled");
  EXPECT_EQ(Sent("void_return_label").size(), 1u);
  EXPECT_EQ(Sent("confirm_cancellation").size(), 1u);
  EXPECT_EQ(rt_.pending_timers(), 0u);  // the lost-kit timer is cancelled (invariant 8)
  RunUntil(t0_ + days(30));
  EXPECT_TRUE(Sent("escalate_lost_kit").empty());
}

TEST_F(TradeInTest, CancellationAfterPickUpDoesNotVoidTheLabel) {
  Send(Placed(t0_));
  Send(Shipped(t0_ + hours(6)));
  Send(PickedUp(t0_ + days(1)));
  Send(OrderEvent("order.cancelled", t0_ + days(1) + hours(2)));
  EXPECT_EQ(EndState(), "cancelled");
  EXPECT_TRUE(Sent("void_return_label").empty());
  // Events after the end are recorded but trigger nothing (invariant 8).
  Send(Delivered(t0_ + days(2)));
  RunUntil(t0_ + days(30));
  EXPECT_TRUE(Sent("send_back_reminder").empty());
  EXPECT_TRUE(TimelineHas(TimelineKind::kAfterEnd, "kit.delivered"));
}

TEST_F(TradeInTest, OneInstancePerKeyDuplicateStartEventNeverCreatesASecond) {
  Send(Placed(t0_));
  Event again = Placed(t0_ + hours(1));
  again.id = "O-1-placed-resent";
  Send(again);
  EXPECT_EQ(rt_.instance_count(), 1u);
  EXPECT_EQ(Sent("confirm_trade_in").size(), 1u);
  Send(Placed(t0_ + hours(2), "O-2"));
  EXPECT_EQ(rt_.instance_count(), 2u);
}

// The S1 mistake: the reminder anchored to the order date. Validation cannot reject it (that is
// `journey check`'s job), but at run time `requires` keeps it from reaching the customer early.
TEST_F(TradeInTest, GuardsUseFactsKnownNowReminderAnchoredToTheOrderIsSkippedNotSentEarly) {
  std::ifstream in(SourceDir() + "/examples/journeys/trade-in.yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string bad = text.str();
  bad.replace(bad.find("version: 1"), 10, "version: 5");
  bad.replace(bad.find("after: 10d from kit.delivered"), 29, "after: 10d from order.placed");
  bad.replace(bad.find("deadline: {date: 14d from kit.delivered}"), 40,
              "deadline: {date: 14d from order.placed}");
  auto def = LoadDefinition(bad, "anchored-to-order.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  ManualClock clock(t0_);
  Runtime rt(clock);
  ASSERT_TRUE(rt.Deploy(*def).ok());
  ASSERT_TRUE(rt.Ingest(Placed(t0_)).ok());
  ASSERT_TRUE(rt.Ingest(Shipped(t0_ + hours(6))).ok());
  Time delivered = t0_ + days(11);  // the carrier was late
  ASSERT_TRUE(clock.AdvanceTo(delivered).ok());
  rt.RunDue();  // reminder #0 was due at order + 10d
  ASSERT_TRUE(rt.Ingest(Delivered(delivered)).ok());
  for (const auto& o : rt.outbox()) {
    EXPECT_NE(o.action, "send_back_reminder") << "asked to act before the kit arrived";
  }
  bool skipped = false;
  for (const auto& r : rt.timeline()) {
    skipped |= r.entry.kind == TimelineKind::kSkipped && r.entry.subject == "send_back_reminder" &&
               r.entry.text.find("requires kit.delivered") != std::string::npos;
  }
  EXPECT_TRUE(skipped);
}

TEST_F(TradeInTest, NewVersionLeavesRunningInstancesOnTheirs) {
  Send(Placed(t0_));
  std::ifstream in(SourceDir() + "/examples/journeys/trade-in.yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string v2 = text.str();
  v2.replace(v2.find("version: 1"), 10, "version: 2");
  v2.replace(v2.find("after: 10d from kit.delivered"), 29, "after: 11d from kit.delivered");
  auto def2 = LoadDefinition(v2, "trade-in-v2.yaml");
  ASSERT_TRUE(def2.ok()) << def2.status().ToString();
  ASSERT_TRUE(rt_.Deploy(*def2).ok());
  Send(Placed(t0_, "O-2"));
  EXPECT_EQ(Instance("O-1").version, 1);
  EXPECT_EQ(Instance("O-2").version, 2);
  Time delivered = t0_ + days(2);
  Send(Shipped(t0_ + hours(6), "O-1", "S-1"));
  Send(Shipped(t0_ + hours(6), "O-2", "S-2"));
  Send(Delivered(delivered, "S-1"));
  Send(Delivered(delivered, "S-2"));
  RunUntil(delivered + days(11));
  auto reminders = Sent("send_back_reminder");
  ASSERT_EQ(reminders.size(), 2u);
  for (const auto& r : reminders) {
    EXPECT_EQ(r.created_at, delivered + days(r.version == 1 ? 10 : 11)) << r.instance_key;
  }
}

// A definition is immutable and shared: runtimes on several threads use one DefinitionPtr
// (run under ThreadSanitizer in the TSan build) and reach the same outcome.
TEST(RuntimeThreadsTest, OneDefinitionSharedByRuntimesOnSeveralThreads) {
  auto def = LoadDefinitionFile(SourceDir() + "/examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  const Time t0 = T("2026-11-02T09:00:00Z");
  std::vector<size_t> reminders(4, 0);
  std::vector<std::thread> threads;
  for (size_t w = 0; w < reminders.size(); ++w) {
    threads.emplace_back([&, w] {
      ManualClock clock(t0);
      Runtime rt(clock);
      if (!rt.Deploy(*def).ok()) return;
      for (int i = 0; i < 50; ++i) {
        std::string o = "O-" + std::to_string(i), sh = "S-" + std::to_string(i);
        Event placed = TradeInTestAccess::Placed(t0, o);
        (void)rt.Ingest(placed);
        (void)rt.Ingest(TradeInTestAccess::Shipped(t0 + hours(1), o, sh));
        (void)rt.Ingest(TradeInTestAccess::Delivered(t0 + days(1), sh));
      }
      while (auto due = rt.NextDue()) {
        (void)clock.AdvanceTo(*due);
        rt.RunDue();
      }
      for (const auto& out : rt.outbox()) reminders[w] += out.action == "send_back_reminder";
    });
  }
  for (auto& t : threads) t.join();
  for (size_t r : reminders) EXPECT_EQ(r, reminders[0]);
  EXPECT_GT(reminders[0], 0u);
}

}  // namespace
}  // namespace rapport::journey

#include "analytics/kpis.h"

#include <gtest/gtest.h>

namespace rapport::analytics {
namespace {

Time T(const char* text) { return *ParseTime(text); }

KpiRequest Period(const char* from = "2026-11-02T00:00:00Z",
                  const char* to = "2026-11-16T00:00:00Z") {
  KpiRequest r;
  r.from = T(from);
  r.to = T(to);
  return r;
}

TEST(Kpis, BucketsAreUtcDaysOrMondayWeeks) {
  EXPECT_EQ(BucketStart(T("2026-11-04T13:05:00Z"), Bucket::kDay), T("2026-11-04T00:00:00Z"));
  // 2026-11-04 is a Wednesday; its week starts on Monday 2026-11-02.
  EXPECT_EQ(BucketStart(T("2026-11-04T13:05:00Z"), Bucket::kWeek), T("2026-11-02T00:00:00Z"));
  EXPECT_EQ(BucketStart(T("2026-11-08T23:59:00Z"), Bucket::kWeek), T("2026-11-02T00:00:00Z"));
  KpiAccumulator acc(Period());
  EXPECT_EQ(acc.Finish().buckets.size(), 14u);
  KpiRequest weekly = Period();
  weekly.bucket = Bucket::kWeek;
  EXPECT_EQ(KpiAccumulator(weekly).Finish().buckets.size(), 2u);
}

TEST(Kpis, RequestIsValidated) {
  EXPECT_EQ(ValidateRequest(Period("2026-11-16T00:00:00Z", "2026-11-02T00:00:00Z")).where(),
            "from");
  EXPECT_EQ(ValidateRequest(Period("2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z")).where(), "to");
  EXPECT_TRUE(ValidateRequest(Period()).ok());
  EXPECT_FALSE(ParseBucket("month").ok());
}

TEST(Kpis, EventsCountPerBucketOnlyInsideThePeriod) {
  KpiAccumulator acc(Period());
  acc.AddEvent({"e1", "order.placed", "", T("2026-11-03T10:00:00Z")});
  acc.AddEvent({"e2", "order.placed", "", T("2026-11-03T11:00:00Z")});
  acc.AddEvent({"e3", "kit.delivered", "", T("2026-11-05T11:00:00Z")});
  acc.AddEvent({"e4", "order.placed", "", T("2026-11-20T11:00:00Z")});  // after the period
  KpiReport r = acc.Finish();
  EXPECT_EQ(r.buckets[1][Series::kOrders], 2);
  EXPECT_EQ(r.buckets[1][Series::kEvents], 2);
  EXPECT_EQ(r.buckets[3][Series::kEvents], 1);
  int64_t orders = 0;
  for (const auto& b : r.buckets) orders += b[Series::kOrders];
  EXPECT_EQ(orders, 2);
}

TEST(Kpis, MailingAvoidsOneLetterPerDuplicateAndHouseholdMember) {
  KpiRequest req = Period();
  req.letter_price = 1.0;
  KpiAccumulator acc(req);
  // Johann twice, Anna in his household, Hans alone; one customer without an address.
  acc.AddMailing("brochure", "", T("2026-11-10T00:00:00Z"), {5, 3, 2, 1});
  KpiReport r = acc.Finish();
  ASSERT_EQ(r.s2.mailings.size(), 1u);
  EXPECT_EQ(r.s2.mailings[0].letters_avoided, 2);  // 5 customers - 1 without address - 2 letters
  EXPECT_DOUBLE_EQ(r.s2.cost_avoided, 2.0);
}

TEST(Kpis, HeldBackIsASkipForAMissingPrerequisiteAndBrokenPromiseAnExpiredOne) {
  KpiAccumulator acc(Period());
  acc.AddJourneyEntry({"trade-in/O-1",
                       "skipped",
                       "send_back_reminder",
                       T("2026-11-05T00:00:00Z"),
                       std::nullopt,
                       {{"requires", "kit.delivered", false, std::nullopt}}});
  acc.AddJourneyEntry({"trade-in/O-2",
                       "skipped",
                       "request_payout",
                       T("2026-11-05T00:00:00Z"),
                       std::nullopt,
                       {{"requires", "device_inspected", true, T("2026-11-01T00:00:00Z")}}});
  // Skipped because the customer had done it already: neither.
  acc.AddJourneyEntry({"trade-in/O-3",
                       "skipped",
                       "send_back_reminder",
                       T("2026-11-05T00:00:00Z"),
                       std::nullopt,
                       {{"requires", "kit.delivered", true, T("2026-11-01T00:00:00Z")},
                        {"unless", "device_sent", true, T("2026-11-02T00:00:00Z")}}});
  KpiReport r = acc.Finish();
  EXPECT_EQ(r.s1.held_back, 1);
  EXPECT_EQ(r.s1.broken_promises, 1);
  EXPECT_EQ(r.buckets[3][Series::kMessagesHeldBack], 1);
}

TEST(Kpis, AHeldMessageCountsOnItsInstancesStartDay) {
  KpiAccumulator acc(Period());
  acc.AddHeldMessage(
      {"trade-in/O-1", "send_back_reminder", "kit.delivered", T("2026-11-04T09:00:00Z")});
  acc.AddHeldMessage(
      {"trade-in/O-2", "send_back_reminder", "kit.delivered", T("2026-10-04T09:00:00Z")});
  KpiReport r = acc.Finish();
  EXPECT_EQ(r.s1.held_back, 1);
  EXPECT_EQ(r.buckets[2][Series::kMessagesHeldBack], 1);
}

TEST(Kpis, DeadlineMovedWhenTheAnchorHeldLateAfterTheFirstFact) {
  KpiAccumulator acc(Period());
  // O-1's kit arrived after 6 days (twice: the reminder and its deadline), O-2's after 1.
  acc.AddAnchoredMessage(
      {"trade-in/O-1", "send_back_reminder", T("2026-11-02T09:00:00Z"), T("2026-11-08T09:00:00Z")});
  acc.AddAnchoredMessage(
      {"trade-in/O-1", "send_back_reminder", T("2026-11-02T09:00:00Z"), T("2026-11-08T09:00:00Z")});
  acc.AddAnchoredMessage(
      {"trade-in/O-2", "send_back_reminder", T("2026-11-02T09:00:00Z"), T("2026-11-03T09:00:00Z")});
  EXPECT_EQ(acc.Finish().s1.deadlines_moved, 1);
}

TEST(Kpis, PrematureAndDuplicateMessagesPutTheCustomerAtRisk) {
  KpiAccumulator acc(Period());
  OutboxFact ok{"trade-in/O-1/r#0",
                "trade-in/O-1",
                "r",
                "message",
                "customer",
                "per_a",
                T("2026-11-10T00:00:00Z"),
                {{"requires", "kit.delivered", true, T("2026-11-05T00:00:00Z")}}};
  acc.AddOutboxAction(ok);
  OutboxFact early = ok;
  early.idempotency_key = "trade-in/O-2/r#0";
  early.person = "per_b";
  early.reasons = {{"requires", "kit.delivered", true, T("2026-11-11T00:00:00Z")}};
  acc.AddOutboxAction(early);
  OutboxFact twice = ok;
  twice.person = "per_c";
  acc.AddOutboxAction(twice);
  OutboxFact webhook = early;
  webhook.kind = "webhook";  // not a customer message
  acc.AddOutboxAction(webhook);
  KpiReport r = acc.Finish();
  EXPECT_EQ(r.s1.messages_sent, 3);
  EXPECT_EQ(r.s1.premature, 1);
  EXPECT_EQ(r.s1.duplicates, 1);
  ASSERT_EQ(r.at_risk.size(), 2u);
  EXPECT_EQ(r.at_risk[0].kind == "premature-message" ? r.at_risk[0].person : r.at_risk[1].person,
            "per_b");
}

TEST(Kpis, CasesGiveHandoversResolutionAndFirstContact) {
  KpiAccumulator acc(Period());
  CaseFact billing{"case_1",       "per_a", "inquiry",
                   "tech-support", "agent", T("2026-11-03T09:00:00Z")};
  billing.handovers = 1;
  billing.resolved_at = T("2026-11-03T13:00:00Z");
  acc.AddCase(billing);
  CaseFact quick{"case_2", "per_b", "inquiry", "first-level", "agent", T("2026-11-04T09:00:00Z")};
  quick.resolved_at = T("2026-11-04T10:00:00Z");
  acc.AddCase(quick);
  CaseFact feedback{"case_3", "per_c", "feedback", "invoicing", "event", T("2026-11-05T09:00:00Z")};
  feedback.has_first_contact_sla = true;
  feedback.first_contact_due = T("2026-11-06T09:00:00Z");
  feedback.first_contact_met_at = T("2026-11-05T15:00:00Z");
  acc.AddCase(feedback);
  KpiReport r = acc.Finish();
  EXPECT_EQ(r.s3.cases_opened, 3);
  EXPECT_EQ(r.s3.handovers, 1);
  EXPECT_EQ(r.s3.resolved, 2);
  EXPECT_EQ(r.s3.resolved_first_contact, 1);
  EXPECT_DOUBLE_EQ(r.s3.first_contact_resolution, 0.5);
  EXPECT_EQ(r.s3.time_to_resolution.median, std::chrono::hours(1));
  EXPECT_EQ(r.s5.feedback_cases, 1);
  EXPECT_EQ(r.s5.first_contact_within_sla, 1);
  EXPECT_DOUBLE_EQ(r.s5.first_contact_within_sla_rate, 1.0);
}

TEST(Kpis, ALowRatingIsAtRiskUntilACaseOfTheirsIsResolvedAfterIt) {
  KpiAccumulator acc(Period());
  acc.AddEvent({"f1", "feedback.submitted", "per_a", T("2026-11-05T10:00:00Z"), 2});
  acc.AddEvent({"f2", "feedback.submitted", "per_b", T("2026-11-05T10:00:00Z"), 1});
  acc.AddEvent({"f3", "feedback.submitted", "per_c", T("2026-11-05T10:00:00Z"), 5});
  CaseFact fixed{"case_1", "per_b", "feedback", "invoicing", "event", T("2026-11-05T10:01:00Z")};
  fixed.resolved_at = T("2026-11-06T10:00:00Z");
  acc.AddCase(fixed);
  KpiReport r = acc.Finish();
  ASSERT_EQ(r.at_risk.size(), 1u);
  EXPECT_EQ(r.at_risk[0].person, "per_a");
  EXPECT_EQ(r.at_risk[0].kind, "low-rating");
  EXPECT_EQ(r.at_risk[0].ref, "f1");
}

// The cases configuration's scale decides what a bad rating is (here 1..10, bad up to 4).
TEST(Kpis, ALowRatingIsLowOnTheConfiguredScale) {
  KpiRequest request = Period();
  request.rating_scale = 10;
  request.negative_rating_at_or_below = 4;
  KpiAccumulator acc(request);
  acc.AddEvent({"f1", "feedback.submitted", "per_a", T("2026-11-05T10:00:00Z"), 4});
  acc.AddEvent({"f2", "feedback.submitted", "per_b", T("2026-11-05T10:00:00Z"), 5});
  KpiReport r = acc.Finish();
  ASSERT_EQ(r.at_risk.size(), 1u);
  EXPECT_EQ(r.at_risk[0].person, "per_a");
  EXPECT_NE(r.at_risk[0].reason.find("4/10"), std::string::npos) << r.at_risk[0].reason;
}

TEST(Kpis, ABreachedSlaAndAQuestionAskedTwiceAreBadExperiences) {
  KpiAccumulator acc(Period());
  CaseFact late{"case_1", "per_a", "feedback", "invoicing", "event", T("2026-11-05T10:00:00Z")};
  late.breached = true;
  late.has_first_contact_sla = true;
  late.first_contact_due = T("2026-11-06T10:00:00Z");
  acc.AddCase(late);
  CaseFact asked{"case_2", "per_b", "inquiry", "billing", "agent", T("2026-11-05T10:00:00Z")};
  asked.asked_twice = 1;
  acc.AddCase(asked);
  KpiReport r = acc.Finish();
  ASSERT_EQ(r.at_risk.size(), 2u);
  EXPECT_EQ(r.at_risk[0].kind, "sla-breached");  // the newest first
  EXPECT_EQ(r.at_risk[1].kind, "asked-twice");
  EXPECT_EQ(r.s3.asked_twice, 1);
  EXPECT_EQ(r.s5.first_contact_slas, 1);
  EXPECT_EQ(r.s5.first_contact_within_sla, 0);
}

TEST(Kpis, PrivacyPerRecipientAndDurationsFromTheRequest) {
  KpiAccumulator acc(Period());
  acc.AddDisclosure({"portal-check24", true, T("2026-11-03T00:00:00Z")});
  acc.AddDisclosure({"portal-check24", false, T("2026-11-03T00:00:00Z")});
  acc.AddDisclosure({"ads-partner", false, T("2026-11-04T00:00:00Z")});
  acc.AddLeak({"portal-check24", "per_a", T("2026-11-05T00:00:00Z")});
  EventFact request{"rq1", "privacy.request", "per_a", T("2026-11-06T10:00:00Z")};
  request.request_kind = "access";
  acc.AddEvent(request);
  acc.AddPrivacyRequestDone({"access", "per_a", T("2026-11-07T10:00:00Z")});
  acc.AddPrivacyRequestDone({"erasure", "per_b", T("2026-11-07T10:00:00Z")});  // no request
  KpiReport r = acc.Finish();
  EXPECT_EQ(r.s4.recipients["portal-check24"].disclosed, 1);
  EXPECT_EQ(r.s4.recipients["portal-check24"].refused, 1);
  EXPECT_EQ(r.s4.recipients["portal-check24"].leaks, 1);
  EXPECT_EQ(r.s4.recipients["ads-partner"].refused, 1);
  EXPECT_EQ(r.s4.access_reports, 1);
  EXPECT_EQ(r.s4.erasures, 1);
  EXPECT_EQ(r.s4.access_report_duration.median, std::chrono::hours(24));
  EXPECT_EQ(r.s4.erasure_duration.count, 0);
}

TEST(Kpis, FirstTimeFixIsNoRepairOfTheSameApplianceWithinTheWindow) {
  KpiAccumulator acc(Period());
  acc.AddServiceRecord({"ast_1", "repair", T("2026-11-03T00:00:00Z")});
  acc.AddServiceRecord({"ast_1", "repair", T("2026-11-10T00:00:00Z")});  // came back
  acc.AddServiceRecord({"ast_2", "repair", T("2026-11-04T00:00:00Z")});
  acc.AddServiceRecord({"ast_2", "maintenance", T("2026-11-05T00:00:00Z")});
  KpiReport r = acc.Finish();
  EXPECT_EQ(r.s6.repairs, 3);
  EXPECT_EQ(r.s6.fixed_first_time, 2);  // ast_1's second visit and ast_2
  EXPECT_NEAR(r.s6.first_time_fix_rate, 2.0 / 3.0, 1e-9);
}

TEST(Kpis, PreferencesAppliedAreAnnotatedEventsInThePeriod) {
  KpiAccumulator acc(Period());
  acc.AddAnnotatedEvent("o2");
  acc.AddEvent({"o1", "order.placed", "per_a", T("2026-11-03T00:00:00Z")});
  acc.AddEvent({"o2", "order.placed", "per_a", T("2026-11-04T00:00:00Z")});
  EXPECT_EQ(acc.Finish().s5.preferences_applied, 1);
}

}  // namespace
}  // namespace rapport::analytics

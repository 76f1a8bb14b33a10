// Customer analytics: what Rapport's logs say about how customers were treated, per scenario
// (S1-S6 of ../shared/SCENARIOS.md), over a period and in day or week buckets, and the
// customers at risk. Every figure is computed from facts read out of the logs (the event log,
// journey timelines and the outbox, case documents and timelines, the disclosure register,
// leak findings, the audit log, service records); nothing here is stored or typed in by hand.
//
// KpiAccumulator is the pure part: it takes typed facts in any order and computes the report.
// Reading the facts out of a store is kpi_service.h's job, so every rule here is unit-tested
// on facts built in the test.
//
// Thread-safety: a KpiAccumulator is a plain value; use one per computation.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace rapport::analytics {

enum class Bucket { kDay, kWeek };
Result<Bucket> ParseBucket(std::string_view text);  // "day" | "week"
std::string_view BucketName(Bucket b);

struct KpiRequest {
  Time from{};  // inclusive
  Time to{};    // exclusive
  Bucket bucket = Bucket::kDay;
  double letter_price = 0.85;  // EUR per printed and posted letter
  // A kit delivered later than this after its order counts as late: a deadline the customer
  // was given from such a delivery moved with it.
  Duration late_delivery_after = std::chrono::hours(24 * 3);
  // A repair is fixed the first time when the same appliance needs no repair within this.
  Duration first_time_fix_window = std::chrono::hours(24 * 30);
  // How long a bad experience keeps a customer at risk when nothing resolved follows it.
  Duration at_risk_window = std::chrono::hours(24 * 90);
  // The cases configuration's rating scale: a rating at or below `negative_rating_at_or_below`
  // is a bad experience.
  int rating_scale = 5;
  int negative_rating_at_or_below = 2;
};
// kInvalidArgument naming the field when from >= to or the period has more than 400 buckets.
Status ValidateRequest(const KpiRequest& request);

// --- Facts ---------------------------------------------------------------------------------

// An event of the log (only what analytics looks at).
struct EventFact {
  std::string id;
  std::string type;
  std::string person;  // the subject resolved to a person id ("" if unknown)
  Time occurred_at{};
  std::optional<int> rating;  // of a feedback event, read as the cases config's rules read it
  std::string segment;        // payload.segment of mailing.sent
  std::string mailing;        // payload.name of mailing.sent
  std::string request_kind;   // payload.kind of privacy.request ("access" | "erasure")
};

// A guard's look at a fact, as a journey timeline entry or outbox action gives it.
struct ReasonFact {
  std::string role;  // requires, unless, anchor, compensates
  std::string fact;
  bool held = false;
  std::optional<Time> since;
};

// One entry of a journey instance's timeline.
struct JourneyEntryFact {
  std::string instance;  // "<journey>/<key>"
  std::string kind;      // started, event, fired, skipped, late, duplicate, ended, ...
  std::string subject;   // action, event type, end state
  Time at{};
  std::optional<Time> occurred_at;
  std::vector<ReasonFact> reasons;
};

// A message that asks the customer to act, not sent (yet) because something it requires has
// not happened: the journey held it back (e.g. a return reminder while the kit is in transit
// or lost). Read from an instance's state and its journey's definition.
struct HeldMessageFact {
  std::string instance;  // "<journey>/<key>"
  std::string action;
  std::string missing;  // the first required fact that does not hold
  Time started_at{};    // the instance's start (processing time)
};

// A customer message whose time or deadline is computed from a fact (its anchor), and when
// that fact and the instance's first fact happened (occurred_at).
struct AnchoredMessageFact {
  std::string instance;  // "<journey>/<key>"
  std::string action;
  Time first_fact_at{};
  Time anchor_at{};
};

// An action the journeys delivered (the outbox log).
struct OutboxFact {
  std::string idempotency_key;
  std::string instance;  // "<journey>/<key>"
  std::string action;
  std::string kind;      // message, webhook, task, open_case
  std::string audience;  // customer, agent, ...
  std::string person;    // the instance's subject resolved to a person ("" if unknown)
  Time created_at{};
  std::vector<ReasonFact> reasons;
};

// A case with what its timeline says.
struct CaseFact {
  std::string id;
  std::string person;
  std::string type;
  std::string team;
  std::string source_kind;  // agent, event, journey
  Time opened_at{};
  int handovers = 0;                // handover and escalation entries
  int asked_twice = 0;              // the case's repeats
  std::optional<Time> resolved_at;  // first change to resolved or closed
  // The first-contact SLA, if the case has one.
  bool has_first_contact_sla = false;
  std::optional<Time> first_contact_met_at;
  std::optional<Time> first_contact_due;
  bool breached = false;  // any SLA breached
};

struct DisclosureFact {
  std::string recipient;
  bool allowed = false;
  Time at{};
};

struct LeakFact {
  std::string recipient;
  std::string person;
  Time found_at{};
};

// An access report or an erasure carried out (the audit log).
struct PrivacyRequestDone {
  std::string kind;  // "access" | "erasure"
  std::string person;
  Time at{};
};

struct ServiceRecordFact {
  std::string asset;
  std::string kind;  // repair | maintenance
  Time date{};
};

// Counts that are a state, not a flow: read once per computation.
struct ProfileCounts {
  int64_t records = 0;
  int64_t persons = 0;
  int64_t households = 0;
};

// A mailing's sizes as the household list computes them for its segment.
struct MailingCounts {
  int64_t source_customers = 0;  // letters without Rapport: one per source customer
  int64_t persons = 0;
  int64_t households = 0;  // letters with Rapport
  int64_t without_address = 0;
};

struct ForecastRecall {
  double top3 = 0;
  double top1 = 0;
  int64_t test_repairs = 0;
};

// --- The report ----------------------------------------------------------------------------

// What each bucket counts (also the CSV columns, in this order).
enum class Series : int {
  kEvents,
  kOrders,
  kMessagesSent,
  kMessagesHeldBack,
  kCasesOpened,
  kHandovers,
  kCasesResolved,
  kFeedbackCases,
  kDisclosures,
  kRefusals,
  kLeaks,
  kRepairs,
  kCount
};
inline constexpr int kSeriesCount = static_cast<int>(Series::kCount);
std::string_view SeriesName(Series s);

struct BucketRow {
  Time start{};
  std::array<int64_t, kSeriesCount> values{};
  int64_t& operator[](Series s) { return values[static_cast<int>(s)]; }
  int64_t operator[](Series s) const { return values[static_cast<int>(s)]; }
};

struct MailingFigures {
  std::string name;  // the mailing.sent event's name, or "all customers"
  std::string segment;
  Time sent_at{};
  MailingCounts counts;
  int64_t letters_avoided = 0;
  double cost_avoided = 0;  // EUR
};

struct S2Figures {
  ProfileCounts profiles;
  int64_t duplicates_found = 0;  // records merged into a person they were not the first of
  std::vector<MailingFigures> mailings;
  int64_t letters_avoided = 0;
  double cost_avoided = 0;
};

struct S1Figures {
  int64_t messages_sent = 0;     // to customers
  int64_t held_back = 0;         // decided without sending: a prerequisite was missing
  int64_t premature = 0;         // sent before what they ask for was possible: must be 0
  int64_t duplicates = 0;        // the same occurrence sent twice: must be 0
  int64_t deadlines_moved = 0;   // deadlines computed from a late delivery
  int64_t broken_promises = 0;   // promised follow-ups not sent though due (expired)
  int64_t asked_after_done = 0;  // a reminder crossed an event that arrived late
};

struct DurationStats {
  int64_t count = 0;
  std::optional<Duration> median;
  std::optional<Duration> p90;
};

struct S3Figures {
  int64_t cases_opened = 0;
  int64_t handovers = 0;
  int64_t asked_twice = 0;  // must be 0
  int64_t resolved = 0;
  int64_t resolved_first_contact = 0;   // resolved without a handover or escalation
  double first_contact_resolution = 0;  // share of resolved
  DurationStats time_to_resolution;
};

struct RecipientFigures {
  int64_t disclosed = 0;
  int64_t refused = 0;
  int64_t leaks = 0;
};

struct S4Figures {
  std::map<std::string, RecipientFigures> recipients;
  int64_t access_reports = 0;
  int64_t erasures = 0;
  // From the customer's request (a privacy.request event) to the report or erasure.
  DurationStats access_report_duration;
  DurationStats erasure_duration;
};

struct S5Figures {
  int64_t feedback_cases = 0;
  int64_t first_contact_slas = 0;  // cases with a first-contact SLA, decided
  int64_t first_contact_within_sla = 0;
  double first_contact_within_sla_rate = 0;
  int64_t preferences_applied = 0;  // later orders annotated with a customer's preference
};

struct S6Figures {
  int64_t repairs = 0;
  int64_t fixed_first_time = 0;
  double first_time_fix_rate = 0;
  std::optional<ForecastRecall> forecast;
};

struct AtRiskCustomer {
  std::string person;
  std::string reason;  // one sentence
  std::string kind;  // low-rating, sla-breached, asked-twice, premature-message, duplicate-message,
                     // asked-after-done
  Time at{};
  std::string ref;  // the event, case or outbox action it rests on
};

struct KpiReport {
  KpiRequest request;
  S1Figures s1;
  S2Figures s2;
  S3Figures s3;
  S4Figures s4;
  S5Figures s5;
  S6Figures s6;
  std::vector<BucketRow> buckets;
  std::vector<AtRiskCustomer> at_risk;  // newest first
};

// The start of the bucket holding `t` (UTC days; weeks start on Monday).
Time BucketStart(Time t, Bucket bucket);

class KpiAccumulator {
 public:
  explicit KpiAccumulator(KpiRequest request);

  // Ids of events that were annotated with a preference; call before AddEvent.
  void AddAnnotatedEvent(std::string event_id);
  void AddEvent(const EventFact& e);
  void AddJourneyEntry(const JourneyEntryFact& e);
  void AddOutboxAction(const OutboxFact& a);
  void AddHeldMessage(const HeldMessageFact& h);
  // Counts a moved deadline when the anchor held later than late_delivery_after after the
  // instance's first fact (once per instance).
  void AddAnchoredMessage(const AnchoredMessageFact& m);
  void AddCase(const CaseFact& c);
  void AddDisclosure(const DisclosureFact& d);
  void AddLeak(const LeakFact& l);
  void AddPrivacyRequestDone(const PrivacyRequestDone& r);
  void AddServiceRecord(const ServiceRecordFact& r);
  void SetProfiles(const ProfileCounts& counts, int64_t duplicates_found);
  // A mailing: one per mailing.sent event in the period (the caller computes each one's
  // counts for its segment), or the whole customer base when there was none.
  void AddMailing(std::string name, std::string segment, Time sent_at, const MailingCounts& c);
  void SetForecast(const ForecastRecall& recall);
  // Mailing.sent events seen by AddEvent in the period: (name, segment, occurred_at).
  const std::vector<EventFact>& mailings_sent() const { return mailings_sent_; }

  KpiReport Finish();

 private:
  bool InPeriod(Time t) const { return t >= request_.from && t < request_.to; }
  BucketRow* Row(Time t);
  void BadExperience(const std::string& person, Time at, std::string kind, std::string reason,
                     std::string ref);

  KpiRequest request_;
  KpiReport report_;
  std::set<std::string> annotated_;
  std::vector<EventFact> mailings_sent_;
  // Privacy requests by person, oldest first, waiting for their fulfilment.
  std::map<std::pair<std::string, std::string>, std::vector<Time>> open_requests_;
  std::vector<PrivacyRequestDone> done_requests_;
  std::set<std::string> moved_;  // instances whose deadline moved
  std::vector<Duration> resolution_times_;
  std::map<std::string, std::vector<Time>> repairs_by_asset_;
  std::set<std::string> outbox_keys_;
  // Per person: the latest bad experience, and the latest resolution of a case.
  std::map<std::string, AtRiskCustomer> worst_;
  std::map<std::string, Time> last_resolved_;
};

// A DurationStats of a list (sorted in place).
DurationStats Summarize(std::vector<Duration>& values);

}  // namespace rapport::analytics

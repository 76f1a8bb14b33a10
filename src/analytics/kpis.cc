#include "analytics/kpis.h"

#include <algorithm>

namespace rapport::analytics {

namespace {

constexpr Duration kDay = std::chrono::hours(24);
constexpr Duration kWeek = std::chrono::hours(24 * 7);

Duration BucketLength(Bucket b) { return b == Bucket::kDay ? kDay : kWeek; }

double Share(int64_t part, int64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

// A reason that was looked at but did not hold: the prerequisite that was missing.
bool MissingPrerequisite(const JourneyEntryFact& e) {
  for (const auto& r : e.reasons) {
    if ((r.role == "requires" || r.role == "anchor") && !r.held) return true;
  }
  return false;
}

}  // namespace

Result<Bucket> ParseBucket(std::string_view text) {
  if (text == "day" || text.empty()) return Bucket::kDay;
  if (text == "week") return Bucket::kWeek;
  return InvalidArgument("bucket must be day or week, got '" + std::string(text) + "'", "bucket");
}

std::string_view BucketName(Bucket b) { return b == Bucket::kDay ? "day" : "week"; }

std::string_view SeriesName(Series s) {
  switch (s) {
    case Series::kEvents:
      return "events";
    case Series::kOrders:
      return "orders";
    case Series::kMessagesSent:
      return "messages_sent";
    case Series::kMessagesHeldBack:
      return "messages_held_back";
    case Series::kCasesOpened:
      return "cases_opened";
    case Series::kHandovers:
      return "handovers";
    case Series::kCasesResolved:
      return "cases_resolved";
    case Series::kFeedbackCases:
      return "feedback_cases";
    case Series::kDisclosures:
      return "disclosures";
    case Series::kRefusals:
      return "refusals";
    case Series::kLeaks:
      return "leaks";
    case Series::kRepairs:
      return "repairs";
    case Series::kCount:
      break;
  }
  return "?";
}

Status ValidateRequest(const KpiRequest& r) {
  if (r.from >= r.to) return InvalidArgument("from must be before to", "from");
  if ((r.to - r.from) / BucketLength(r.bucket) > 400) {
    return InvalidArgument("the period has more than 400 " + std::string(BucketName(r.bucket)) +
                               " buckets; choose a shorter period or bucket=week",
                           "to");
  }
  if (r.letter_price < 0) return InvalidArgument("must not be negative", "letter_price");
  return OkStatus();
}

Time BucketStart(Time t, Bucket bucket) {
  auto day = std::chrono::floor<std::chrono::days>(t);
  if (bucket == Bucket::kDay) return Time(day);
  std::chrono::weekday wd{day};
  // Monday-based weeks: Monday is c_encoding 1, Sunday 0.
  int since_monday = (static_cast<int>(wd.c_encoding()) + 6) % 7;
  return Time(day - std::chrono::days(since_monday));
}

DurationStats Summarize(std::vector<Duration>& values) {
  DurationStats s;
  s.count = static_cast<int64_t>(values.size());
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.median = values[(values.size() - 1) / 2];
  s.p90 = values[std::min(values.size() - 1, (values.size() * 9) / 10)];
  return s;
}

KpiAccumulator::KpiAccumulator(KpiRequest request) : request_(request) {
  report_.request = request;
  for (Time t = BucketStart(request.from, request.bucket); t < request.to;
       t += BucketLength(request.bucket)) {
    report_.buckets.push_back({t, {}});
  }
}

BucketRow* KpiAccumulator::Row(Time t) {
  if (!InPeriod(t) || report_.buckets.empty()) return nullptr;
  auto i = (BucketStart(t, request_.bucket) - report_.buckets.front().start) /
           BucketLength(request_.bucket);
  if (i < 0 || i >= static_cast<int64_t>(report_.buckets.size())) return nullptr;
  return &report_.buckets[static_cast<size_t>(i)];
}

void KpiAccumulator::BadExperience(const std::string& person, Time at, std::string kind,
                                   std::string reason, std::string ref) {
  if (person.empty() || at >= request_.to || at < request_.to - request_.at_risk_window) return;
  auto it = worst_.find(person);
  if (it != worst_.end() && it->second.at > at) return;
  worst_[person] = {person, std::move(reason), std::move(kind), at, std::move(ref)};
}

void KpiAccumulator::AddAnnotatedEvent(std::string event_id) {
  annotated_.insert(std::move(event_id));
}

void KpiAccumulator::AddEvent(const EventFact& e) {
  if (e.type == "privacy.request" && !e.person.empty()) {
    open_requests_[{e.person, e.request_kind}].push_back(e.occurred_at);
  }
  if (e.rating && *e.rating <= request_.negative_rating_at_or_below) {
    BadExperience(e.person, e.occurred_at, "low-rating",
                  "rated " + std::to_string(*e.rating) + "/" +
                      std::to_string(request_.rating_scale) + " (" + e.type + ")",
                  e.id);
  }
  BucketRow* row = Row(e.occurred_at);
  if (!row) return;
  ++(*row)[Series::kEvents];
  if (e.type == "order.placed") ++(*row)[Series::kOrders];
  if (annotated_.count(e.id)) ++report_.s5.preferences_applied;
  if (e.type == "mailing.sent") mailings_sent_.push_back(e);
}

void KpiAccumulator::AddJourneyEntry(const JourneyEntryFact& e) {
  if (e.kind == "late" && InPeriod(e.at)) ++report_.s1.asked_after_done;
  if (e.kind != "skipped" || !InPeriod(e.at)) return;
  if (MissingPrerequisite(e)) {
    ++report_.s1.held_back;
    if (BucketRow* row = Row(e.at)) ++(*row)[Series::kMessagesHeldBack];
  } else {
    // Everything it needed held, yet it was not sent: it came due while nobody processed it
    // and expired (invariant 6 of journey/instance.h), or the customer was done already.
    bool done_already = false;
    for (const auto& r : e.reasons) done_already = done_already || (r.role == "unless" && r.held);
    if (!done_already) ++report_.s1.broken_promises;
  }
}

void KpiAccumulator::AddHeldMessage(const HeldMessageFact& h) {
  if (!InPeriod(h.started_at)) return;
  ++report_.s1.held_back;
  ++(*Row(h.started_at))[Series::kMessagesHeldBack];
}

void KpiAccumulator::AddAnchoredMessage(const AnchoredMessageFact& m) {
  if (!InPeriod(m.anchor_at) || m.anchor_at - m.first_fact_at <= request_.late_delivery_after) {
    return;
  }
  if (moved_.insert(m.instance).second) ++report_.s1.deadlines_moved;
}

void KpiAccumulator::AddOutboxAction(const OutboxFact& a) {
  bool first = outbox_keys_.insert(a.idempotency_key).second;
  if (a.kind != "message" || a.audience != "customer" || !InPeriod(a.created_at)) return;
  ++report_.s1.messages_sent;
  if (BucketRow* row = Row(a.created_at)) ++(*row)[Series::kMessagesSent];
  if (!first) {
    ++report_.s1.duplicates;
    BadExperience(a.person, a.created_at, "duplicate-message", "received '" + a.action + "' twice",
                  a.idempotency_key);
  }
  for (const auto& r : a.reasons) {
    // What the message asks for was not possible yet when it was sent.
    bool before = !r.held || (r.since && *r.since > a.created_at);
    if ((r.role == "requires" || r.role == "anchor") && before) {
      ++report_.s1.premature;
      BadExperience(a.person, a.created_at, "premature-message",
                    "was sent '" + a.action + "' before " + r.fact, a.idempotency_key);
      break;
    }
  }
}

void KpiAccumulator::AddCase(const CaseFact& c) {
  if (c.resolved_at) {
    auto& last = last_resolved_[c.person];
    last = std::max(last, *c.resolved_at);
  }
  if (c.breached) {
    BadExperience(c.person, c.first_contact_due.value_or(c.opened_at), "sla-breached",
                  "waited past the SLA on case " + c.id + " (" + c.type + ")", c.id);
  }
  if (c.asked_twice > 0) {
    BadExperience(c.person, c.opened_at, "asked-twice",
                  "was asked the same thing twice on case " + c.id, c.id);
  }
  if (InPeriod(c.opened_at)) {
    BucketRow* row = Row(c.opened_at);
    ++report_.s3.cases_opened;
    ++(*row)[Series::kCasesOpened];
    report_.s3.handovers += c.handovers;
    (*row)[Series::kHandovers] += c.handovers;
    report_.s3.asked_twice += c.asked_twice;
    bool feedback = c.type == "feedback" || c.source_kind == "event";
    if (feedback) {
      ++report_.s5.feedback_cases;
      ++(*row)[Series::kFeedbackCases];
    }
    if (c.has_first_contact_sla && (c.first_contact_met_at || c.breached)) {
      ++report_.s5.first_contact_slas;
      if (c.first_contact_met_at &&
          (!c.first_contact_due || *c.first_contact_met_at <= *c.first_contact_due)) {
        ++report_.s5.first_contact_within_sla;
      }
    }
  }
  if (c.resolved_at && InPeriod(*c.resolved_at)) {
    ++report_.s3.resolved;
    if (BucketRow* row = Row(*c.resolved_at)) ++(*row)[Series::kCasesResolved];
    if (c.handovers == 0) ++report_.s3.resolved_first_contact;
    resolution_times_.push_back(*c.resolved_at - c.opened_at);
  }
}

void KpiAccumulator::AddDisclosure(const DisclosureFact& d) {
  if (!InPeriod(d.at)) return;
  auto& r = report_.s4.recipients[d.recipient];
  BucketRow* row = Row(d.at);
  if (d.allowed) {
    ++r.disclosed;
    ++(*row)[Series::kDisclosures];
  } else {
    ++r.refused;
    ++(*row)[Series::kRefusals];
  }
}

void KpiAccumulator::AddLeak(const LeakFact& l) {
  if (!InPeriod(l.found_at)) return;
  ++report_.s4.recipients[l.recipient].leaks;
  ++(*Row(l.found_at))[Series::kLeaks];
}

void KpiAccumulator::AddPrivacyRequestDone(const PrivacyRequestDone& r) {
  done_requests_.push_back(r);
}

void KpiAccumulator::AddServiceRecord(const ServiceRecordFact& r) {
  if (r.kind != "repair") return;
  repairs_by_asset_[r.asset].push_back(r.date);
}

void KpiAccumulator::SetProfiles(const ProfileCounts& counts, int64_t duplicates_found) {
  report_.s2.profiles = counts;
  report_.s2.duplicates_found = duplicates_found;
}

void KpiAccumulator::AddMailing(std::string name, std::string segment, Time sent_at,
                                const MailingCounts& c) {
  MailingFigures m;
  m.name = std::move(name);
  m.segment = std::move(segment);
  m.sent_at = sent_at;
  m.counts = c;
  // One letter per household instead of one per source customer with an address.
  m.letters_avoided = std::max<int64_t>(0, c.source_customers - c.without_address - c.households);
  m.cost_avoided = static_cast<double>(m.letters_avoided) * request_.letter_price;
  report_.s2.letters_avoided += m.letters_avoided;
  report_.s2.cost_avoided += m.cost_avoided;
  report_.s2.mailings.push_back(std::move(m));
}

void KpiAccumulator::SetForecast(const ForecastRecall& recall) { report_.s6.forecast = recall; }

KpiReport KpiAccumulator::Finish() {
  // S3: time to resolution and first-contact resolution.
  report_.s3.time_to_resolution = Summarize(resolution_times_);
  report_.s3.first_contact_resolution =
      Share(report_.s3.resolved_first_contact, report_.s3.resolved);
  report_.s5.first_contact_within_sla_rate =
      Share(report_.s5.first_contact_within_sla, report_.s5.first_contact_slas);
  // S4: each fulfilment answers the oldest open request of its kind by that person.
  std::sort(done_requests_.begin(), done_requests_.end(),
            [](const auto& a, const auto& b) { return a.at < b.at; });
  std::vector<Duration> access, erasure;
  for (const auto& d : done_requests_) {
    if (!InPeriod(d.at)) continue;
    (d.kind == "access" ? report_.s4.access_reports : report_.s4.erasures)++;
    auto it = open_requests_.find({d.person, d.kind});
    if (it == open_requests_.end()) continue;
    auto& times = it->second;
    std::sort(times.begin(), times.end());
    auto req = std::find_if(times.begin(), times.end(), [&](Time t) { return t <= d.at; });
    if (req == times.end()) continue;
    (d.kind == "access" ? access : erasure).push_back(d.at - *req);
    times.erase(req);
  }
  report_.s4.access_report_duration = Summarize(access);
  report_.s4.erasure_duration = Summarize(erasure);
  // S6: a repair in the period is fixed the first time when no repair of the same appliance
  // follows within the window.
  for (auto& [asset, dates] : repairs_by_asset_) {
    std::sort(dates.begin(), dates.end());
    for (size_t i = 0; i < dates.size(); ++i) {
      if (!InPeriod(dates[i])) continue;
      ++report_.s6.repairs;
      if (BucketRow* row = Row(dates[i])) ++(*row)[Series::kRepairs];
      bool again =
          i + 1 < dates.size() && dates[i + 1] - dates[i] <= request_.first_time_fix_window;
      if (!again) ++report_.s6.fixed_first_time;
    }
  }
  report_.s6.first_time_fix_rate = Share(report_.s6.fixed_first_time, report_.s6.repairs);
  // At risk: the latest bad experience with no case of theirs resolved after it.
  for (auto& [person, risk] : worst_) {
    auto resolved = last_resolved_.find(person);
    if (resolved != last_resolved_.end() && resolved->second >= risk.at) continue;
    report_.at_risk.push_back(risk);
  }
  std::sort(report_.at_risk.begin(), report_.at_risk.end(), [](const auto& a, const auto& b) {
    return a.at != b.at ? a.at > b.at : a.person < b.person;
  });
  return std::move(report_);
}

}  // namespace rapport::analytics

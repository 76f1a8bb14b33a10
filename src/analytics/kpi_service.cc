#include "analytics/kpi_service.h"

#include <algorithm>
#include <unordered_map>

#include "cases/rules.h"
#include "journey/definition.h"

namespace rapport::analytics {

namespace {

constexpr int kPage = 1000;

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<Time> TimeOf(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  auto t = ParseTime(it->get<std::string>());
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::vector<ReasonFact> Reasons(const Json& j) {
  std::vector<ReasonFact> out;
  auto it = j.find("reasons");
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& r : *it) {
    out.push_back({Str(r, "role"), Str(r, "fact"), r.value("held", false), TimeOf(r, "since")});
  }
  return out;
}

// Calls `fn(line)` for every line of a log stream, in order.
template <typename Fn>
Status ForEachLogLine(store::Store& store, std::string_view stream, Fn&& fn) {
  int64_t after = 0;
  for (;;) {
    ASSIGN_OR_RETURN(auto lines, store.ReadLog(stream, "", after, kPage));
    for (const auto& l : lines) RETURN_IF_ERROR(fn(l));
    if (lines.size() < static_cast<size_t>(kPage)) return OkStatus();
    after = lines.back().seq;
  }
}

// Calls `fn(document)` for every document of a kind, in id order.
template <typename Fn>
Status ForEachDocument(store::Store& store, std::string_view kind, Fn&& fn) {
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kind, "", after, kPage));
    for (const auto& d : docs) RETURN_IF_ERROR(fn(d));
    if (docs.size() < static_cast<size_t>(kPage)) return OkStatus();
    after = docs.back().id;
  }
}

// Event subjects to person ids through profiles' resolver (README "Subjects"), remembered for
// one computation; a subject that names nobody counts for no person.
class PersonResolver {
 public:
  explicit PersonResolver(profiles::SubjectResolver& resolver) : resolver_(resolver) {}

  std::string Resolve(const std::string& subject) {
    if (subject.empty()) return "";
    auto [it, fresh] = cache_.try_emplace(subject);
    if (!fresh) return it->second;
    auto resolved = resolver_.ResolveSubject(subject);
    // A person id profiles no longer knows (erased) still stands for one customer, as before.
    if (resolved.ok()) {
      it->second = resolved->person;
    } else if (subject.rfind("per_", 0) == 0) {
      it->second = subject;
    }
    return it->second;
  }

 private:
  profiles::SubjectResolver& resolver_;
  std::unordered_map<std::string, std::string> cache_;
};

}  // namespace

KpiService::KpiService(store::Store& store, profiles::ProfileService& profiles,
                       service::ServiceNetwork& service, privacy::AuditLog& audit,
                       cases::FeedbackRules feedback)
    : store_(store),
      profiles_(profiles),
      service_(service),
      audit_(audit),
      feedback_(std::move(feedback)) {}

Result<KpiReport> KpiService::Compute(const KpiRequest& asked) {
  RETURN_IF_ERROR(ValidateRequest(asked));
  KpiRequest request = asked;
  request.rating_scale = feedback_.scale;
  request.negative_rating_at_or_below = feedback_.negative_at_or_below;
  KpiAccumulator acc(request);
  // The events the cases config reads as feedback; without a config, any event that carries a
  // rating field.
  auto IsFeedback = [&](const std::string& type) {
    return feedback_.event_types.empty() ||
           std::any_of(feedback_.event_types.begin(), feedback_.event_types.end(),
                       [&](const std::string& p) { return cases::EventTypeMatches(p, type); });
  };
  PersonResolver persons(profiles_);

  // Annotations first: AddEvent counts the orders that carried a preference.
  RETURN_IF_ERROR(ForEachDocument(store_, "case-annotation", [&](const store::Document& d) {
    acc.AddAnnotatedEvent(d.id);
    return OkStatus();
  }));

  // The event log.
  store::EventQuery q;
  q.limit = kPage;
  // Only these types' payloads are read: the rest of a long log is counted by type and time.
  const bool patterns =
      std::any_of(feedback_.event_types.begin(), feedback_.event_types.end(),
                  [](const std::string& t) { return t.find('*') != std::string::npos; });
  if (!feedback_.event_types.empty() && !patterns) {
    q.heads_only = true;
    q.contents_of = feedback_.event_types;
    q.contents_of.insert(q.contents_of.end(), {"mailing.sent", "privacy.request"});
  }
  for (;;) {
    ASSIGN_OR_RETURN(auto page, store_.ListEvents(q));
    for (const auto& e : page.events) {
      EventFact f{e.id, e.type, "", e.occurred_at, std::nullopt, "", "", ""};
      if (e.payload.is_object()) {
        if (IsFeedback(e.type)) f.rating = cases::ReadFeedback(feedback_, e.payload).rating;
        if (e.type == "mailing.sent") {
          f.segment = Str(e.payload, "segment");
          f.mailing = Str(e.payload, "name");
        }
        if (e.type == "privacy.request") f.request_kind = Str(e.payload, "kind");
      }
      // Only what needs the person pays for resolving the subject.
      if (f.rating || e.type == "privacy.request") f.person = persons.Resolve(e.subject);
      acc.AddEvent(f);
    }
    if (page.next_after == 0) break;
    q.after = page.next_after;
  }

  // Journeys: timelines and delivered actions.
  RETURN_IF_ERROR(ForEachLogLine(store_, "journey-timeline", [&](const store::LogLine& l) {
    auto j = ParseJson(l.body);
    if (!j.ok()) return OkStatus();  // an entry no reader understands is not a figure
    acc.AddJourneyEntry({l.key, Str(*j, "kind"), Str(*j, "subject"),
                         TimeOf(*j, "at").value_or(l.at), TimeOf(*j, "occurred_at"), Reasons(*j)});
    return OkStatus();
  }));
  RETURN_IF_ERROR(ForEachLogLine(store_, "outbox", [&](const store::LogLine& l) {
    auto j = ParseJson(l.body);
    if (!j.ok()) return OkStatus();
    acc.AddOutboxAction({Str(*j, "idempotency_key"),
                         Str(*j, "journey") + "/" + Str(*j, "instance_key"), Str(*j, "action"),
                         Str(*j, "kind"), Str(*j, "audience"), persons.Resolve(Str(*j, "subject")),
                         TimeOf(*j, "created_at").value_or(l.at), Reasons(*j)});
    return OkStatus();
  }));

  // Messages held back: read from each instance's state with its definition.
  std::unordered_map<std::string, journey::DefinitionPtr> definitions;
  auto definition = [&](const std::string& id) -> journey::DefinitionPtr {
    auto [it, fresh] = definitions.try_emplace(id);
    if (!fresh) return it->second;
    auto doc = store_.GetDocument("journey-definition", id);
    if (!doc.ok() || !*doc) return nullptr;
    auto stored = ParseJson((*doc)->body);
    if (!stored.ok()) return nullptr;
    auto def = journey::LoadDefinition(stored->value("text", ""), id);
    if (def.ok()) it->second = *def;
    return it->second;
  };
  RETURN_IF_ERROR(ForEachDocument(store_, "journey-instance", [&](const store::Document& d) {
    auto j = ParseJson(d.body);
    if (!j.ok() || !j->contains("state")) return OkStatus();
    const Json& state = (*j)["state"];
    std::string name = d.id.substr(0, d.id.find('/'));
    auto def = definition(name + "@" + std::to_string(j->value("version", 0)));
    if (!def) return OkStatus();
    const Json facts = state.value("facts", Json::object());
    const Json actions = state.value("actions", Json::object());
    auto holds = [&](journey::FactId f) { return facts.contains(def->facts()[f].name); };
    auto fact_at = [&](journey::FactId f) { return TimeOf(facts[def->facts()[f].name], "at"); };
    std::optional<Time> first;
    for (const auto& [name, f] : facts.items()) {
      auto t = TimeOf(f, "at");
      if (t && (!first || *t < *first)) first = t;
    }
    for (const auto& a : def->actions()) {
      if (a.kind != journey::ActionKind::kMessage || a.audience != journey::Audience::kCustomer) {
        continue;
      }
      std::vector<journey::FactId> anchors;
      if (a.after) anchors.push_back(a.after->fact);
      for (const auto& p : a.params) {
        if (p.date) anchors.push_back(p.date->fact);
      }
      for (journey::FactId f : anchors) {
        if (f == journey::kNoFact || !holds(f) || !first) continue;
        if (auto t = fact_at(f)) acc.AddAnchoredMessage({d.id, a.name, *first, *t});
      }
    }
    for (const auto& a : def->actions()) {
      if (a.kind != journey::ActionKind::kMessage || a.audience != journey::Audience::kCustomer ||
          a.asks_customer_to == journey::kNoFact || holds(a.asks_customer_to)) {
        continue;
      }
      if (actions.contains(a.name) && actions[a.name].value("fired", 0) > 0) continue;
      for (journey::FactId f : a.required) {
        if (holds(f)) continue;
        acc.AddHeldMessage(
            {d.id, a.name, def->facts()[f].name, TimeOf(state, "started_at").value_or(Time{})});
        break;
      }
    }
    return OkStatus();
  }));

  // Cases: the document for who and what, the timeline for handovers and resolution.
  std::unordered_map<std::string, std::pair<int, std::optional<Time>>> timeline;
  RETURN_IF_ERROR(ForEachLogLine(store_, "case-timeline", [&](const store::LogLine& l) {
    auto j = ParseJson(l.body);
    if (!j.ok()) return OkStatus();
    std::string kind = Str(*j, "kind");
    auto& [handovers, resolved] = timeline[l.key];
    if (kind == "handover" || kind == "escalated") ++handovers;
    std::string to = Str(*j, "to");
    if (kind == "state" && !resolved && (to == "resolved" || to == "closed")) {
      resolved = TimeOf(*j, "at").value_or(l.at);
    }
    return OkStatus();
  }));
  RETURN_IF_ERROR(ForEachDocument(store_, "case", [&](const store::Document& d) {
    auto j = ParseJson(d.body);
    if (!j.ok()) return OkStatus();
    CaseFact c;
    c.id = d.id;
    c.person = Str(*j, "person");
    c.type = Str(*j, "type");
    c.team = Str(*j, "team");
    c.source_kind = j->contains("source") ? Str((*j)["source"], "kind") : "";
    c.opened_at = TimeOf(*j, "opened_at").value_or(Time{});
    c.asked_twice = j->value("repeats", 0);
    const auto& t = timeline[d.id];
    c.handovers = t.first;
    c.resolved_at = t.second;
    if (auto s = j->find("sla"); s != j->end() && s->is_array()) {
      for (const auto& sla : *s) {
        bool breached = sla.contains("breached_at") && !sla["breached_at"].is_null();
        c.breached = c.breached || breached;
        if (Str(sla, "name") == "first_contact") {
          c.has_first_contact_sla = true;
          c.first_contact_met_at = TimeOf(sla, "met_at");
          c.first_contact_due = TimeOf(sla, "due");
        }
      }
    }
    acc.AddCase(c);
    return OkStatus();
  }));

  // Privacy: the disclosure register, leak findings, and what the audit log says was done.
  RETURN_IF_ERROR(ForEachDocument(store_, "privacy-disclosure", [&](const store::Document& d) {
    auto j = ParseJson(d.body);
    if (!j.ok()) return OkStatus();
    acc.AddDisclosure(
        {Str(*j, "recipient"), j->value("allowed", false), TimeOf(*j, "at").value_or(Time{})});
    return OkStatus();
  }));
  RETURN_IF_ERROR(ForEachDocument(store_, "privacy-leak", [&](const store::Document& d) {
    auto j = ParseJson(d.body);
    if (!j.ok()) return OkStatus();
    acc.AddLeak({Str(*j, "recipient"), Str(*j, "person"), TimeOf(*j, "found_at").value_or(Time{})});
    return OkStatus();
  }));
  int64_t after = 0;
  for (;;) {
    ASSIGN_OR_RETURN(auto entries, audit_.List("", after, kPage));
    for (const auto& r : entries) {
      if (r.entry.action == "person.access_report") {
        acc.AddPrivacyRequestDone({"access", r.entry.subject, r.at});
      } else if (r.entry.action == "erasure") {
        acc.AddPrivacyRequestDone({"erasure", r.entry.subject, r.at});
      }
    }
    if (entries.size() < static_cast<size_t>(kPage)) break;
    after = entries.back().seq;
  }

  // Service: repairs, and the forecast measured on the repairs from the period's start on.
  RETURN_IF_ERROR(ForEachDocument(store_, "svc-record", [&](const store::Document& d) {
    auto j = ParseJson(d.body);
    if (!j.ok()) return OkStatus();
    acc.AddServiceRecord({Str(*j, "asset"), Str(*j, "kind"), TimeOf(*j, "date").value_or(Time{})});
    return OkStatus();
  }));
  if (auto eval = service_.EvaluateStored(request.from); eval.ok()) {
    acc.SetForecast(
        {eval->forecast.top3, eval->forecast.top1, static_cast<int64_t>(eval->test_repairs)});
  }  // else: no repairs on one side of the period's start, nothing to measure

  // Profiles: counts now, and each mailing of the period (or the whole base) by household.
  ASSIGN_OR_RETURN(auto stats, store_.Stats());
  ASSIGN_OR_RETURN(size_t person_count, profiles_.PersonCount());
  ASSIGN_OR_RETURN(auto all, profiles_.Mailing(""));
  auto counts = [](const profiles::MailingSummary& m) {
    return MailingCounts{static_cast<int64_t>(m.records), static_cast<int64_t>(m.persons),
                         static_cast<int64_t>(m.households),
                         static_cast<int64_t>(m.without_address)};
  };
  int64_t persons_n = static_cast<int64_t>(person_count);
  acc.SetProfiles({stats.records, persons_n, static_cast<int64_t>(all.households)},
                  std::max<int64_t>(0, static_cast<int64_t>(all.records) - persons_n));
  if (acc.mailings_sent().empty()) {
    acc.AddMailing("all customers", "", request.to, counts(all));
  } else {
    for (const auto& m : acc.mailings_sent()) {
      auto summary = profiles_.Mailing(m.segment);
      if (!summary.ok()) return summary.status().WithContext("mailing " + m.id);
      acc.AddMailing(m.mailing.empty() ? m.id : m.mailing, m.segment, m.occurred_at,
                     counts(*summary));
    }
  }
  return acc.Finish();
}

}  // namespace rapport::analytics

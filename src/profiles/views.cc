// Views: the golden record, address, household and customer-360 JSON of a person, with the
// recent events found through an in-memory index of event values.
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::DisplayName;
using internal::kAuditStream;
using internal::ReviewToJson;

namespace {

constexpr size_t kEventsPerValue = 50;

Json FieldsToObject(const Fields& f) {
  Json o = Json::object();
  for (const auto& [n, v] : f) o[n] = v;
  return o;
}

}  // namespace

std::string internal::DisplayName(const std::map<std::string, GoldenValue>& g) {
  std::string name;
  if (auto it = g.find("given_name"); it != g.end()) name = it->second.value;
  if (auto it = g.find("surname"); it != g.end()) {
    name += (name.empty() ? "" : " ") + it->second.value;
  }
  return name;
}

std::map<std::string, GoldenValue> ProfileService::Impl::Golden(const Person& p) const {
  std::vector<RecordView> views;
  for (const auto& m : p.records) views.push_back({m.id, m.source, m.received_at, &m.canon});
  return GoldenRecord(views, options.golden);
}

Addressee ProfileService::Impl::AddresseeOf(const Person& p) const {
  auto g = Golden(p);
  Addressee a;
  if (auto it = g.find("given_name"); it != g.end()) a.given_name = it->second.value;
  if (auto it = g.find("surname"); it != g.end()) a.surname = it->second.value;
  return a;
}

Json ProfileService::Impl::AddressJson(const Person& p) const {
  Json j = Json::object();
  if (const Member* m = AddressRecord(p)) {
    for (const char* f : {"street", "house_number", "address_extra", "postcode", "city"}) {
      if (const auto* v = FindField(m->canon, f)) j[f] = *v;
    }
    j["record"] = m->id;
  }
  return j;
}

Json ProfileService::Impl::HouseholdJson(const Household& h) const {
  Json members = Json::array();
  std::vector<Addressee> names;
  const Person* first = nullptr;
  for (const auto& id : h.members) {
    auto it = persons.find(id);
    if (it == persons.end()) continue;
    if (!first) first = &it->second;
    names.push_back(AddresseeOf(it->second));
    members.push_back({{"id", id}, {"name", DisplayName(Golden(it->second))}});
  }
  return {{"id", h.id},
          {"salutation", Salutation(names)},
          {"address", first ? AddressJson(*first) : Json::object()},
          {"members", members}};
}

Status ProfileService::Impl::CatchUpEvents() {
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ListEvents({.after = event_cursor, .limit = 1000}));
    for (const auto& e : page.events) {
      auto note = [&](const std::string& v) {
        if (v.empty()) return;
        auto& q = events_by_value[v];
        q.emplace_back(e.seq, e.id);
        if (q.size() > kEventsPerValue) q.pop_front();
      };
      note(e.subject);
      for (const auto& key : ContactKeys(e.subject)) note(key);
      for (const auto& [k, v] : e.keys) {
        if (v != e.subject) note(v);
      }
      if (!e.subject.empty()) {
        SubjectSeen& seen = event_subjects[e.subject];
        if (seen.events++ == 0) seen.first_event = e.id;
        seen.last_event = e.id;
      }
      event_cursor = std::max(event_cursor, e.seq);
    }
    if (page.next_after == 0 || page.events.empty()) return OkStatus();
  }
}

Result<Json> ProfileService::Impl::PersonView(const Person& resident, int events_limit) {
  ASSIGN_OR_RETURN(Person p, Hydrated(resident));  // the records' fields and links
  Json j = {{"id", p.id},
            {"created_at", FormatTime(p.created_at)},
            {"updated_at", FormatTime(p.updated_at)},
            {"golden", GoldenToJson(Golden(p))},
            {"address", AddressJson(p)}};
  Json recs = Json::array();
  // Every value an event may name this person by (the forms ResolveSubject accepts): its id
  // and the ids merged into it, each record's id, "source:key" and bare key, and the contact
  // keys of its records' e-mail addresses and phone numbers.
  std::set<std::string> values = {p.id};
  for (auto& merged : MergedInto(p.id)) values.insert(std::move(merged));
  for (const auto& m : p.records) {
    values.insert(m.id);
    values.insert(m.source + ":" + m.source_key);
    for (auto& key : internal::SearchKeys(m.canon)) {
      if (key.rfind("e:", 0) == 0 || key.rfind("n:", 0) == 0) values.insert(std::move(key));
    }
    recs.push_back({{"id", m.id},
                    {"source", m.source},
                    {"source_key", m.source_key},
                    {"received_at", FormatTime(m.received_at)},
                    {"fields", FieldsToObject(m.raw)},
                    {"link", Json::parse(m.link)}});
    // A bare key names this person only when no other person has it (README "Subjects").
    if (auto by_key = ResolveSubject(m.source_key); by_key.ok() && by_key->person == p.id) {
      values.insert(m.source_key);
    }
  }
  j["records"] = recs;
  if (auto it = households.find(p.household); it != households.end()) {
    j["household"] = HouseholdJson(it->second);
  } else {
    j["household"] = nullptr;
  }
  Json open = Json::array();
  std::set<std::string> seen_reviews;
  for (const auto& m : p.records) {
    auto it = reviews_of_record.find(m.id);
    if (it == reviews_of_record.end()) continue;
    for (const auto& rid : it->second) {
      auto r = reviews.find(rid);
      if (r != reviews.end() && r->second.status == "open" && seen_reviews.insert(rid).second) {
        open.push_back(ReviewToJson(r->second));
      }
    }
  }
  j["reviews"] = open;
  RETURN_IF_ERROR(CatchUpEvents());
  std::vector<std::pair<int64_t, std::string>> evs;
  for (const auto& v : values) {
    if (auto it = events_by_value.find(v); it != events_by_value.end()) {
      evs.insert(evs.end(), it->second.begin(), it->second.end());
    }
  }
  std::sort(evs.rbegin(), evs.rend());
  evs.erase(std::unique(evs.begin(), evs.end()), evs.end());
  Json events = Json::array();
  for (const auto& [seq, eid] : evs) {
    if (static_cast<int>(events.size()) >= events_limit) break;
    ASSIGN_OR_RETURN(Event e, store.GetEvent(eid));
    events.push_back(EventToJson(e));
  }
  j["events"] = events;
  ASSIGN_OR_RETURN(auto lines, store.ReadLog(kAuditStream, p.id, 0, 200));
  Json audit = Json::array();
  for (const auto& l : lines) {
    auto body = ParseJson(l.body);
    audit.push_back(body.ok() ? *body : Json(l.body));
  }
  j["audit"] = audit;
  return j;
}

}  // namespace rapport::profiles

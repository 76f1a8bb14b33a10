// Lookups through the open transaction: a decision reads its own staged changes first, then
// memory; and the small steps (audit line, label) every decision stages.
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::kAuditStream;

std::string ProfileService::Impl::ResolveId(std::string id) const {
  for (int hops = 0; hops < 100; ++hops) {
    auto it = redirects.find(id);
    if (it == redirects.end()) return id;
    id = it->second;
  }
  return id;
}

std::vector<std::string> ProfileService::Impl::MergedInto(const std::string& current) const {
  std::vector<std::string> merged;
  std::vector<std::string> pending = {current};
  std::set<std::string> seen = {current};
  while (!pending.empty()) {
    std::string to = std::move(pending.back());
    pending.pop_back();
    auto it = merged_into.find(to);
    if (it == merged_into.end()) continue;
    for (const auto& from : it->second) {
      if (!seen.insert(from).second) continue;
      merged.push_back(from);
      pending.push_back(from);
    }
  }
  std::sort(merged.begin(), merged.end());
  return merged;
}

const internal::Person* ProfileService::Impl::Peek(const Txn& t, const std::string& id) const {
  if (t.deleted_persons.count(id)) return nullptr;
  if (auto it = t.persons.find(id); it != t.persons.end()) return &it->second;
  auto it = persons.find(id);
  return it == persons.end() ? nullptr : &it->second;
}

internal::Person& ProfileService::Impl::Touch(Txn& t, const std::string& id) {
  auto it = t.persons.find(id);
  if (it != t.persons.end()) return it->second;
  return t.persons.emplace(id, persons.at(id)).first->second;
}

std::string ProfileService::Impl::PersonOf(const Txn& t, const std::string& record) const {
  if (auto it = t.record_person.find(record); it != t.record_person.end()) return it->second;
  auto it = record_person.find(record);
  return it == record_person.end() ? std::string() : it->second;
}

const internal::Household* ProfileService::Impl::PeekHousehold(const Txn& t,
                                                               const std::string& id) const {
  if (t.deleted_households.count(id)) return nullptr;
  if (auto it = t.households.find(id); it != t.households.end()) return &it->second;
  auto it = households.find(id);
  return it == households.end() ? nullptr : &it->second;
}

internal::Household& ProfileService::Impl::TouchHousehold(Txn& t, const std::string& id) {
  auto it = t.households.find(id);
  if (it != t.households.end()) return it->second;
  return t.households.emplace(id, households.at(id)).first->second;
}

std::string ProfileService::Impl::LabelOf(const Txn& t, const std::string& a,
                                          const std::string& b) const {
  for (auto it = t.labels.rbegin(); it != t.labels.rend(); ++it) {
    if ((it->a == a && it->b == b) || (it->a == b && it->b == a)) return it->decision;
  }
  auto it = labels.find(a);
  if (it == labels.end()) return {};
  auto jt = it->second.find(b);
  return jt == it->second.end() ? std::string() : jt->second;
}

bool ProfileService::Impl::Distinct(const Txn& t, const std::string& p,
                                    const std::string& q) const {
  const Person* pp = Peek(t, p);
  if (!pp) return false;
  for (const auto& m : pp->records) {
    if (auto it = labels.find(m.id); it != labels.end()) {
      for (const auto& [other, dec] : it->second) {
        if (dec == "distinct" && PersonOf(t, other) == q) return true;
      }
    }
  }
  for (const auto& l : t.labels) {
    if (l.decision != "distinct") continue;
    std::string pa = PersonOf(t, l.a), pb = PersonOf(t, l.b);
    if ((pa == p && pb == q) || (pa == q && pb == p)) return true;
  }
  return false;
}

std::string ProfileService::Impl::Now() const { return FormatTime(clock.Now()); }

std::string ProfileService::Impl::RecordOwner(const std::string& record) const {
  auto it = record_person.find(record);
  return it == record_person.end() ? std::string() : it->second;
}

void ProfileService::Impl::Audit(Txn& t, const std::string& person, Json body) {
  body["at"] = Now();
  t.logs.push_back({kAuditStream, person, body.dump(), clock.Now(), 0});
}

void ProfileService::Impl::AddLabel(Txn& t, const std::string& a, const std::string& b,
                                    const std::string& decision, const Actor& by,
                                    const std::string& reason) {
  Json body = {{"a", std::min(a, b)}, {"b", std::max(a, b)}, {"decision", decision},
               {"by", by.name},       {"by_kind", by.kind},  {"reason", reason},
               {"at", Now()}};
  t.labels.push_back({a, b, decision, std::move(body)});
}

}  // namespace rapport::profiles

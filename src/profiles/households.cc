// Households: a person lives at its most recent usable address and joins a household there
// when a member shares a surname; otherwise it starts its own.
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

const internal::Member* ProfileService::Impl::AddressRecord(const Person& p) const {
  const Member* best = nullptr;
  for (const auto& m : p.records) {
    if (HouseholdKey(m.canon).empty()) continue;
    if (!best || m.received_at > best->received_at ||
        (m.received_at == best->received_at && m.id > best->id)) {
      best = &m;
    }
  }
  return best;
}

std::set<std::string> ProfileService::Impl::Surnames(const Person& p) const {
  std::set<std::string> s;
  for (const auto& m : p.records) {
    if (const auto* v = FindField(m.canon, "surname")) {
      std::string k = SurnameKey(*v);
      if (!k.empty()) s.insert(k);
    }
  }
  return s;
}

void ProfileService::Impl::LeaveHousehold(Txn& t, Person& p) {
  if (p.household.empty()) return;
  if (PeekHousehold(t, p.household)) {
    Household& h = TouchHousehold(t, p.household);
    std::erase(h.members, p.id);
    if (h.members.empty()) {
      t.deleted_households.insert(h.id);
      t.households.erase(h.id);
    }
  }
  p.household.clear();
}

std::vector<std::string> ProfileService::Impl::HouseholdsAt(const Txn& t,
                                                            const std::string& key) const {
  std::vector<std::string> out;
  if (auto it = households_at.find(key); it != households_at.end()) {
    for (const auto& id : it->second) {
      const Household* h = PeekHousehold(t, id);
      if (h && h->key == key) out.push_back(id);
    }
  }
  for (const auto& [id, h] : t.households) {
    if (h.key == key && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ProfileService::Impl::AssignHousehold(Txn& t, const std::string& person_id) {
  Person& p = Touch(t, person_id);
  const Member* addr = AddressRecord(p);
  std::string key = addr ? HouseholdKey(addr->canon) : std::string();
  if (!p.household.empty()) {
    const Household* h = PeekHousehold(t, p.household);
    if (h && h->key == key) return;
    LeaveHousehold(t, p);
  }
  if (key.empty()) return;
  std::set<std::string> mine = Surnames(p);
  for (const auto& hid : HouseholdsAt(t, key)) {
    const Household* h = PeekHousehold(t, hid);
    bool shares = false;
    for (const auto& member : h->members) {
      const Person* other = Peek(t, member);
      if (!other) continue;
      for (const auto& s : Surnames(*other)) shares = shares || mine.count(s);
    }
    if (shares) {
      TouchHousehold(t, hid).members.push_back(p.id);
      p.household = hid;
      return;
    }
  }
  Household h{ids.Next("hh"), key, {p.id}, 0};
  p.household = h.id;
  t.households.emplace(h.id, std::move(h));
}

}  // namespace rapport::profiles

// Mailing: one letter per household with a person in a segment, with its salutation and
// address, and the counts of letters the merge of duplicates and households avoided.
#include "core/csv.h"
#include "identity/normalize.h"
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::Person;
using internal::SourceKey;

std::string MailingToCsv(const MailingSummary& mailing) {
  std::string out =
      "household,salutation,street,house_number,address_extra,postcode,city,persons\r\n";
  for (const auto& e : mailing.entries) {
    const Json& a = e["address"];
    std::string persons;
    for (const auto& p : e["persons"])
      persons += (persons.empty() ? "" : " ") + p.get<std::string>();
    out += CsvCell(e["household"].get<std::string>()) + "," +
           CsvCell(e["salutation"].get<std::string>());
    for (const char* f : {"street", "house_number", "address_extra", "postcode", "city"}) {
      out += "," + CsvCell(a.value(f, ""));
    }
    out += "," + CsvCell(persons) + "\r\n";
  }
  return out;
}

Json MailingToJson(const MailingSummary& m) {
  size_t duplicates = m.records - m.persons - m.without_address;
  size_t same_household = m.persons - m.households;
  return {{"entries", m.entries},
          {"counts",
           {{"source_customers", m.records},
            {"persons", m.persons},
            {"households", m.households},
            {"without_address", m.without_address},
            {"avoided",
             {{"duplicates", duplicates},
              {"same_household", same_household},
              {"total", duplicates + same_household}}}}}};
}

Result<MailingSummary> ProfileService::Mailing(const std::string& segment) {
  std::vector<std::pair<std::string, std::string>> conditions;
  if (!segment.empty() && segment != "all") {
    size_t start = 0;
    while (start <= segment.size()) {
      size_t comma = segment.find(',', start);
      std::string part =
          segment.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t eq = part.find('=');
      if (eq == std::string::npos || eq == 0) {
        return InvalidArgument("segment conditions are field=value (e.g. city=München,source=shop)",
                               "segment");
      }
      std::string field = part.substr(0, eq);
      std::string canon = CanonicalFieldName(field);
      conditions.emplace_back(field == "source" || canon.empty() ? field : canon,
                              part.substr(eq + 1));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  Impl& m = *impl_;
  auto matches = [&](const Person& p, const std::map<std::string, GoldenValue>& g) {
    for (const auto& [field, want] : conditions) {
      bool prefix = !want.empty() && want.back() == '*';
      std::string w = identity::FoldText(prefix ? want.substr(0, want.size() - 1) : want);
      auto ok = [&](const std::string& v) {
        std::string f = identity::FoldText(v);
        return prefix ? f.compare(0, w.size(), w) == 0 : f == w;
      };
      bool hit = false;
      if (field == "source") {
        for (const auto& r : p.records) hit = hit || ok(r.source);
      } else if (auto it = g.find(field); it != g.end()) {
        hit = ok(it->second.value);
      }
      if (!hit) return false;
    }
    return true;
  };
  MailingSummary out;
  std::map<std::string, std::vector<const Person*>> by_household;
  for (const auto& [id, p] : m.persons) {
    auto g = m.Golden(p);
    if (!matches(p, g)) continue;
    std::set<std::string> customers;
    for (const auto& r : p.records) customers.insert(SourceKey(r.source, r.source_key));
    out.records += customers.size();
    if (p.household.empty()) {
      out.without_address++;
      continue;
    }
    out.persons++;
    by_household[p.household].push_back(&p);
  }
  for (auto& [hid, members] : by_household) {
    std::sort(members.begin(), members.end(),
              [](const Person* a, const Person* b) { return a->id < b->id; });
    std::vector<Addressee> names;
    Json ids = Json::array();
    for (const Person* p : members) {
      names.push_back(m.AddresseeOf(*p));
      ids.push_back(p->id);
    }
    out.entries.push_back({{"household", hid},
                           {"salutation", Salutation(names)},
                           {"address", m.AddressJson(*members.front())},
                           {"persons", ids}});
  }
  out.households = out.entries.size();
  return out;
}

}  // namespace rapport::profiles

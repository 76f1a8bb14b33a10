// Canonical person fields, survivorship (golden record), household keys and salutations.
// The column synonyms follow identity's detection (config.cc) so a file that `rapport dedupe`
// understands is understood here too; live records may name their fields either way.
#include "profiles/fields.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "identity/normalize.h"

namespace rapport::profiles {

namespace {

std::string NameKey(std::string_view name) {
  std::string k;
  k.reserve(name.size());
  for (char c : name) {
    if (c == '-' || c == ' ' || c == '.') {
      k.push_back('_');
    } else {
      k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return k;
}

const std::unordered_map<std::string, std::string>& Aliases() {
  static const auto* const kAliases = [] {
    auto* m = new std::unordered_map<std::string, std::string>();
    const std::vector<std::pair<std::string, std::vector<std::string>>> groups = {
        {"given_name",
         {"given_name", "first_name", "firstname", "forename", "vorname", "givenname"}},
        {"surname",
         {"surname", "last_name", "lastname", "family_name", "nachname", "familienname"}},
        {"birth_date",
         {"birth_date", "date_of_birth", "birthdate", "dob", "geburtsdatum", "geb_datum",
          "birthday", "geburtstag"}},
        {"street",
         {"street", "address_1", "strasse", "straße", "street_address", "address", "adresse",
          "anschrift"}},
        {"house_number",
         {"house_number", "street_number", "hausnummer", "hnr", "housenumber", "nr"}},
        {"address_extra", {"address_extra", "address_2", "adresszusatz", "zusatz"}},
        {"postcode",
         {"postcode", "zip", "zipcode", "zip_code", "postal_code", "plz", "postleitzahl"}},
        {"city", {"city", "suburb", "town", "ort", "stadt", "wohnort"}},
        {"email", {"email", "e_mail", "mail", "email_address"}},
        {"phone", {"phone", "telephone", "tel", "telefon", "phone_number", "mobile", "handy"}},
        {"national_id", {"national_id", "soc_sec_id", "ssn", "steuer_id", "tax_id"}},
        {"gender", {"gender", "sex", "geschlecht"}},
    };
    for (const auto& [canonical, names] : groups) {
      for (const auto& n : names) m->emplace(n, canonical);
    }
    return m;
  }();
  return *kAliases;
}

const std::string* Find(const Fields& f, std::string_view name) { return FindField(f, name); }

}  // namespace

const std::vector<std::string>& CanonicalFields() {
  static const std::vector<std::string> kFields = {
      "id",           "given_name",    "surname",  "birth_date", "street",
      "house_number", "address_extra", "postcode", "city",       "email",
      "phone",        "national_id",   "gender"};
  return kFields;
}

std::string CanonicalFieldName(std::string_view source_name) {
  auto it = Aliases().find(NameKey(source_name));
  return it == Aliases().end() ? std::string() : it->second;
}

Fields CanonicalizeFields(const Fields& fields) {
  Fields out;
  const std::string* full_name = nullptr;
  for (const auto& [name, value] : fields) {
    std::string c = CanonicalFieldName(name);
    if (c.empty()) {
      std::string k = NameKey(name);
      if (k == "name" || k == "full_name" || k == "fullname") full_name = &value;
      continue;
    }
    if (identity::IsPlaceholder(value)) continue;
    if (Find(out, c)) continue;  // the first of two synonyms wins
    out.emplace_back(std::move(c), value);
  }
  if (full_name && !Find(out, "given_name") && !Find(out, "surname")) {
    std::string n = *full_name;
    while (!n.empty() && n.back() == ' ') n.pop_back();
    size_t cut = n.rfind(' ');
    if (cut == std::string::npos) {
      if (!n.empty()) out.emplace_back("surname", n);
    } else {
      out.emplace_back("given_name", n.substr(0, cut));
      out.emplace_back("surname", n.substr(cut + 1));
    }
  }
  return out;
}

std::string_view GoldenRuleName(GoldenRule rule) {
  switch (rule) {
    case GoldenRule::kMostRecent:
      return "most_recent";
    case GoldenRule::kSourcePriority:
      return "source_priority";
    case GoldenRule::kMostFrequent:
      return "most_frequent";
    case GoldenRule::kMostComplete:
      return "most_complete";
  }
  return "most_recent";
}

Result<GoldenRule> ParseGoldenRule(std::string_view name) {
  for (GoldenRule r : {GoldenRule::kMostRecent, GoldenRule::kSourcePriority,
                       GoldenRule::kMostFrequent, GoldenRule::kMostComplete}) {
    if (GoldenRuleName(r) == name) return r;
  }
  return InvalidArgument(
      "unknown golden-record rule '" + std::string(name) +
      "' (expected most_recent, source_priority, most_frequent or most_complete)");
}

Result<GoldenRules> GoldenRules::FromJson(const Json& j) {
  GoldenRules rules;
  if (!j.is_object()) return InvalidArgument("golden rules must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key == "default") {
      if (!value.is_string()) return InvalidArgument("must be a rule name", "default");
      ASSIGN_OR_RETURN(rules.default_rule, ParseGoldenRule(value.get<std::string>()));
    } else if (key == "fields") {
      if (!value.is_object()) return InvalidArgument("must be an object", "fields");
      for (const auto& [field, rule] : value.items()) {
        if (!rule.is_string()) return InvalidArgument("must be a rule name", "fields." + field);
        auto r = ParseGoldenRule(rule.get<std::string>());
        if (!r.ok()) return r.status().WithWhere("fields." + field);
        rules.by_field[field] = *r;
      }
    } else if (key == "source_priority") {
      if (!value.is_array()) return InvalidArgument("must be a list", "source_priority");
      for (const auto& s : value) {
        if (!s.is_string()) return InvalidArgument("must list names", "source_priority");
        rules.source_priority.push_back(s.get<std::string>());
      }
    } else {
      return InvalidArgument("unknown key '" + key + "'", key);
    }
  }
  return rules;
}

Json GoldenRules::ToJson() const {
  Json fields = Json::object();
  for (const auto& [f, r] : by_field) fields[f] = GoldenRuleName(r);
  return {{"default", GoldenRuleName(default_rule)},
          {"fields", fields},
          {"source_priority", source_priority}};
}

namespace {

// What makes two spellings one value of a field: "Hauptstr. 5" and "Hauptstraße 5" are one
// street, "Mueller" and "Müller" one surname. Empty for fields whose spelling is the value.
std::string SpellingKey(const std::string& field, const std::string& value) {
  if (field == "street") {
    identity::StreetAddress a = identity::NormalizeStreet(value, "");
    return a.street + "|" + a.number + a.suffix;
  }
  if (field == "given_name" || field == "surname" || field == "city") {
    return identity::FoldText(value);
  }
  return "";
}

// How well a spelling is formed, better first: umlauts and ß over their ASCII folds, no
// abbreviation ("Str."), mixed case over all capitals or all small letters, then the longer.
std::tuple<bool, bool, bool, size_t> FormOf(const std::string& value) {
  bool non_ascii = false, lower = false, upper = false;
  for (unsigned char c : value) {
    non_ascii |= c >= 0x80;
    lower |= c >= 'a' && c <= 'z';
    upper |= c >= 'A' && c <= 'Z';
  }
  bool abbreviated = value.find('.') != std::string::npos;
  return {non_ascii, !abbreviated, lower && upper, value.size()};
}

}  // namespace

std::map<std::string, GoldenValue> GoldenRecord(const std::vector<RecordView>& records,
                                                const GoldenRules& rules) {
  // Most recent first; the order every rule falls back on.
  std::vector<const RecordView*> order;
  for (const auto& r : records) order.push_back(&r);
  std::sort(order.begin(), order.end(), [](const RecordView* a, const RecordView* b) {
    if (a->received_at != b->received_at) return a->received_at > b->received_at;
    return a->id > b->id;
  });
  auto rank = [&](const std::string& source) {
    auto it = std::find(rules.source_priority.begin(), rules.source_priority.end(), source);
    return static_cast<size_t>(it - rules.source_priority.begin());
  };
  std::set<std::string> names;
  for (const auto* r : order) {
    for (const auto& [n, v] : *r->fields) names.insert(n);
  }
  std::map<std::string, GoldenValue> out;
  for (const auto& name : names) {
    if (name == "id") continue;
    auto rit = rules.by_field.find(name);
    GoldenRule rule = rit == rules.by_field.end() ? rules.default_rule : rit->second;
    const RecordView* best = nullptr;
    const std::string* best_value = nullptr;
    if (rule == GoldenRule::kMostFrequent) {
      // Count by folded value, so "Müller" and "MÜLLER" are one vote; the most recent
      // spelling of the winner is shown.
      std::map<std::string, int> votes;
      for (const auto* r : order) {
        if (const auto* v = Find(*r->fields, name)) votes[identity::FoldText(*v)]++;
      }
      int top = 0;
      for (const auto* r : order) {
        const auto* v = Find(*r->fields, name);
        if (!v) continue;
        int n = votes[identity::FoldText(*v)];
        if (n > top) top = n, best = r, best_value = v;
      }
    } else if (rule == GoldenRule::kMostComplete) {
      size_t longest = 0;
      for (const auto* r : order) {
        const auto* v = Find(*r->fields, name);
        if (!v) continue;
        size_t n = identity::FoldText(*v).size();
        if (!best || n > longest) longest = n, best = r, best_value = v;
      }
    } else {
      for (const auto* r : order) {
        const auto* v = Find(*r->fields, name);
        if (!v) continue;
        if (!best ||
            (rule == GoldenRule::kSourcePriority && rank(r->source) < rank(best->source))) {
          best = r, best_value = v;
        }
      }
    }
    if (!best) continue;
    // The rule picks the value; the best-formed spelling of that value is what is shown.
    if (std::string key = SpellingKey(name, *best_value); !key.empty()) {
      for (const auto* r : order) {
        const auto* v = Find(*r->fields, name);
        if (v && FormOf(*v) > FormOf(*best_value) && SpellingKey(name, *v) == key) {
          best = r, best_value = v;
        }
      }
    }
    out[name] = {*best_value, best->id, best->source, rule};
  }
  return out;
}

Json GoldenToJson(const std::map<std::string, GoldenValue>& golden) {
  Json j = Json::object();
  for (const auto& [name, g] : golden) {
    j[name] = {{"value", g.value},
               {"record", g.record},
               {"source", g.source},
               {"rule", GoldenRuleName(g.rule)}};
  }
  return j;
}

std::string HouseholdKey(const Fields& f) {
  const std::string* street = Find(f, "street");
  if (!street) return {};
  const std::string* number = Find(f, "house_number");
  identity::StreetAddress a = identity::NormalizeStreet(*street, number ? *number : "");
  if (a.street.empty()) return {};
  std::string place;
  if (const auto* pc = Find(f, "postcode")) place = identity::NormalizePostcode(*pc);
  if (place.empty()) {
    if (const auto* city = Find(f, "city"))
      place = identity::LooseSpelling(identity::FoldText(*city));
  }
  if (place.empty()) return {};
  std::string extra;
  if (const auto* e = Find(f, "address_extra")) extra = identity::FoldText(*e);
  return a.street + "|" + a.number + a.suffix + "|" + place + "|" + extra;
}

std::string SurnameKey(std::string_view surname) {
  return identity::LooseSpelling(identity::NormalizeSurname(surname));
}

std::string Salutation(std::vector<Addressee> members) {
  if (members.empty()) return {};
  std::sort(members.begin(), members.end(), [](const Addressee& a, const Addressee& b) {
    return std::tie(a.surname, a.given_name) < std::tie(b.surname, b.given_name);
  });
  auto full = [](const Addressee& a) {
    return a.given_name.empty() ? a.surname
           : a.surname.empty()  ? a.given_name
                                : a.given_name + " " + a.surname;
  };
  if (members.size() == 1) return full(members[0]);
  bool shared = true;
  for (const auto& m : members) {
    shared =
        shared && !m.surname.empty() && SurnameKey(m.surname) == SurnameKey(members[0].surname);
  }
  // Transliterations ("Mueller") are lossy forms of the original spelling: show "Müller".
  std::string surname = members[0].surname;
  for (const auto& m : members) {
    auto non_ascii = [](const std::string& s) {
      return std::any_of(s.begin(), s.end(), [](char c) { return c & 0x80; });
    };
    if (!non_ascii(surname) && non_ascii(m.surname)) surname = m.surname;
  }
  if (shared) {
    std::sort(members.begin(), members.end(),
              [](const Addressee& a, const Addressee& b) { return a.given_name < b.given_name; });
  }
  if (shared && members.size() >= 3) return "Familie " + surname;
  std::string out;
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out += i + 1 == members.size() ? " und " : ", ";
    out += shared ? (members[i].given_name.empty() ? members[i].surname : members[i].given_name)
                  : full(members[i]);
  }
  if (shared) out += " " + surname;
  return out;
}

}  // namespace rapport::profiles

// Configuration: YAML parsing (yaml-cpp exceptions stay inside) and detection of columns
// from a header, which is what lets one default configuration serve FEBRL, English and
// German customer files.

#include "identity/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "core/text.h"

namespace rapport::identity {
namespace {

struct KindInfo {
  ComparisonKind kind;
  std::string_view name;
};
constexpr KindInfo kKinds[] = {{ComparisonKind::kGivenName, "given_name"},
                               {ComparisonKind::kSurname, "surname"},
                               {ComparisonKind::kBirthDate, "birth_date"},
                               {ComparisonKind::kAddress, "address"},
                               {ComparisonKind::kPostcode, "postcode"},
                               {ComparisonKind::kCity, "city"},
                               {ComparisonKind::kText, "text"},
                               {ComparisonKind::kExact, "exact"},
                               {ComparisonKind::kEmail, "email"},
                               {ComparisonKind::kPhone, "phone"},
                               {ComparisonKind::kId, "id"},
                               {ComparisonKind::kNumber, "number"}};

// A column name as people write it, reduced to what identifies it: "E-Mail", "e_mail" and
// "EMail" are one column, as are "Straße"/"strasse", "Geb.-Datum"/"gebdatum" and
// "Kunden-Nr."/"kundennr". Lower-case ASCII letters and digits; German umlauts and ß folded.
std::string HeaderKey(std::string_view s) {
  static constexpr std::pair<std::string_view, std::string_view> kFolds[] = {
      {"\xC3\xA4", "ae"}, {"\xC3\x84", "ae"}, {"\xC3\xB6", "oe"}, {"\xC3\x96", "oe"},
      {"\xC3\xBC", "ue"}, {"\xC3\x9C", "ue"}, {"\xC3\x9F", "ss"}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool folded = false;
    for (const auto& [from, to] : kFolds) {
      if (s.substr(i, from.size()) == from) {
        out += to;
        i += from.size();
        folded = true;
        break;
      }
    }
    if (folded) continue;
    unsigned char c = static_cast<unsigned char>(s[i++]);
    if (std::isalnum(c) && c < 0x80) out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

// Column names by role, in order of preference.
struct Synonyms {
  std::string_view comparison;
  ComparisonKind kind;
  std::vector<std::string_view> names;
};
const std::vector<Synonyms>& KnownColumns() {
  static const auto* kList = new std::vector<Synonyms>{
      {"given_name",
       ComparisonKind::kGivenName,
       {"given_name", "first_name", "forename", "vorname", "rufname"}},
      {"surname",
       ComparisonKind::kSurname,
       {"surname", "last_name", "family_name", "nachname", "familienname", "zuname"}},
      {"birth_date",
       ComparisonKind::kBirthDate,
       {"date_of_birth", "birth_date", "dob", "geburtsdatum", "geb_datum", "birthday", "geburtstag",
        "geboren", "geboren_am"}},
      {"address",
       ComparisonKind::kAddress,
       {"address_1", "street", "strasse", "str", "street_address", "address", "adresse",
        "anschrift", "strasse_und_hausnummer", "strasse_hausnummer", "strasse_nr"}},
      {"address_extra", ComparisonKind::kText, {"address_2", "adresszusatz", "zusatz"}},
      {"postcode",
       ComparisonKind::kPostcode,
       {"postcode", "zip", "zipcode", "zip_code", "postal_code", "plz", "postleitzahl"}},
      {"city", ComparisonKind::kCity, {"suburb", "city", "town", "ort", "stadt", "wohnort"}},
      {"state", ComparisonKind::kExact, {"state", "bundesland"}},
      {"email",
       ComparisonKind::kEmail,
       {"email", "mail", "email_address", "e_mail_adresse", "mailadresse"}},
      {"phone",
       ComparisonKind::kPhone,
       {"phone", "telephone", "tel", "telefon", "phone_number", "telefonnummer", "tel_nr", "mobile",
        "mobil", "handy", "mobilnummer"}},
      {"national_id",
       ComparisonKind::kId,
       {"soc_sec_id", "ssn", "national_id", "steuer_id", "tax_id"}},
      {"gender", ComparisonKind::kExact, {"gender", "sex", "geschlecht"}},
  };
  return *kList;
}
constexpr std::string_view kHouseNumberColumns[] = {"street_number", "house_number", "hausnummer",
                                                    "hausnr",        "hnr",          "nr"};

int FindColumn(const std::vector<std::string>& header, std::string_view name) {
  std::string want = HeaderKey(name);
  for (size_t i = 0; i < header.size(); ++i) {
    if (HeaderKey(header[i]) == want) return static_cast<int>(i);
  }
  return -1;
}

// Valid key transforms per kind ("" is the default transform).
const std::vector<std::string_view>& Transforms(ComparisonKind kind) {
  static const std::vector<std::string_view> kGiven = {"", "first", "canonical", "initial",
                                                       "phonetic"};
  static const std::vector<std::string_view> kSurname = {"", "phonetic", "initial"};
  static const std::vector<std::string_view> kDate = {"", "year", "md"};
  static const std::vector<std::string_view> kAddress = {"", "street", "number"};
  static const std::vector<std::string_view> kPostcode = {"", "prefix3"};
  static const std::vector<std::string_view> kId = {"", "sorted"};
  static const std::vector<std::string_view> kPlain = {""};
  switch (kind) {
    case ComparisonKind::kGivenName:
      return kGiven;
    case ComparisonKind::kSurname:
      return kSurname;
    case ComparisonKind::kBirthDate:
      return kDate;
    case ComparisonKind::kAddress:
      return kAddress;
    case ComparisonKind::kPostcode:
      return kPostcode;
    case ComparisonKind::kId:
      return kId;
    default:
      return kPlain;
  }
}

const ComparisonSpec* FindSpec(const MatchConfig& c, std::string_view name) {
  for (const auto& s : c.comparisons)
    if (s.name == name) return &s;
  return nullptr;
}

Status CheckKey(const MatchConfig& c, const std::string& key, const std::string& where) {
  std::string_view k = key;
  size_t dot = k.find('.');
  std::string_view comp = k.substr(0, dot);
  std::string_view transform = dot == std::string_view::npos ? "" : k.substr(dot + 1);
  const ComparisonSpec* spec = FindSpec(c, comp);
  if (spec == nullptr)
    return InvalidArgument("unknown comparison '" + std::string(comp) + "'", where);
  const auto& t = Transforms(spec->kind);
  if (std::find(t.begin(), t.end(), transform) == t.end()) {
    return InvalidArgument("unknown key transform '" + std::string(transform) + "' for " +
                               std::string(KindName(spec->kind)),
                           where);
  }
  return OkStatus();
}

std::vector<std::vector<std::string>> DefaultBlocking(const MatchConfig& c) {
  // Each entry lists alternatives; the first whose keys all exist is taken. A birth date alone
  // pairs everyone born on one day (a block of ~30 per day in a million customers, all of them
  // compared) and is only worth it when there is no postcode to narrow it.
  static const std::vector<std::vector<std::vector<std::string>>> kCandidates = {
      {{"surname.phonetic", "given_name.phonetic"}},
      {{"surname", "given_name.initial", "postcode"}},
      {{"given_name.canonical", "surname.initial", "birth_date.year"}},
      {{"birth_date", "postcode"}, {"birth_date"}},
      {{"postcode", "address.number"}},
      // A mistyped postcode with swapped or mistyped names: only the birthday and the house
      // number are left (blocks of a few records even at a million).
      {{"birth_date", "address.number"}},
      {{"address.street", "address.number", "given_name.initial"}},
      {{"surname.phonetic", "postcode"}},
      {{"given_name.phonetic", "postcode"}},
      {{"surname", "birth_date.md"}},
      {{"given_name.canonical", "birth_date"}},
      {{"national_id.sorted"}},
      {{"email"}},
      {{"phone"}}};
  std::vector<std::vector<std::string>> out;
  for (const auto& alternatives : kCandidates) {
    for (const auto& rule : alternatives) {
      bool ok = true;
      for (const auto& key : rule) ok = ok && CheckKey(c, key, "").ok();
      if (ok) {
        out.push_back(rule);
        break;
      }
    }
  }
  if (out.empty()) {
    // Unusual columns: block on each comparison's whole value.
    for (const auto& s : c.comparisons) out.push_back({s.name});
  }
  return out;
}

std::vector<std::vector<std::string>> DefaultRules(const MatchConfig& c) {
  static const std::vector<std::vector<std::string>> kCandidates = {{"email", "birth_date"},
                                                                    {"national_id", "birth_date"}};
  std::vector<std::vector<std::string>> out;
  for (const auto& rule : kCandidates) {
    bool ok = true;
    for (const auto& name : rule) ok = ok && FindSpec(c, name) != nullptr;
    if (ok) out.push_back(rule);
  }
  return out;
}

std::string Mark(const YAML::Node& n) { return "line " + std::to_string(n.Mark().line + 1); }

Result<std::vector<std::vector<std::string>>> ReadRuleList(const YAML::Node& n,
                                                           std::string_view key) {
  std::vector<std::vector<std::string>> out;
  if (!n.IsSequence()) return InvalidArgument(std::string(key) + " must be a list", Mark(n));
  for (const auto& rule : n) {
    std::vector<std::string> parts;
    if (rule.IsScalar()) {
      parts.push_back(rule.as<std::string>());
    } else if (rule.IsSequence()) {
      for (const auto& p : rule) parts.push_back(p.as<std::string>());
    } else {
      return InvalidArgument(std::string(key) + " entries must be lists of names", Mark(rule));
    }
    if (parts.empty()) return InvalidArgument(std::string(key) + " entry is empty", Mark(rule));
    out.push_back(std::move(parts));
  }
  return out;
}

Result<MatchConfig> ParseYamlUnchecked(std::string_view yaml) {
  YAML::Node root = YAML::Load(std::string(yaml));
  MatchConfig c;
  if (root.IsNull()) return c;
  if (!root.IsMap()) return InvalidArgument("config must be a YAML mapping");
  static const std::set<std::string> kKeys = {
      "id",       "region", "threshold",      "review_threshold",    "comparisons",
      "blocking", "rules",  "max_block_size", "min_records_to_train"};
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    if (!kKeys.count(key)) return InvalidArgument("unknown key '" + key + "'", Mark(kv.first));
  }
  if (root["id"]) c.id_column = root["id"].as<std::string>();
  if (root["region"]) c.region = root["region"].as<std::string>();
  if (root["threshold"]) {
    c.threshold = root["threshold"].as<double>();
    if (!(c.threshold > 0 && c.threshold < 1)) {
      return InvalidArgument("threshold must lie strictly between 0 and 1", "threshold");
    }
  }
  if (root["review_threshold"]) {
    c.review_threshold = root["review_threshold"].as<double>();
    if (!(c.review_threshold > 0 && c.review_threshold <= c.threshold)) {
      return InvalidArgument("review_threshold must lie in (0, threshold]", "review_threshold");
    }
  } else {
    c.review_threshold = std::min(c.review_threshold, c.threshold);  // `threshold: 0.4` alone
  }
  if (root["max_block_size"]) c.max_block_size = root["max_block_size"].as<size_t>();
  if (root["min_records_to_train"]) {
    c.min_records_to_train = root["min_records_to_train"].as<size_t>();
  }
  if (const YAML::Node comps = root["comparisons"]) {
    if (!comps.IsSequence()) return InvalidArgument("comparisons must be a list", Mark(comps));
    for (const auto& n : comps) {
      if (!n.IsMap() || !n["name"]) {
        return InvalidArgument("a comparison needs a name", Mark(n));
      }
      ComparisonSpec s;
      s.name = n["name"].as<std::string>();
      ASSIGN_OR_RETURN(s.kind, ParseKind(n["kind"] ? n["kind"].as<std::string>() : s.name));
      if (n["column"]) s.columns.push_back(n["column"].as<std::string>());
      if (n["columns"]) {
        for (const auto& col : n["columns"]) s.columns.push_back(col.as<std::string>());
      }
      if (s.columns.empty())
        return InvalidArgument("comparison " + s.name + " names no column", Mark(n));
      if (s.columns.size() > (s.kind == ComparisonKind::kAddress ? 2u : 1u)) {
        return InvalidArgument("comparison " + s.name + " has too many columns", Mark(n));
      }
      if (FindSpec(c, s.name)) return InvalidArgument("duplicate comparison " + s.name, Mark(n));
      c.comparisons.push_back(std::move(s));
    }
  }
  if (root["blocking"]) {
    ASSIGN_OR_RETURN(c.blocking, ReadRuleList(root["blocking"], "blocking"));
  }
  if (root["rules"]) {
    ASSIGN_OR_RETURN(c.rules, ReadRuleList(root["rules"], "rules"));
  }
  return c;
}

}  // namespace

std::string_view KindName(ComparisonKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "text";
}

Result<ComparisonKind> ParseKind(std::string_view name) {
  for (const auto& k : kKinds)
    if (k.name == name) return k.kind;
  return InvalidArgument("unknown comparison kind '" + std::string(name) + "'", "kind");
}

const std::vector<std::string>& LevelNames(ComparisonKind kind) {
  static const std::vector<std::string> kGiven = {
      "exact",   "spelling variant",          "nickname", "similar (jw>=0.92)",
      "initial", "weakly similar (jw>=0.80)", "different"};
  static const std::vector<std::string> kSurname = {"exact", "spelling variant",
                                                    "similar (jw>=0.92)",
                                                    "weakly similar or same sound", "different"};
  static const std::vector<std::string> kDate = {"exact", "day/month swapped", "one typo",
                                                 "year off by one", "different"};
  static const std::vector<std::string> kAddress = {"exact", "similar street, same number",
                                                    "same street, number missing",
                                                    "same street, other number", "different"};
  static const std::vector<std::string> kPostcode = {"exact", "one edit", "different"};
  static const std::vector<std::string> kFuzzy = {"exact", "similar", "different"};
  static const std::vector<std::string> kExact = {"exact", "different"};
  static const std::vector<std::string> kEmail = {"exact", "one typo", "different"};
  static const std::vector<std::string> kPhone = {"exact", "same last 7 digits", "different"};
  static const std::vector<std::string> kId = {"exact", "one typo", "different"};
  static const std::vector<std::string> kNumber = {"exact", "within 5%", "different"};
  switch (kind) {
    case ComparisonKind::kGivenName:
      return kGiven;
    case ComparisonKind::kSurname:
      return kSurname;
    case ComparisonKind::kBirthDate:
      return kDate;
    case ComparisonKind::kAddress:
      return kAddress;
    case ComparisonKind::kPostcode:
      return kPostcode;
    case ComparisonKind::kCity:
    case ComparisonKind::kText:
      return kFuzzy;
    case ComparisonKind::kExact:
      return kExact;
    case ComparisonKind::kEmail:
      return kEmail;
    case ComparisonKind::kPhone:
      return kPhone;
    case ComparisonKind::kId:
      return kId;
    case ComparisonKind::kNumber:
      return kNumber;
  }
  return kFuzzy;
}

Result<MatchConfig> ParseConfigYaml(std::string_view yaml) {
  if (auto problem = FindYamlTextProblem(yaml)) {
    return InvalidArgument(
        "config: the configuration holds " + problem->message,
        "line " + std::to_string(problem->line) + ", column " + std::to_string(problem->column));
  }
  try {
    return ParseYamlUnchecked(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("config: ") + e.msg,
                           "line " + std::to_string(e.mark.line + 1));
  }
}

Result<MatchConfig> ResolveConfig(MatchConfig c, const std::vector<std::string>& header) {
  if (header.empty()) return InvalidArgument("the input has no columns");
  if (c.id_column.empty()) {
    for (std::string_view name : {"id", "rec_id", "record_id", "unique_id", "kundennr",
                                  "kundennummer", "kd_nr", "customer_id", "customer_number"}) {
      int i = FindColumn(header, name);
      if (i >= 0) {
        c.id_column = header[i];
        break;
      }
    }
    if (c.id_column.empty()) c.id_column = header.front();
  } else if (FindColumn(header, c.id_column) < 0) {
    return InvalidArgument("id column '" + c.id_column + "' is not in the header", c.id_column);
  }
  if (c.comparisons.empty()) {
    for (const Synonyms& s : KnownColumns()) {
      for (std::string_view name : s.names) {
        int i = FindColumn(header, name);
        if (i < 0) continue;
        ComparisonSpec spec{std::string(s.comparison), s.kind, {header[i]}};
        if (s.kind == ComparisonKind::kAddress) {
          for (std::string_view hn : kHouseNumberColumns) {
            int j = FindColumn(header, hn);
            if (j >= 0) {
              spec.columns.push_back(header[j]);
              break;
            }
          }
        }
        c.comparisons.push_back(std::move(spec));
        break;
      }
    }
    // "Name" is the surname beside a first-name column (German files: Vorname, Name), and the
    // whole name without one: read as both, it is split into given name and surname when a
    // record is normalized (SplitWholeName).
    if (!FindSpec(c, "surname")) {
      for (std::string_view name : {"name", "full_name", "vollstaendiger_name"}) {
        int i = FindColumn(header, name);
        if (i < 0) continue;
        if (!FindSpec(c, "given_name")) {
          c.comparisons.push_back({"given_name", ComparisonKind::kGivenName, {header[i]}});
        }
        c.comparisons.push_back({"surname", ComparisonKind::kSurname, {header[i]}});
        break;
      }
    }
    if (c.comparisons.empty()) {
      return InvalidArgument(
          "no column to compare: expected e.g. first_name/last_name, vorname/nachname or "
          "given_name/surname (or name them in a --config file)");
    }
  } else {
    for (auto& s : c.comparisons) {
      for (auto& col : s.columns) {
        int i = FindColumn(header, col);
        if (i < 0) {
          return InvalidArgument(
              "column '" + col + "' of comparison " + s.name + " is not in the header", col);
        }
        col = header[i];
      }
    }
  }
  if (c.blocking.empty()) c.blocking = DefaultBlocking(c);
  for (size_t r = 0; r < c.blocking.size(); ++r) {
    for (const auto& key : c.blocking[r]) {
      RETURN_IF_ERROR(CheckKey(c, key, "blocking[" + std::to_string(r) + "]"));
    }
  }
  if (c.blocking.empty()) return InvalidArgument("no blocking rule fits the columns");
  if (c.rules.empty()) c.rules = DefaultRules(c);
  for (size_t r = 0; r < c.rules.size(); ++r) {
    for (const auto& name : c.rules[r]) {
      if (!FindSpec(c, name)) {
        return InvalidArgument("rule names unknown comparison '" + name + "'",
                               "rules[" + std::to_string(r) + "]");
      }
    }
  }
  return c;
}

}  // namespace rapport::identity

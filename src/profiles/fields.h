// What a profile reads from a source record: the canonical person fields (whatever the source
// called them), the golden record chosen per field by survivorship rules, the household
// address key, and the salutation of a household.
//
// Contract: pure functions on values; thread-safe; untrusted field values never fail, a value
// that cannot be used (blank, placeholder) is treated as missing.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/model.h"
#include "core/status.h"

namespace rapport::profiles {

// The column set that profiles match on, in the order of the matching header.
const std::vector<std::string>& CanonicalFields();

// The canonical name of a source field ("Vorname" → "given_name", "PLZ" → "postcode"), or ""
// when the field is not a person field (it is kept in the source record and shown, but neither
// matched nor used in the golden record).
std::string CanonicalFieldName(std::string_view source_name);

// The record's person fields under canonical names. A single "name" field ("Anna Müller")
// becomes given_name + surname when those are absent.
Fields CanonicalizeFields(const Fields& fields);

// A member record of a person as the golden record sees it.
struct RecordView {
  std::string id;
  std::string source;
  Time received_at{};
  const Fields* fields = nullptr;  // canonical fields
};

// kMostComplete prefers the fullest value ("Johann" over "J."), then the most recent.
enum class GoldenRule { kMostRecent, kSourcePriority, kMostFrequent, kMostComplete };
std::string_view GoldenRuleName(GoldenRule rule);
Result<GoldenRule> ParseGoldenRule(std::string_view name);

// Survivorship configuration: a rule per field (others use `default_rule`); source priority
// lists sources best first (unlisted sources rank after listed ones, then most recent wins).
struct GoldenRules {
  GoldenRule default_rule = GoldenRule::kMostRecent;
  // A later "J." must not replace "Johann" in a letter's salutation.
  std::map<std::string, GoldenRule> by_field = {{"given_name", GoldenRule::kMostComplete}};
  std::vector<std::string> source_priority;

  // {"default":"most_recent","fields":{"email":"most_frequent"},"source_priority":["crm"]}
  static Result<GoldenRules> FromJson(const Json& j);
  Json ToJson() const;
};

struct GoldenValue {
  std::string value;
  std::string record;  // the source record it comes from
  std::string source;
  GoldenRule rule = GoldenRule::kMostRecent;
};

// One value per canonical field present in any record. Ties are broken by the more recent
// record, then the larger record id, so the result does not depend on record order. Of the
// spellings of the chosen value (names, street, city), the best-formed is shown with its record:
// "Müller" over "Mueller" or "MÜLLER", "Hauptstraße 5" over "Hauptstr. 5".
std::map<std::string, GoldenValue> GoldenRecord(const std::vector<RecordView>& records,
                                                const GoldenRules& rules);
Json GoldenToJson(const std::map<std::string, GoldenValue>& golden);

// The normalized address a household is keyed by: street, house number and suffix, postcode
// (or city) and the address extra (flat, unit). "" when street or postcode/city is missing.
std::string HouseholdKey(const Fields& canonical);
// Normalized surnames for the shared-surname cue ("Müller" and "Mueller" agree).
std::string SurnameKey(std::string_view surname);

struct Addressee {
  std::string given_name;
  std::string surname;
};
// "Johann Müller"; two sharing a surname: "Anna und Johann Müller"; three or more sharing
// one: "Familie Müller"; otherwise the full names joined with "," and "und".
std::string Salutation(std::vector<Addressee> members);

}  // namespace rapport::profiles

// Which columns identity resolution reads and how it compares them. The default
// configuration recognises FEBRL, common English and German column names, so most person
// and customer files need no configuration at all; a YAML file can name columns and add
// comparisons.
//
//   id: kundennr                 # id column (default: id, rec_id, else the first column)
//   region: DE                   # default phone region
//   threshold: 0.9               # match probability that links two records
//   review_threshold: 0.5        # from here up to the threshold: a person decides
//   comparisons:                 # replaces the detected list when given
//     - {name: given_name, kind: given_name, column: vorname}
//     - {name: address, kind: address, columns: [strasse, hausnummer]}
//     - {name: loyalty, kind: id, column: karte}
//   blocking:                    # union of rules; each rule is a list of keys
//     - [surname.phonetic, given_name.initial]
//     - [birth_date]
//   rules:                       # deterministic matches, all listed comparisons exact
//     - [email, birth_date]
//
// Thread-safety: plain values. Errors: Status with the YAML line or the missing column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rapport::identity {

// How a comparison reads and compares its column(s). Each kind has fixed levels (see
// LevelNames) from the strongest agreement (0) to disagreement (last).
enum class ComparisonKind {
  kGivenName,  // exact, spelling variant, nickname, fuzzy, initials
  kSurname,    // exact, spelling variant, fuzzy, phonetic; term-frequency adjusted
  kBirthDate,  // exact, day/month swapped, one typo, year off by one
  kAddress,    // columns: street[, house number]; street canonical form + house number
  kPostcode,   // exact, one edit
  kCity,       // exact, fuzzy; term-frequency adjusted
  kText,       // generic fuzzy text (Jaro-Winkler and token set)
  kExact,      // exact only (state, gender, ...)
  kEmail,      // canonical address; same local part
  kPhone,      // E.164
  kId,         // an identifier such as a social security number: exact, one typo
  kNumber,     // numeric, within 5 %
};

std::string_view KindName(ComparisonKind kind);
Result<ComparisonKind> ParseKind(std::string_view name);
// Level labels for a kind, strongest first; the last is "different".
const std::vector<std::string>& LevelNames(ComparisonKind kind);

struct ComparisonSpec {
  std::string name;  // unique; used in explanations, blocking keys, rules
  ComparisonKind kind = ComparisonKind::kText;
  std::vector<std::string> columns;  // one, or two for kAddress (street, house number)
};

struct MatchConfig {
  std::string id_column;      // "" → id, rec_id, else first column
  std::string region = "DE";  // default region for phone numbers
  // The same as the live path's (profiles::Thresholds), so `dedupe` and the server agree.
  // 0.9 rather than 0.5: a wrong merge shows one customer another's data, a missed one costs
  // a letter; measured better at every size from FEBRL to 1M records (bench/identity_quality.sh).
  double threshold = 0.9;                          // link pairs with probability >= this
  double review_threshold = 0.5;                   // review pairs from here to `threshold`
  std::vector<ComparisonSpec> comparisons;         // empty → detected from the header
  std::vector<std::vector<std::string>> blocking;  // empty → default rules
  std::vector<std::vector<std::string>> rules;     // empty → default deterministic rules
  size_t max_block_size = 100;                     // larger blocks are skipped and reported
  size_t min_records_to_train = 1000;              // below: built-in default parameters
};

// Parses a YAML configuration. Errors: kInvalidArgument naming the key (and line).
Result<MatchConfig> ParseConfigYaml(std::string_view yaml);

// Fills in what `config` leaves open from a file header: the id column, comparisons from
// recognised column names (FEBRL, English, German), default blocking and deterministic rules.
// Fails with kInvalidArgument if a configured column is not in the header or no comparable
// column is found.
Result<MatchConfig> ResolveConfig(MatchConfig config, const std::vector<std::string>& header);

}  // namespace rapport::identity

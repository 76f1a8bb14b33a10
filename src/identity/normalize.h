// Normalization of person and address values into comparable forms: Unicode folding with
// German transliteration, names (titles, particles, initials, nicknames), streets, house
// numbers, postcodes, phone numbers (E.164), e-mail addresses and dates.
//
// Contract: every function is pure, thread-safe and total: untrusted input (any bytes, any
// length) never crashes; a value that carries no information (blank, "unknown", "n/a",
// "00000", "1900-01-01", ...) comes back empty / std::nullopt, so that it counts as missing
// and never as evidence.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::identity {

// True for blank values and placeholders that mean "not known".
bool IsPlaceholder(std::string_view raw);

// NFKC, case folding, German transliteration (ä→ae, ö→oe, ü→ue, ß→ss), other diacritics
// stripped (é→e); apostrophes dropped; any other non-alphanumeric run becomes one space;
// trimmed. Invalid UTF-8 is read as Windows-1252. Placeholders give "".
std::string FoldText(std::string_view raw);

// A folded form that also reduces German digraphs (ae→a, oe→o, ue→u) and doubled letters
// ("ss"→"s"), so "Müller", "Mueller" and "Muller" share one form. Input: FoldText output.
std::string LooseSpelling(std::string_view folded);

// Splits folded text at spaces.
std::vector<std::string_view> Tokens(std::string_view folded);

struct GivenName {
  std::string full;       // folded, titles removed, tokens joined by ' '
  std::string first;      // first token ("" if none)
  bool initial = false;   // the first token is a single letter ("J.")
  std::string canonical;  // nickname group of `first` ("hans" → "johann"), else `first`
};
GivenName NormalizeGivenName(std::string_view raw);

// Folded surname with titles and nobiliary particles ("von", "van der", "de") removed.
std::string NormalizeSurname(std::string_view raw);

// The nickname/short-form group of a folded first name, e.g. "sepp" → "josef",
// "bill" → "william"; the name itself when it is in no group.
std::string_view CanonicalFirstName(std::string_view folded);

struct StreetAddress {
  std::string street;  // canonical: folded, "straße"/"str."/"strasse" → " str", "street" → " st"
  std::string number;  // digits of the house number ("5" from "5a")
  std::string suffix;  // letters/range after the number ("a", "7" from "5-7")
};
// `house_number` may be empty, in which case a trailing (German) or leading (English)
// number in `street` is split off.
StreetAddress NormalizeStreet(std::string_view street, std::string_view house_number);

// Uppercased alphanumerics only; "" for placeholders such as "00000".
std::string NormalizePostcode(std::string_view raw);

// E.164 ("+4989123456") using libphonenumber with `default_region` for national numbers;
// std::nullopt for placeholders and numbers that cannot be parsed or are invalid.
std::optional<std::string> NormalizePhone(std::string_view raw,
                                          std::string_view default_region = "DE");

struct EmailAddress {
  std::string canonical;  // lowercase local@domain, plus-tag removed, googlemail → gmail
  std::string tag;        // the plus-tag ("shop" of "anna+shop@x.de"), kept separately
};
std::optional<EmailAddress> NormalizeEmail(std::string_view raw);

struct Date {
  int year = 0, month = 0, day = 0;
  bool operator==(const Date&) const = default;
};
// ISO "1980-05-17", compact "19800517", German "17.05.1980", "17/05/1980" (day first
// unless the first part exceeds 12). Placeholders (see IsPlaceholderDate, 0000-00-00) and
// impossible dates give std::nullopt.
std::optional<Date> ParseDate(std::string_view raw);
// A well-formed date that stands for "unknown": 01.01.1900, 01.01.1901, 01.01.1970, the
// spreadsheet zero 30.12.1899, any year before 1900 or after 2200.
bool IsPlaceholderDate(std::string_view raw);

}  // namespace rapport::identity

// Normalization of names, addresses and contact points. ASCII input takes a fast path
// without ICU because it is the bulk of real data and ICU costs microseconds per call.

#include "identity/normalize.h"

#include <phonenumbers/phonenumberutil.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

#include "core/text.h"

namespace rapport::identity {
namespace {

bool IsAscii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Appends `c` to `out`, turning separators into a single space.
void AppendFolded(std::string& out, char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) {
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  } else if (c == '\'' || c == '`') {
    // "O'Brien" and "OBrien" are the same name.
  } else if (!out.empty() && out.back() != ' ') {
    out.push_back(' ');
  }
}

void AppendUtf8(std::string& out, UChar32 cp) {
  icu::UnicodeString u(cp);
  u.toUTF8String(out);
}

std::string FoldUnicode(std::string_view raw) {
  std::string utf8 = IsValidUtf8(raw) ? std::string(raw) : Windows1252ToUtf8(raw);
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(err);
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(err);
  if (U_FAILURE(err)) return LowerAscii(utf8);  // ICU data missing: degrade, do not fail
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(utf8);
  icu::UnicodeString folded = nfkc_cf->normalize(s, err);
  if (U_FAILURE(err)) return LowerAscii(utf8);
  // German transliteration must happen before diacritics are stripped, otherwise ü → u.
  icu::UnicodeString mapped;
  for (int32_t i = 0; i < folded.length();) {
    UChar32 cp = folded.char32At(i);
    i += U16_LENGTH(cp);
    switch (cp) {
      case 0xE4:
        mapped.append(u"ae");
        break;  // ä
      case 0xF6:
        mapped.append(u"oe");
        break;  // ö
      case 0xFC:
        mapped.append(u"ue");
        break;  // ü
      case 0xDF:
        mapped.append(u"ss");
        break;  // ß (casefold normally does this)
      case 0xE6:
        mapped.append(u"ae");
        break;  // æ
      case 0xF8:
        mapped.append(u"oe");
        break;  // ø
      case 0x153:
        mapped.append(u"oe");
        break;  // œ
      case 0xFE:
        mapped.append(u"th");
        break;  // þ
      case 0x142:
        mapped.append(u"l");
        break;  // ł
      case 0x111:
        mapped.append(u"d");
        break;  // đ
      case 0x131:
        mapped.append(u"i");
        break;  // dotless i
      default:
        mapped.append(cp);
    }
  }
  icu::UnicodeString decomposed = nfd->normalize(mapped, err);
  if (U_FAILURE(err)) decomposed = mapped;
  std::string out;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 cp = decomposed.char32At(i);
    i += U16_LENGTH(cp);
    if (u_charType(cp) == U_NON_SPACING_MARK) continue;
    if (cp < 0x80) {
      AppendFolded(out, static_cast<char>(cp));
    } else if (u_isalnum(cp)) {
      AppendUtf8(out, cp);  // non-Latin scripts stay as they are (already case-folded)
    } else if (cp == 0x2019 || cp == 0x2018) {
      // typographic apostrophes, as in AppendFolded
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  return out;
}

const std::unordered_set<std::string_view>& Placeholders() {
  static const auto* kSet = new std::unordered_set<std::string_view>{"unknown",
                                                                     "unbekannt",
                                                                     "n/a",
                                                                     "na",
                                                                     "n.a.",
                                                                     "none",
                                                                     "null",
                                                                     "nil",
                                                                     "-",
                                                                     "--",
                                                                     "---",
                                                                     "?",
                                                                     "??",
                                                                     "x",
                                                                     "xx",
                                                                     "xxx",
                                                                     "keine",
                                                                     "keine angabe",
                                                                     "k.a.",
                                                                     "k. a.",
                                                                     "ka",
                                                                     "nv",
                                                                     "n.v.",
                                                                     "tbd",
                                                                     "test",
                                                                     "dummy",
                                                                     "0",
                                                                     "00",
                                                                     "000",
                                                                     "0000",
                                                                     "00000",
                                                                     "000000",
                                                                     "99999",
                                                                     "1900-01-01",
                                                                     "19000101",
                                                                     "01.01.1900",
                                                                     "0000-00-00",
                                                                     "00.00.0000",
                                                                     "9999-12-31",
                                                                     "31.12.9999",
                                                                     "nobody@example.com",
                                                                     "noreply@example.com",
                                                                     "no email",
                                                                     "keine email"};
  return *kSet;
}

// Nickname and short-form groups; the first entry is the canonical form. German and English
// given names seen in customer data; a name may appear in one group only.
const std::unordered_map<std::string_view, std::string_view>& Nicknames() {
  static const auto* kMap = [] {
    static constexpr std::string_view kGroups[] = {
        "johann johannes hans hannes jan jo",
        "josef joseph sepp seppl jupp joe jo",
        "william bill billy will willy liam",
        "wilhelm willi willy wim helm",
        "robert bob bobby rob robbie robby",
        "richard dick rick ricky rich",
        "elisabeth elizabeth liz lisa lise elise liese liesel liesl lisbeth beth betty bettina "
        "sissi",
        "margarete margarethe margaret grete gretel maggie meg peggy greta",
        "katharina katherine catherine kathrin katrin kathy kate katie kati kathi kaethe",
        "christian chris christ",
        "christoph christopher chris stoffel",
        "christina christine kristina tina chrissi christl",
        "michael michi mike micha mick",
        "alexander alex sascha xander",
        "alexandra alex sandra sascha",
        "andreas andi andy andrew drew",
        "thomas tom tommy thom",
        "matthias mathias matthew matt matze hias",
        "nikolaus nicholas nicolas klaus claus niko nico nick",
        "friedrich fritz fritzi fred",
        "frederick fred freddy",
        "heinrich heinz henry hank hinnerk",
        "ludwig lutz louis lou",
        "wolfgang wolf wolfi",
        "bernhard bernd benno bernie",
        "gerhard gerd",
        "franziska franzi fanny",
        "franz francis frank",
        "susanne susanna susan sue susi sanne",
        "barbara babs barbi babsi",
        "jakob jacob jake jack",
        "james jim jimmy jamie",
        "joanna johanna hanna hanne jo",
        "anna ann anne anni annie",
        "maria marie mary mia mizzi",
        "magdalena lena leni madeleine magda",
        "helene helena lena ella nellie",
        "patricia patty trish tricia",
        "rebecca becky becca",
        "samuel sam sammy",
        "samantha sam sammy",
        "benjamin ben benny",
        "daniel dan danny dani",
        "david dave davy",
        "edward ed eddie ted teddy",
        "charles charlie chuck",
        "anthony tony anton toni",
        "joshua josh",
        "nathan nate",
        "nathaniel nat",
        "jonathan jon jonny",
        "zachary zach zack",
        "timothy tim timmy",
        "stephen steven steve stefan steffen",
        "stefanie stephanie steffi steffie",
        "peter pete",
        "philipp phillip philip phil",
        "gottfried gottlieb friedel",
        "rudolf rudi rudolph",
        "ulrich uli ulli",
        "reinhard reini",
        "eberhard ebi",
        "hermann hermi",
        "walter walther walt",
        "georg george schorsch",
        "jurgen juergen",
        "dorothea dorothy dora doris thea",
        "theodor theo ted",
        "gabriele gabi gaby",
        "cornelia conny nele",
        "ursula uschi ulla",
        "jessica jess jessie",
        "kimberley kimberly kim",
        "abigail abby",
        "victoria vicky tori",
        "isabella isabelle bella izzy",
        "olivia liv",
        "jennifer jenny jen",
        "caroline carolin carol caro",
        "madison maddie",
        "mitchell mitch",
        "lachlan lachie",
        "hamish",
        "maximilian max maxi",
        "sebastian basti",
        "florian flo",
        "tobias tobi",
        "dominik domi dome",
        "patrick paddy",
        "theresia theresa therese resi resl",
        "rosemarie rosi",
        "hannelore lore",
        "gertrud gertraud trude trudi",
        "charlotte lotte lotti",
        "konstantinos konstantin kostas costas",
        "hildegard hilde hildi",
        "elfriede elfi friedl",
        "brigitte gitte biggi",
        "monika moni",
        "veronika vroni",
        "sabine bine",
        "ferdinand ferdl ferdi",
        "leopold poldi",
        "alois loisl",
        "siegfried siggi",
        "manfred manni",
        "helmut helmi",
        "wilhelmine mina minna",
        "adelheid heidi",
        "mathilde tilde tilly",
        "irmgard irmi",
        "renate reni",
        "benedikt bene",
        "ulrike rike",
        "mohammed muhammad mohamed mohammad"};
    auto* m = new std::unordered_map<std::string_view, std::string_view>();
    for (std::string_view group : kGroups) {
      std::string_view canonical = group.substr(0, group.find(' '));
      size_t pos = 0;
      while (pos < group.size()) {
        size_t end = group.find(' ', pos);
        if (end == std::string_view::npos) end = group.size();
        m->emplace(group.substr(pos, end - pos), canonical);  // first group wins
        pos = end + 1;
      }
    }
    return m;
  }();
  return *kMap;
}

const std::unordered_set<std::string_view>& Titles() {
  static const auto* kSet = new std::unordered_set<std::string_view>{
      "dr",   "prof", "professor", "herr", "frau", "hr",   "fr",   "mr",  "mrs", "ms", "miss",
      "dipl", "ing",  "med",       "rer",  "nat",  "phil", "jur",  "mag", "sir", "jr", "sr",
      "jun",  "sen",  "ii",        "iii",  "phd",  "md",   "dott", "mme", "mlle"};
  return *kSet;
}

const std::unordered_set<std::string_view>& Particles() {
  static const auto* kSet = new std::unordered_set<std::string_view>{
      "von", "van", "der", "den", "de", "del", "della", "di",  "da", "du", "zu",     "zum",
      "zur", "vom", "ten", "ter", "le", "la",  "dos",   "das", "af", "av", "vander", "vonder"};
  return *kSet;
}

std::string Join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out.push_back(' ');
    out.append(p);
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Street-type words in their canonical short form. German compounds ("hauptstrasse") are
// split so that "Haupt-Straße" and "Hauptstr." agree.
struct StreetSuffix {
  std::string_view long_form;
  std::string_view short_form;
};
constexpr StreetSuffix kCompoundSuffixes[] = {
    {"strasse", "str"}, {"str", "str"},   {"platz", "pl"},  {"allee", "allee"}, {"weg", "weg"},
    {"gasse", "gasse"}, {"ring", "ring"}, {"damm", "damm"}, {"street", "st"}};
const std::unordered_map<std::string_view, std::string_view>& StreetWords() {
  static const auto* kMap = new std::unordered_map<std::string_view, std::string_view>{
      {"strasse", "str"}, {"str", "str"},     {"platz", "pl"}, {"pl", "pl"},
      {"street", "st"},   {"st", "st"},       {"road", "rd"},  {"rd", "rd"},
      {"avenue", "ave"},  {"av", "ave"},      {"ave", "ave"},  {"crescent", "cres"},
      {"cres", "cres"},   {"cr", "cres"},     {"place", "pl"}, {"circuit", "cct"},
      {"cct", "cct"},     {"drive", "dr"},    {"dr", "dr"},    {"court", "ct"},
      {"ct", "ct"},       {"lane", "ln"},     {"ln", "ln"},    {"close", "cl"},
      {"cl", "cl"},       {"terrace", "tce"}, {"tce", "tce"},  {"parade", "pde"},
      {"pde", "pde"},     {"highway", "hwy"}, {"hwy", "hwy"},  {"boulevard", "blvd"},
      {"blvd", "blvd"},   {"square", "sq"},   {"sq", "sq"},    {"mount", "mt"},
      {"mt", "mt"},       {"saint", "st"},    {"sankt", "st"}};
  return *kMap;
}

}  // namespace

bool IsPlaceholder(std::string_view raw) {
  std::string t = LowerAscii(Trim(raw));
  if (t.empty()) return true;
  return Placeholders().count(t) > 0;
}

std::string FoldText(std::string_view raw) {
  if (IsPlaceholder(raw)) return {};
  std::string out;
  if (IsAscii(raw)) {
    out.reserve(raw.size());
    for (char c : raw) AppendFolded(out, c);
  } else {
    out = FoldUnicode(raw);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  if (b > 0) out.erase(0, b);
  if (IsPlaceholder(out)) return {};
  return out;
}

std::string LooseSpelling(std::string_view folded) {
  std::string out;
  out.reserve(folded.size());
  for (size_t i = 0; i < folded.size(); ++i) {
    char c = folded[i];
    if (c == 'e' && !out.empty() && (out.back() == 'a' || out.back() == 'o' || out.back() == 'u') &&
        i >= 1 && folded[i - 1] == out.back()) {
      continue;  // ae/oe/ue → a/o/u
    }
    if (!out.empty() && out.back() == c && std::isalpha(static_cast<unsigned char>(c))) continue;
    out.push_back(c);
  }
  return out;
}

std::vector<std::string_view> Tokens(std::string_view folded) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < folded.size()) {
    size_t end = folded.find(' ', pos);
    if (end == std::string_view::npos) end = folded.size();
    if (end > pos) out.push_back(folded.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string_view CanonicalFirstName(std::string_view folded) {
  const auto& m = Nicknames();
  auto it = m.find(folded);
  return it == m.end() ? folded : it->second;
}

GivenName NormalizeGivenName(std::string_view raw) {
  GivenName g;
  std::string folded = FoldText(raw);
  std::vector<std::string_view> kept;
  for (std::string_view t : Tokens(folded)) {
    if (Titles().count(t)) continue;
    kept.push_back(t);
  }
  if (kept.empty()) return g;
  g.full = Join(kept);
  g.first = std::string(kept.front());
  g.initial = g.first.size() == 1;
  g.canonical = std::string(CanonicalFirstName(g.first));
  return g;
}

std::string NormalizeSurname(std::string_view raw) {
  std::string folded = FoldText(raw);
  std::vector<std::string_view> kept;
  std::vector<std::string_view> tokens = Tokens(folded);
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view t = tokens[i];
    if (Titles().count(t)) continue;
    // A particle only when something follows; "De" alone is a surname.
    if (Particles().count(t) && i + 1 < tokens.size()) continue;
    kept.push_back(t);
  }
  return Join(kept);
}

StreetAddress NormalizeStreet(std::string_view street, std::string_view house_number) {
  StreetAddress a;
  std::string folded = FoldText(street);
  std::vector<std::string_view> tokens = Tokens(folded);
  std::string number_text = FoldText(house_number);
  if (number_text.empty() && !tokens.empty()) {
    // "Hauptstraße 5a" (German order) or "12 Smith Street" (English order).
    size_t last_digit = tokens.size();
    for (size_t i = 1; i < tokens.size(); ++i) {
      if (std::isdigit(static_cast<unsigned char>(tokens[i][0]))) {
        last_digit = i;
        break;
      }
    }
    if (last_digit == tokens.size() && std::isdigit(static_cast<unsigned char>(tokens[0][0]))) {
      last_digit = 0;
    }
    if (last_digit < tokens.size() && last_digit > 0) {
      std::vector<std::string_view> num(tokens.begin() + last_digit, tokens.end());
      number_text = Join(num);
      tokens.resize(last_digit);
    } else if (last_digit == 0 && tokens.size() > 1) {
      number_text = std::string(tokens.front());
      tokens.erase(tokens.begin());
    }
  }
  std::vector<std::string> parts;
  for (std::string_view t : tokens) {
    auto it = StreetWords().find(t);
    if (it != StreetWords().end()) {
      parts.emplace_back(it->second);
      continue;
    }
    bool split = false;
    for (const StreetSuffix& s : kCompoundSuffixes) {
      if (t.size() > s.long_form.size() + 2 && EndsWith(t, s.long_form)) {
        parts.emplace_back(t.substr(0, t.size() - s.long_form.size()));
        parts.emplace_back(s.short_form);
        split = true;
        break;
      }
    }
    if (!split) parts.emplace_back(t);
  }
  for (const std::string& p : parts) {
    if (!a.street.empty()) a.street.push_back(' ');
    a.street += p;
  }
  // House number: leading digits are the number, the rest ("a", "7" of "5-7") the suffix.
  size_t i = 0;
  while (i < number_text.size() && number_text[i] == ' ') ++i;
  while (i < number_text.size() && std::isdigit(static_cast<unsigned char>(number_text[i]))) {
    a.number.push_back(number_text[i++]);
  }
  for (; i < number_text.size(); ++i) {
    if (number_text[i] != ' ') a.suffix.push_back(number_text[i]);
  }
  // Strip leading zeros so "05" = "5"; "0" alone is a placeholder.
  size_t nz = a.number.find_first_not_of('0');
  a.number = nz == std::string::npos ? "" : a.number.substr(nz);
  return a;
}

std::string NormalizePostcode(std::string_view raw) {
  if (IsPlaceholder(raw)) return {};
  std::string out;
  for (char c : raw) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  if (out.find_first_not_of('0') == std::string::npos) return {};
  return out;
}

std::optional<std::string> NormalizePhone(std::string_view raw, std::string_view default_region) {
  if (IsPlaceholder(raw) || raw.size() > 64) return std::nullopt;
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(std::string(raw), std::string(default_region), &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  if (!util->IsPossibleNumber(number)) return std::nullopt;
  std::string out;
  util->Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

std::optional<EmailAddress> NormalizeEmail(std::string_view raw) {
  std::string t = LowerAscii(Trim(raw));
  if (IsPlaceholder(t)) return std::nullopt;
  size_t at = t.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= t.size()) return std::nullopt;
  std::string local = t.substr(0, at);
  std::string domain = t.substr(at + 1);
  if (domain.find('.') == std::string::npos || domain.find(' ') != std::string::npos ||
      local.find(' ') != std::string::npos) {
    return std::nullopt;
  }
  EmailAddress e;
  size_t plus = local.find('+');
  if (plus != std::string::npos) {
    e.tag = local.substr(plus + 1);
    local.resize(plus);
    if (local.empty()) return std::nullopt;
  }
  if (domain == "googlemail.com") domain = "gmail.com";
  if (domain == "gmail.com") local.erase(std::remove(local.begin(), local.end(), '.'), local.end());
  e.canonical = local + "@" + domain;
  return e;
}

namespace {

// The calendar date a raw value spells, before asking whether it is plausible.
std::optional<Date> ParseDateParts(std::string_view raw) {
  std::string t = Trim(raw);
  // Cut a time part ("1980-05-17T00:00:00Z", "17.05.1980 00:00").
  size_t cut = t.find_first_of("T ");
  if (cut != std::string::npos && cut >= 8) t.resize(cut);
  int parts[3] = {0, 0, 0};
  int n = 0;
  char sep = 0;
  std::string digits;
  for (char c : t) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c == '-' || c == '.' || c == '/') {
      if (n >= 2 || digits.empty() || digits.size() > 4) return std::nullopt;
      if (sep != 0 && c != sep) return std::nullopt;
      sep = c;
      parts[n++] = std::stoi(digits);
      digits.clear();
    } else {
      return std::nullopt;
    }
  }
  Date d;
  if (sep == 0) {
    if (digits.size() != 8) return std::nullopt;
    d.year = std::stoi(digits.substr(0, 4));
    d.month = std::stoi(digits.substr(4, 2));
    d.day = std::stoi(digits.substr(6, 2));
  } else {
    if (n != 2 || digits.empty() || digits.size() > 4) return std::nullopt;
    parts[2] = std::stoi(digits);
    size_t first_len = t.find(sep);
    if (first_len == 4) {  // ISO order
      d = {parts[0], parts[1], parts[2]};
    } else {
      d = {parts[2], parts[1], parts[0]};
      if (parts[0] <= 12 && parts[1] > 12 && sep == '/') d = {parts[2], parts[0], parts[1]};
      if (d.year < 100) d.year += d.year <= 30 ? 2000 : 1900;  // two-digit years
    }
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d.year < 1 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > kDays[d.month - 1]) {
    return std::nullopt;
  }
  return d;
}

// Dates that systems and clerks write for "unknown": the zero dates of spreadsheets
// (30.12.1899) and Unix (01.01.1970), 01.01.1900/1901, and anything before 1900 or after
// 2200, which no living customer was born on.
bool IsPlaceholderDateValue(const Date& d) {
  if (d.year < 1900 || d.year > 2200) return true;
  if (d.month != 1 || d.day != 1) return false;
  return d.year == 1900 || d.year == 1901 || d.year == 1970;
}

}  // namespace

std::optional<Date> ParseDate(std::string_view raw) {
  std::optional<Date> d = ParseDateParts(raw);
  if (!d || IsPlaceholderDateValue(*d)) return std::nullopt;
  return d;
}

bool IsPlaceholderDate(std::string_view raw) {
  std::optional<Date> d = ParseDateParts(raw);
  return d && IsPlaceholderDateValue(*d);
}

}  // namespace rapport::identity

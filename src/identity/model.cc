// Normalization per comparison kind, comparison levels, Fellegi–Sunter weights with
// term-frequency adjustment, EM training and explanations.

#include "identity/model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <thread>

#include "identity/comparators.h"
#include "identity/normalize.h"

namespace rapport::identity {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view FirstToken(std::string_view s) { return s.substr(0, s.find(' ')); }

FieldValue NormalizeValue(ComparisonKind kind, std::string_view v1, std::string_view v2,
                          const std::string& region) {
  FieldValue f;
  switch (kind) {
    case ComparisonKind::kGivenName: {
      GivenName g = NormalizeGivenName(v1);
      f.a = g.full;
      f.b = LooseSpelling(g.first);
      f.c = g.canonical;
      f.num = 0;
      break;
    }
    case ComparisonKind::kSurname:
      f.a = NormalizeSurname(v1);
      f.b = LooseSpelling(f.a);
      if (!f.a.empty()) f.c = KoelnerPhonetik(f.a);
      break;
    case ComparisonKind::kBirthDate:
      if (auto d = ParseDate(v1)) {
        f.num = d->year * 10000 + d->month * 100 + d->day;
      } else if (!IsPlaceholder(v1) && !IsPlaceholderDate(v1)) {
        // Unparseable but present (e.g. "19810231"): keep its digits for a typo comparison.
        for (char c : v1)
          if (std::isdigit(static_cast<unsigned char>(c))) f.a.push_back(c);
        if (f.a.find_first_not_of('0') == std::string::npos) f.a.clear();
      }
      break;
    case ComparisonKind::kAddress: {
      StreetAddress s = NormalizeStreet(v1, v2);
      f.a = s.street;
      f.b = s.number;
      f.c = s.suffix;
      if (f.a.empty()) f.b.clear(), f.c.clear();
      break;
    }
    case ComparisonKind::kPostcode:
      f.a = NormalizePostcode(v1);
      break;
    case ComparisonKind::kCity:
    case ComparisonKind::kText:
      f.a = FoldText(v1);
      f.b = LooseSpelling(f.a);
      break;
    case ComparisonKind::kExact:
      f.a = FoldText(v1);
      break;
    case ComparisonKind::kEmail:
      if (auto e = NormalizeEmail(v1)) {
        f.a = e->canonical;
        f.b = e->canonical.substr(0, e->canonical.find('@'));
        f.c = e->tag;
      }
      break;
    case ComparisonKind::kPhone:
      if (auto p = NormalizePhone(v1, region)) f.a = *p;
      break;
    case ComparisonKind::kId:
      if (!IsPlaceholder(v1)) {
        for (char c : v1)
          if (std::isalnum(static_cast<unsigned char>(c)))
            f.a.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        if (f.a.find_first_not_of('0') == std::string::npos) f.a.clear();
      }
      break;
    case ComparisonKind::kNumber:
      if (!IsPlaceholder(v1)) f.a = FoldText(v1);
      break;
  }
  return f;
}

int LastLevel(ComparisonKind k) { return static_cast<int>(LevelNames(k).size()) - 1; }

// "karl heinz" and "karlheinz", "hans-peter" and "hanspeter": one name, spaced differently.
bool SameWithoutSpaces(std::string_view x, std::string_view y) {
  size_t i = 0, j = 0;
  for (;;) {
    while (i < x.size() && x[i] == ' ') ++i;
    while (j < y.size() && y[j] == ' ') ++j;
    if (i == x.size() || j == y.size()) return i == x.size() && j == y.size();
    if (x[i++] != y[j++]) return false;
  }
}

// How the names after the first of two given names relate: "Hans-Jürgen" and "Hans-Werner"
// are two people, "Anna" and "Anna-Lena" may be one, "Hans P." and "Hans Peter" are.
enum class LaterNames { kNone, kSame, kOneHasNone, kSimilar, kDifferent };

LaterNames CompareLaterNames(std::string_view x, std::string_view y) {
  auto rest = [](std::string_view full) {
    size_t space = full.find(' ');
    return space == std::string_view::npos ? std::string_view{} : full.substr(space + 1);
  };
  std::string_view rx = rest(x), ry = rest(y);
  if (rx.empty() && ry.empty()) return LaterNames::kNone;
  if (rx.empty() || ry.empty()) return LaterNames::kOneHasNone;
  if (rx == ry) return LaterNames::kSame;
  std::string_view sx = FirstToken(rx), sy = FirstToken(ry);
  if ((sx.size() == 1 || sy.size() == 1) && sx[0] == sy[0]) return LaterNames::kSame;
  if (JaroWinklerAtLeast(rx, ry, 0.92) || WithinOneEdit(rx, ry)) return LaterNames::kSimilar;
  return LaterNames::kDifferent;
}

int CompareGiven(const FieldValue& x, const FieldValue& y) {
  std::string_view fx = FirstToken(x.a), fy = FirstToken(y.a);
  bool ix = fx.size() == 1, iy = fy.size() == 1;
  if (x.a == y.a) return 0;
  if (!ix && !iy) {
    int first = fx == fy ? 0 : x.b == y.b ? 1 : x.c == y.c ? 2 : -1;
    if (first >= 0) {
      switch (CompareLaterNames(x.a, y.a)) {
        case LaterNames::kDifferent:
          return 6;
        case LaterNames::kOneHasNone:
        case LaterNames::kSimilar:
          return std::max(first, 3);
        default:
          return first;
      }
    }
  }
  if (ix || iy) return fx[0] == fy[0] ? 4 : 6;
  const bool spaced = x.a.find(' ') != std::string::npos || y.a.find(' ') != std::string::npos;
  if (spaced && SameWithoutSpaces(x.a, y.a)) return 1;
  // Below 0.80 both thresholds fail alike, so a sure "below" stands for the value.
  double jw = JaroWinklerBelow(fx, fy, 0.80) ? 0.0 : JaroWinkler(fx, fy);
  if (jw >= 0.92) return 3;
  // One slip of the keyboard in the loose spelling ("Sören" → "Ssren"): Jaro-Winkler punishes
  // short names for it far more than a typist deserves.
  if (x.b.size() >= 4 && y.b.size() >= 4 && WithinOneEdit(x.b, y.b)) return 3;
  // "Johann Georg" vs "Georg": a shared later name. Most pairs are single names: no token
  // lists are built for them (this runs for every candidate pair of a batch).
  if (spaced) {
    for (std::string_view tx : Tokens(x.a)) {
      for (std::string_view ty : Tokens(y.a)) {
        if (tx.size() > 1 && tx == ty) return 3;
      }
    }
  }
  if (jw >= 0.80) return 5;
  return 6;
}

int CompareSurname(const FieldValue& x, const FieldValue& y) {
  if (x.a == y.a) return 0;
  if (x.b == y.b) return 1;
  // Double names: "Müller-Lüdenscheidt" vs "Müller".
  if (x.b.find(' ') != std::string::npos || y.b.find(' ') != std::string::npos) {
    std::vector<std::string_view> tx = Tokens(x.b), ty = Tokens(y.b);
    if (tx.size() > 1 || ty.size() > 1) {
      for (auto a : tx)
        for (auto b : ty)
          if (a == b && a.size() > 2) return 1;
    }
  }
  double jw = JaroWinklerBelow(x.a, y.a, 0.80) ? 0.0 : JaroWinkler(x.a, y.a);
  if (jw >= 0.92) return 2;
  if (jw >= 0.80 || x.c == y.c) return 3;
  return 4;
}

int CompareDate(const FieldValue& x, const FieldValue& y) {
  if (x.num != 0 && y.num != 0) {
    Date a{x.num / 10000, x.num / 100 % 100, x.num % 100};
    Date b{y.num / 10000, y.num / 100 % 100, y.num % 100};
    switch (CompareDates(a, b)) {
      case DateRelation::kExact:
        return 0;
      case DateRelation::kDayMonthSwapped:
        return 1;
      case DateRelation::kOneTypo:
        return 2;
      case DateRelation::kYearOffByOne:
        return 3;
      default:
        return 4;
    }
  }
  char buf[16];
  std::string sx = x.a, sy = y.a;
  if (x.num != 0) std::snprintf(buf, sizeof buf, "%08d", x.num), sx = buf;
  if (y.num != 0) std::snprintf(buf, sizeof buf, "%08d", y.num), sy = buf;
  if (sx == sy) return 0;
  return WithinOneEdit(sx, sy) ? 2 : 4;
}

int CompareAddress(const FieldValue& x, const FieldValue& y) {
  bool same = x.a == y.a;
  bool similar = same || JaroWinklerAtLeast(x.a, y.a, 0.9) || TokenSetSimilarity(x.a, y.a) >= 0.8;
  if (!similar) return 4;
  if (x.b.empty() || y.b.empty()) return 2;
  bool suffix_ok = x.c == y.c || x.c.empty() || y.c.empty();
  if (x.b == y.b && suffix_ok) return same ? 0 : 1;
  return 3;
}

int CompareFuzzy(const FieldValue& x, const FieldValue& y) {
  if (x.a == y.a || x.b == y.b) return 0;
  if (JaroWinklerAtLeast(x.a, y.a, 0.9) || TokenSetSimilarity(x.a, y.a) >= 0.8) return 1;
  return 2;
}

int CompareLevel(ComparisonKind kind, const FieldValue& x, const FieldValue& y) {
  if (x.missing() || y.missing()) return -1;
  switch (kind) {
    case ComparisonKind::kGivenName:
      return CompareGiven(x, y);
    case ComparisonKind::kSurname:
      return CompareSurname(x, y);
    case ComparisonKind::kBirthDate:
      return CompareDate(x, y);
    case ComparisonKind::kAddress:
      return CompareAddress(x, y);
    case ComparisonKind::kPostcode:
      if (x.a == y.a) return 0;
      return WithinOneEdit(x.a, y.a) ? 1 : 2;
    case ComparisonKind::kCity:
    case ComparisonKind::kText:
      return CompareFuzzy(x, y);
    case ComparisonKind::kExact:
      return x.a == y.a ? 0 : 1;
    case ComparisonKind::kEmail: {
      if (x.a == y.a) return 0;
      // Not "same local part": local parts are usually made of the name, so that agreement
      // says nothing beyond the name comparisons.
      // Digits differ ("weber82" vs "weber86"): numbered addresses of different people.
      auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
      auto same_digits = [&](std::string_view p, std::string_view q) {
        size_t i = 0, j = 0;
        for (;;) {
          while (i < p.size() && !is_digit(p[i])) ++i;
          while (j < q.size() && !is_digit(q[j])) ++j;
          if (i == p.size() || j == q.size()) return i == p.size() && j == q.size();
          if (p[i++] != q[j++]) return false;
        }
      };
      if (!same_digits(x.a, y.a)) return 2;
      return WithinOneEdit(x.a, y.a) ? 1 : 2;
    }
    case ComparisonKind::kPhone: {
      if (x.a == y.a) return 0;
      size_t n = 7;
      if (x.a.size() >= n && y.a.size() >= n &&
          x.a.compare(x.a.size() - n, n, y.a, y.a.size() - n, n) == 0) {
        return 1;
      }
      return 2;
    }
    case ComparisonKind::kId:
      if (x.a == y.a) return 0;
      return x.a.size() >= 5 && WithinOneEdit(x.a, y.a) ? 1 : 2;
    case ComparisonKind::kNumber: {
      if (x.a == y.a) return 0;
      char* ex = nullptr;
      char* ey = nullptr;
      double a = std::strtod(x.a.c_str(), &ex), b = std::strtod(y.a.c_str(), &ey);
      if (*ex == 0 && *ey == 0 && RelativeNumberDifference(a, b) <= 0.05) return 1;
      return 2;
    }
  }
  return -1;
}

// Built-in m and u per level: typical of customer data, chosen so that the untrained model
// gets S2-like cases right and EM has a sensible start.
ComparisonParams DefaultParams(ComparisonKind kind) {
  switch (kind) {
    case ComparisonKind::kGivenName:
      return {{0.80, 0.04, 0.03, 0.05, 0.03, 0.02, 0.03},
              {0.004, 0.0005, 0.001, 0.003, 0.05, 0.02, 0.9215}};
    case ComparisonKind::kSurname:
      return {{0.85, 0.04, 0.04, 0.03, 0.04}, {0.002, 0.0003, 0.001, 0.01, 0.9867}};
    case ComparisonKind::kBirthDate:
      return {{0.88, 0.02, 0.05, 0.01, 0.04}, {4e-5, 1e-5, 4e-4, 1e-4, 0.99945}};
    case ComparisonKind::kAddress:
      return {{0.78, 0.06, 0.04, 0.001, 0.119}, {1e-5, 1e-5, 1e-5, 0.001, 0.99897}};
    case ComparisonKind::kPostcode:
      return {{0.88, 0.05, 0.07}, {0.002, 0.01, 0.988}};
    case ComparisonKind::kCity:
      return {{0.88, 0.05, 0.07}, {0.005, 0.005, 0.99}};
    case ComparisonKind::kText:
      return {{0.8, 0.1, 0.1}, {0.01, 0.01, 0.98}};
    case ComparisonKind::kExact:
      return {{0.95, 0.05}, {0.2, 0.8}};
    case ComparisonKind::kEmail:
      return {{0.75, 0.05, 0.2}, {1e-7, 1e-5, 0.9999899}};
    case ComparisonKind::kPhone:
      return {{0.7, 0.05, 0.25}, {1e-6, 1e-5, 0.999989}};
    case ComparisonKind::kId:
      return {{0.88, 0.06, 0.06}, {1e-7, 1e-6, 0.9999989}};
    case ComparisonKind::kNumber:
      return {{0.8, 0.1, 0.1}, {0.01, 0.02, 0.97}};
  }
  return {};
}

// The value whose frequency adjusts an exact agreement: the first given name (a second
// given name makes the full form rare without making the person easier to tell apart).
std::string_view TfValue(ComparisonKind k, const FieldValue& f) {
  if (k == ComparisonKind::kGivenName) return FirstToken(f.a);
  return f.a;
}

bool UsesTermFrequency(ComparisonKind k) {
  return k == ComparisonKind::kGivenName || k == ComparisonKind::kSurname ||
         k == ComparisonKind::kCity;
}

// Attributes that people of one household (or one street) share, so their agreement says
// little about identity once the first names disagree (or the house numbers differ).
bool SharedByHousehold(ComparisonKind k) {
  return k == ComparisonKind::kSurname || k == ComparisonKind::kAddress ||
         k == ComparisonKind::kPostcode || k == ComparisonKind::kCity ||
         k == ComparisonKind::kPhone || k == ComparisonKind::kText || k == ComparisonKind::kExact;
}
bool SharedByStreet(ComparisonKind k) {
  return k == ComparisonKind::kAddress || k == ComparisonKind::kPostcode ||
         k == ComparisonKind::kCity || k == ComparisonKind::kText || k == ComparisonKind::kExact;
}

double Log2(double x) { return std::log2(std::max(x, 1e-300)); }

void Normalize(std::vector<double>& v, double floor) {
  double s = 0;
  for (double& x : v) {
    x = std::max(x, floor);
    s += x;
  }
  for (double& x : v) x /= s;
}

// Kinds whose values a data-entry habit turns into placeholders (see CountValues).
bool MayHavePlaceholders(ComparisonKind k) {
  return k == ComparisonKind::kBirthDate || k == ComparisonKind::kEmail ||
         k == ComparisonKind::kPhone;
}

std::string PlaceholderKey(ComparisonKind k, const FieldValue& f) {
  if (k == ComparisonKind::kBirthDate) return f.num != 0 ? std::to_string(f.num) : std::string();
  return f.a;
}

// Why EM's m for one comparison cannot describe "the same person", or "" when it may be used.
std::string EmGuard(const std::vector<double>& m, const std::vector<double>& u,
                    const std::vector<double>& prior) {
  const size_t last = m.size() - 1;
  char buf[200];
  if (m[0] < 2 * u[0]) {
    std::snprintf(buf, sizeof buf,
                  "exact agreement is not clearly more likely among matches (m %.3g, u %.3g)", m[0],
                  u[0]);
    return buf;
  }
  if (m[last] > 0.5 * u[last]) {
    std::snprintf(buf, sizeof buf,
                  "disagreement almost as likely among matches as among random pairs "
                  "(m %.3g, u %.3g)",
                  m[last], u[last]);
    return buf;
  }
  // Customer data has known error rates: EM may adjust them, not turn them upside down. (Too
  // little disagreement is not a sign of the wrong class; its floor is applied afterwards.)
  if (m[last] > 4 * prior[last]) {
    std::snprintf(buf, sizeof buf, "disagreement among matches %.3g, over 4 x its prior %.3g",
                  m[last], prior[last]);
    return buf;
  }
  return "";
}

}  // namespace

std::string DescribeValue(ComparisonKind kind, const FieldValue& f) {
  if (f.missing()) return "";
  switch (kind) {
    case ComparisonKind::kBirthDate:
      if (f.num != 0) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", f.num / 10000, f.num / 100 % 100,
                      f.num % 100);
        return buf;
      }
      return f.a;
    case ComparisonKind::kAddress:
      return f.a + (f.b.empty() ? "" : " " + f.b + f.c);
    case ComparisonKind::kEmail:
      return f.c.empty() ? f.a : f.a + " (tag " + f.c + ")";
    default:
      return f.a;
  }
}

// --- RecordNormalizer ---

bool SplitCommaName(std::string_view given, std::string_view surname, std::string* given_out,
                    std::string* surname_out) {
  auto split = [](std::string_view s, std::string* before, std::string* after) {
    size_t comma = s.find(',');
    if (comma == std::string_view::npos) return false;
    *before = FoldText(s.substr(0, comma)).empty() ? "" : std::string(s.substr(0, comma));
    *after = FoldText(s.substr(comma + 1)).empty() ? "" : std::string(s.substr(comma + 1));
    return !before->empty() && !after->empty();
  };
  std::string before, after;
  if (given.find(',') != std::string_view::npos && split(given, &before, &after) &&
      (FoldText(surname).empty() || FoldText(surname) == FoldText(before))) {
    *given_out = after;
    *surname_out = before;
    return true;
  }
  if (surname.find(',') != std::string_view::npos && FoldText(given).empty() &&
      split(surname, &before, &after)) {
    *given_out = after;
    *surname_out = before;
    return true;
  }
  return false;
}

bool SplitWholeName(std::string_view whole, std::string* given_out, std::string* surname_out) {
  if (SplitCommaName(whole, "", given_out, surname_out)) return true;
  static const std::set<std::string, std::less<>> kParticles = {
      "von", "van", "vom", "zu", "zum", "zur", "de",  "der", "den",
      "di",  "da",  "del", "la", "le",  "ten", "ter", "al",  "el"};
  static const std::set<std::string, std::less<>> kSalutations = {
      "herr", "frau", "hr", "fr", "dr", "prof", "dipl", "ing", "mr", "mrs", "ms", "miss"};
  std::vector<std::string_view> words;
  for (size_t i = 0; i < whole.size();) {
    size_t j = whole.find_first_of(" \t", i);
    if (j == std::string_view::npos) j = whole.size();
    if (j > i) words.push_back(whole.substr(i, j - i));
    i = j + 1;
  }
  size_t first = 0;
  while (first + 1 < words.size() && kSalutations.count(FoldText(words[first]))) ++first;
  if (first >= words.size()) return false;
  size_t family = words.size() - 1;
  while (family > first + 1 && kParticles.count(FoldText(words[family - 1]))) --family;
  auto join = [&](size_t from, size_t to) {
    std::string out;
    for (size_t i = from; i < to; ++i) out += (out.empty() ? "" : " ") + std::string(words[i]);
    return out;
  };
  *given_out = join(first, family);
  *surname_out = join(family, words.size());
  return true;
}

Result<RecordNormalizer> RecordNormalizer::Create(const MatchConfig& config,
                                                  const std::vector<std::string>& header) {
  RecordNormalizer n;
  n.config_ = config;
  n.header_ = header;
  for (const auto& h : header) n.header_lower_.push_back(Lower(h));
  auto find = [&](const std::string& name) {
    std::string want = Lower(name);
    for (size_t i = 0; i < header.size(); ++i)
      if (Lower(header[i]) == want) return static_cast<int>(i);
    return -1;
  };
  n.id_column_ = find(config.id_column);
  if (n.id_column_ < 0) {
    return InvalidArgument("id column '" + config.id_column + "' is not in the header");
  }
  for (const auto& spec : config.comparisons) {
    int index = static_cast<int>(n.columns_.size());
    if (spec.kind == ComparisonKind::kGivenName && n.given_ < 0) n.given_ = index;
    if (spec.kind == ComparisonKind::kSurname && n.surname_ < 0) n.surname_ = index;
    std::vector<int> cols;
    for (const auto& c : spec.columns) {
      int i = find(c);
      if (i < 0) return InvalidArgument("column '" + c + "' is not in the header", c);
      cols.push_back(i);
    }
    n.columns_.push_back(std::move(cols));
  }
  return n;
}

NormalizedRecord RecordNormalizer::Normalize(const std::vector<std::string>& row) const {
  static const std::string kEmpty;
  auto get = [&](int i) -> const std::string& {
    return i >= 0 && static_cast<size_t>(i) < row.size() ? row[i] : kEmpty;
  };
  NormalizedRecord r;
  r.id = get(id_column_);
  r.values.reserve(columns_.size());
  // "Müller, Johann" written into one of the name fields: the part before the comma is the
  // surname, the rest the given name (only when the other field is empty or says the same).
  // A whole-name column (both fields read from it) is split into its parts.
  std::string given, surname;
  const bool names_split = given_ >= 0 && surname_ >= 0 &&
                           (columns_[given_][0] == columns_[surname_][0]
                                ? SplitWholeName(get(columns_[given_][0]), &given, &surname)
                                : SplitCommaName(get(columns_[given_][0]),
                                                 get(columns_[surname_][0]), &given, &surname));
  for (size_t c = 0; c < columns_.size(); ++c) {
    const auto& cols = columns_[c];
    const std::string& v1 = names_split && static_cast<int>(c) == given_     ? given
                            : names_split && static_cast<int>(c) == surname_ ? surname
                                                                             : get(cols[0]);
    r.values.push_back(NormalizeValue(config_.comparisons[c].kind, v1,
                                      cols.size() > 1 ? get(cols[1]) : kEmpty, config_.region));
  }
  return r;
}

NormalizedRecord RecordNormalizer::Normalize(const Fields& fields) const {
  std::vector<std::string> row(header_.size());
  for (const auto& [name, value] : fields) {
    std::string want = Lower(name);
    for (size_t i = 0; i < header_lower_.size(); ++i) {
      if (header_lower_[i] == want) row[i] = value;
    }
  }
  return Normalize(row);
}

// --- MatchModel ---

MatchModel MatchModel::Default(const MatchConfig& config) {
  MatchModel m;
  m.config_ = config;
  for (size_t i = 0; i < config.comparisons.size(); ++i) {
    const auto& spec = config.comparisons[i];
    m.params_.push_back(DefaultParams(spec.kind));
    if (spec.kind == ComparisonKind::kGivenName && m.given_ < 0) m.given_ = static_cast<int>(i);
    if (spec.kind == ComparisonKind::kSurname && m.surname_ < 0) m.surname_ = static_cast<int>(i);
    if (spec.kind == ComparisonKind::kAddress && m.address_ < 0) m.address_ = static_cast<int>(i);
    if (spec.kind == ComparisonKind::kPostcode && m.postcode_ < 0) {
      m.postcode_ = static_cast<int>(i);
    }
    if (spec.kind == ComparisonKind::kText && spec.name == "address_extra") {
      m.address_extra_ = static_cast<int>(i);
    }
  }
  for (const auto& rule : config.rules) {
    std::vector<int> idx;
    for (const auto& name : rule) {
      for (size_t i = 0; i < config.comparisons.size(); ++i)
        if (config.comparisons[i].name == name) idx.push_back(static_cast<int>(i));
    }
    if (idx.size() == rule.size()) m.rules_.push_back(std::move(idx));
  }
  m.CacheWeights();
  return m;
}

void MatchModel::CacheWeights() {
  level_weights_.clear();
  with_placeholders_.clear();
  placeholder_dates_.assign(params_.size(), {});
  last_level_.clear();
  for (const auto& spec : config_.comparisons) {
    last_level_.push_back(static_cast<int8_t>(LastLevel(spec.kind)));
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    std::vector<double> w;
    for (size_t l = 0; l < p.m.size(); ++l) w.push_back(Log2(p.m[l] / p.u[l]));
    level_weights_.push_back(std::move(w));
    std::sort(p.placeholders.begin(), p.placeholders.end());
    if (p.placeholders.empty()) continue;
    with_placeholders_.push_back(static_cast<int>(i));
    if (config_.comparisons[i].kind == ComparisonKind::kBirthDate) {
      // Dates are kept as their YYYYMMDD number, as FieldValue::num holds them.
      for (const auto& v : p.placeholders) placeholder_dates_[i].push_back(std::atoi(v.c_str()));
      std::sort(placeholder_dates_[i].begin(), placeholder_dates_[i].end());
    }
  }
}

ComparisonVector MatchModel::Compare(const NormalizedRecord& a, const NormalizedRecord& b) const {
  ComparisonVector v;
  CompareInto(a, b, v);
  return v;
}

PairScore MatchModel::Score(const NormalizedRecord& a, const NormalizedRecord& b) const {
  // Batch scoring calls this for every candidate pair: the levels reuse one buffer per thread.
  thread_local ComparisonVector v;
  CompareInto(a, b, v);
  return Score(a, b, v);
}

PairScore MatchModel::Score(const NormalizedRecord& a, const NormalizedRecord& b,
                            const ComparisonVector& v) const {
  int conflict = -1;
  Explanation e = Evaluate(a, b, v, false, &conflict);
  PairScore p{e.probability, conflict >= 0, static_cast<int16_t>(conflict)};
  const size_t n = std::min<size_t>(config_.comparisons.size(), 32);
  for (size_t i = 0; i < n; ++i) {
    int l = v.levels[i];
    if (l < 0) continue;
    (l == last_level_[i] ? p.differs : p.agrees) |= uint32_t{1} << i;
    p.id_agrees |= config_.comparisons[i].kind == ComparisonKind::kId && l <= 1;
  }
  return p;
}

bool MatchModel::IsPlaceholder(size_t comparison, const FieldValue& f) const {
  const auto& values = params_[comparison].placeholders;
  if (values.empty()) return false;
  if (config_.comparisons[comparison].kind == ComparisonKind::kBirthDate) {
    const auto& nums = placeholder_dates_[comparison];
    return std::binary_search(nums.begin(), nums.end(), f.num);
  }
  return std::binary_search(values.begin(), values.end(), f.a);
}

void MatchModel::CompareInto(const NormalizedRecord& a, const NormalizedRecord& b,
                             ComparisonVector& v) const {
  const size_t n = config_.comparisons.size();
  v.levels.resize(n);
  v.names_swapped = false;
  for (size_t i = 0; i < n; ++i) {
    v.levels[i] =
        static_cast<int8_t>(CompareLevel(config_.comparisons[i].kind, a.values[i], b.values[i]));
  }
  // Given name and surname swapped between the records (a common entry error), each perhaps
  // with a typo, or with one of the two names missing on one side ("Caleb" with no surname vs
  // "Scott Caleb"): the names that are there agree crosswise.
  if (given_ >= 0 && surname_ >= 0) {
    int lg = LastLevel(ComparisonKind::kGivenName), ls = LastLevel(ComparisonKind::kSurname);
    const auto &ga = a.values[given_], &gb = b.values[given_];
    const auto &sa = a.values[surname_], &sb = b.values[surname_];
    bool poor_given = v.levels[given_] == lg || v.levels[given_] < 0;
    bool poor_surname = v.levels[surname_] == ls || v.levels[surname_] < 0;
    auto alike = [](const std::string& x, const std::string& y) {
      return JaroWinklerAtLeast(x, y, 0.92) ||
             (x.size() >= 4 && y.size() >= 4 && WithinOneEdit(x, y));
    };
    auto crosswise = [&](const std::string& x, const std::string& y) {
      return !x.empty() && !y.empty() && alike(x, y);
    };
    bool first_cross = crosswise(ga.a, sb.a), second_cross = crosswise(sa.a, gb.a);
    bool first_open = ga.a.empty() || sb.a.empty(), second_open = sa.a.empty() || gb.a.empty();
    if (poor_given && poor_surname &&
        ((first_cross && (second_cross || second_open)) || (second_cross && first_open))) {
      // A name missing on one side is no evidence either way.
      v.levels[given_] = first_cross ? 3 : -1;
      v.levels[surname_] = second_cross ? 2 : -1;
      v.names_swapped = true;
    }
  }
  // The street in the second address line on one record ("Hinterhaus" / "Hauptstr. 5" typed
  // into the wrong lines): the street of each agrees with the other's second line.
  if (address_ >= 0 && address_extra_ >= 0 &&
      v.levels[address_] == LastLevel(ComparisonKind::kAddress) &&
      v.levels[address_extra_] == LastLevel(ComparisonKind::kText)) {
    const auto &ra = a.values[address_], &rb = b.values[address_];
    const auto &xa = a.values[address_extra_], &xb = b.values[address_extra_];
    auto street_in_line = [](const FieldValue& street, const FieldValue& line) {
      std::string other = NormalizeStreet(line.a, "").street;
      return !other.empty() && (JaroWinklerAtLeast(street.a, other, 0.9) ||
                                TokenSetSimilarity(street.a, other) >= 0.8);
    };
    if (street_in_line(ra, xb) && street_in_line(rb, xa)) {
      v.levels[address_] = ra.b.empty() || rb.b.empty() ? 2 : ra.b == rb.b ? 1 : 3;
      v.levels[address_extra_] = -1;  // counted in the address
    }
  }
  // A placeholder agrees with itself on thousands of records and disagrees with every real
  // value: neither says anything about the pair. Only agreement (and, for dates, the
  // disagreement that would be a conflict) is looked up, so most pairs cost nothing here.
  for (int i : with_placeholders_) {
    int l = v.levels[i];
    bool dates = config_.comparisons[i].kind == ComparisonKind::kBirthDate;
    if (l == 0 ? IsPlaceholder(i, a.values[i])
               : dates && l == LastLevel(ComparisonKind::kBirthDate) &&
                     (IsPlaceholder(i, a.values[i]) || IsPlaceholder(i, b.values[i]))) {
      v.levels[i] = -1;
    }
  }
}

int MatchModel::Conflict(const NormalizedRecord& a, const NormalizedRecord& b,
                         const ComparisonVector& v, bool* overruled) const {
  const size_t n = config_.comparisons.size();
  // One national id (tax id, social security number), exactly or one typo apart: the same
  // person, whatever a typist did to the first name or the birth date. Such ids are random
  // and long, so twins and namesakes are not one typo apart (customer numbers are not ids).
  *overruled = false;
  for (size_t i = 0; i < n; ++i) {
    if (config_.comparisons[i].kind == ComparisonKind::kId && v.levels[i] >= 0 &&
        v.levels[i] <= 1) {
      *overruled = true;
    }
  }
  // Renamed and moved, with no e-mail address or phone number in common: a marriage and a
  // move, or two people who share a first name and a birthday, which at a million records most
  // common first names do. Nothing here tells the two apart, so a person decides.
  if (surname_ >= 0 && address_ >= 0 && v.levels[surname_] == LastLevel(ComparisonKind::kSurname) &&
      v.levels[address_] == LastLevel(ComparisonKind::kAddress)) {
    bool contact_agrees = false;
    for (size_t i = 0; i < n; ++i) {
      ComparisonKind kind = config_.comparisons[i].kind;
      contact_agrees |=
          (kind == ComparisonKind::kEmail || kind == ComparisonKind::kPhone) && v.levels[i] == 0;
    }
    if (!contact_agrees) return surname_;
  }
  for (size_t i = 0; i < n; ++i) {
    int l = v.levels[i];
    if (l < 0) continue;
    switch (config_.comparisons[i].kind) {
      case ComparisonKind::kBirthDate:
        // Two real dates that no typing error turns into each other: two people (namesakes,
        // father and son). Unparseable digits are not dates and decide nothing.
        // Only years apart: a day or month typed wrong twice still says "not the same
        // date", and the weight counts that, but is no proof of two people. The price:
        // siblings a year apart with like first names (Lena, Elena) may meet.
        if (l == LastLevel(ComparisonKind::kBirthDate) && a.values[i].num != 0 &&
            b.values[i].num != 0 &&
            std::abs(a.values[i].num / 10000 - b.values[i].num / 10000) >= 2) {
          return static_cast<int>(i);
        }
        break;
      case ComparisonKind::kGivenName:
        // Different first names (not an initial of the other, not a nickname, not a typo, not
        // swapped with the surname): two people, however much else they share (twins,
        // siblings, a couple with one e-mail address).
        if (l == LastLevel(ComparisonKind::kGivenName) && !v.names_swapped) {
          return static_cast<int>(i);
        }
        break;
      default:
        break;
    }
  }
  return -1;
}

void MatchModel::Discounts(const int8_t* levels, bool names_swapped, bool* household,
                           bool* neighbour) const {
  // Household and neighbour discounts (see README: conditional dependence). First names
  // that are at best weakly similar ("Hannah"/"Anna") mark different people of one home.
  bool strong_personal = false;
  bool same_national_id = false;
  const size_t n = config_.comparisons.size();
  for (size_t i = 0; i < n; ++i) {
    int l = levels[i];
    if (l < 0) continue;
    switch (config_.comparisons[i].kind) {
      case ComparisonKind::kBirthDate:
        strong_personal |= l <= 2;
        break;
      // Not e-mail or phone: families share an address and a landline.
      case ComparisonKind::kId:
        strong_personal |= l <= 1;
        same_national_id |= l <= 1;  // as in Conflict: one typo apart is one id
        break;
      default:
        break;
    }
  }
  *neighbour = address_ >= 0 && levels[address_] == 3 && !strong_personal;
  // A typo can make one first name look only weakly like another ("Sarah"/"Srah"); with a
  // shared birth date, e-mail or id that is the same person, not a relative. Relatives never
  // share a national id: with the same one, a different first name is a wrong entry.
  *household = given_ >= 0 && !names_swapped && !same_national_id &&
               (levels[given_] == 6 || (levels[given_] == 5 && !strong_personal));
}

Explanation MatchModel::Evaluate(const NormalizedRecord& a, const NormalizedRecord& b,
                                 const ComparisonVector& v, bool with_text,
                                 int* conflict_comparison) const {
  Explanation e;
  const size_t n = config_.comparisons.size();
  if (with_text) {
    e.left_id = a.id;
    e.right_id = b.id;
    e.fields.resize(n);
  }
  e.names_swapped = v.names_swapped;
  e.prior_weight = Log2(lambda_ / (1 - lambda_));
  bool household = false, neighbour = false;
  Discounts(v.levels.data(), v.names_swapped, &household, &neighbour);
  const bool moved = address_ >= 0 && v.levels[address_] == LastLevel(ComparisonKind::kAddress);
  double total = e.prior_weight;
  char tf_note[64];
  for (size_t i = 0; i < n; ++i) {
    const ComparisonSpec& spec = config_.comparisons[i];
    const ComparisonParams& p = params_[i];
    int l = v.levels[i];
    double w = 0;
    // Static text: batch scoring evaluates every candidate pair and must not allocate.
    std::string_view note;
    if (l >= 0) {
      w = level_weights_[i][l];
      if (l == 0 && UsesTermFrequency(spec.kind) && p.tf_total > 0) {
        auto it = p.tf.find(TfValue(spec.kind, a.values[i]));
        double count = it == p.tf.end() ? 1.0 : it->second;
        double f = count / static_cast<double>(p.tf_total);
        w = Log2(p.m[0] / f);
        if (with_text) {
          std::snprintf(tf_note, sizeof tf_note, "term frequency %.2g", f);
          note = tf_note;
        }
      }
      if (w > 0 && spec.kind == ComparisonKind::kCity && postcode_ >= 0 &&
          v.levels[postcode_] == 0) {
        w = 0;
        note = "not counted: implied by the same postcode";
      } else if (w < 0 && moved &&
                 (spec.kind == ComparisonKind::kPostcode || spec.kind == ComparisonKind::kCity)) {
        w = 0;
        note = "not counted: a move is counted once, in the address";
      } else if (w > 0 && household && SharedByHousehold(spec.kind)) {
        w = 0;
        note = "not counted: shared within households and the first names differ";
      } else if (w > 0 && neighbour && SharedByStreet(spec.kind)) {
        w = 0;
        note = "not counted: different house number on the same street";
      }
    }
    total += w;
    if (with_text) {
      FieldExplanation& f = e.fields[i];
      f.comparison = spec.name;
      f.level_index = l;
      f.level = l < 0 ? "missing" : LevelNames(spec.kind)[l];
      f.weight = w;
      f.left = DescribeValue(spec.kind, a.values[i]);
      f.right = DescribeValue(spec.kind, b.values[i]);
      f.note = std::string(note);
    }
  }
  e.total_weight = total;
  e.probability = total > 60 ? 1.0 : total < -60 ? 0.0 : std::exp2(total) / (1 + std::exp2(total));
  bool overruled = false;
  int c = Conflict(a, b, v, &overruled);
  if (conflict_comparison) *conflict_comparison = overruled ? -1 : c;
  // Batch scoring needs only the index: no name is copied for it.
  if (c >= 0 && (with_text || !conflict_comparison)) {
    (overruled ? e.overruled : e.conflict) = config_.comparisons[c].name;
  }
  for (const auto& rule : rules_) {
    bool all = true;
    for (int i : rule) all = all && v.levels[i] == 0;
    if (all) {
      std::string name;
      for (int i : rule) name += (name.empty() ? "" : "+") + config_.comparisons[i].name;
      e.rule = name;
      e.probability = 1.0;
      break;
    }
  }
  return e;
}

Explanation MatchModel::Explain(const NormalizedRecord& a, const NormalizedRecord& b) const {
  return Evaluate(a, b, Compare(a, b), true);
}

TrainingReport MatchModel::Train(const std::vector<NormalizedRecord>& records,
                                 const std::vector<std::pair<uint32_t, uint32_t>>& candidates,
                                 size_t random_pairs, uint64_t seed) {
  TrainingReport report;
  report.records = records.size();
  const size_t n = config_.comparisons.size();
  if (records.size() < std::max<size_t>(config_.min_records_to_train, 2) || candidates.empty()) {
    training_ = report;
    return report;
  }
  CountValues(records);
  // u from random pairs: what agreement looks like between (almost surely) different people.
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, records.size() - 1);
  std::vector<std::vector<double>> ucount(n);
  std::vector<double> unon(n, 0);
  for (size_t i = 0; i < n; ++i) ucount[i].assign(params_[i].u.size(), 0);
  for (size_t k = 0; k < random_pairs; ++k) {
    size_t x = pick(rng), y = pick(rng);
    if (x == y) continue;
    ComparisonVector v = Compare(records[x], records[y]);
    for (size_t i = 0; i < n; ++i) {
      if (v.levels[i] < 0) continue;
      ucount[i][v.levels[i]] += 1;
      unon[i] += 1;
    }
  }
  report.random_pairs = random_pairs;
  for (size_t i = 0; i < n; ++i) {
    if (unon[i] < 100) continue;  // too little data: keep the default
    std::vector<double> u = ucount[i];
    for (double& x : u) x /= unon[i];
    // Agreement levels never seen among random pairs are rarer than one in `unon`.
    Normalize(u, 0.5 / unon[i]);
    params_[i].u = u;
  }
  // EM over candidate pairs, on distinct comparison patterns with counts. A systematic
  // sample of at most kMaxEmPairs pairs estimates m as well as all of them, at a fraction
  // of the cost on millions of records.
  constexpr size_t kMaxEmPairs = 1000000;
  const size_t stride = std::max<size_t>(1, candidates.size() / kMaxEmPairs);
  std::unordered_map<std::string, double> patterns;
  {
    const unsigned threads = 2;
    std::vector<std::unordered_map<std::string, double>> partial(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (size_t k = t * stride; k < candidates.size(); k += threads * stride) {
          ComparisonVector v = Compare(records[candidates[k].first], records[candidates[k].second]);
          std::string key(reinterpret_cast<const char*>(v.levels.data()), n);
          partial[t][key] += static_cast<double>(stride);
        }
      });
    }
    for (auto& th : pool) th.join();
    for (auto& part : partial)
      for (auto& [k, c] : part) patterns[k] += c;
  }
  report.candidate_pairs = candidates.size();
  std::vector<std::vector<double>> m(n), u(n);
  for (size_t i = 0; i < n; ++i) {
    m[i] = params_[i].m;
    u[i] = params_[i].u;
  }
  double lambda_c = 0.3;
  int it = 0;
  for (; it < 100; ++it) {
    std::vector<std::vector<double>> mnum(n);
    for (size_t i = 0; i < n; ++i) mnum[i].assign(m[i].size(), 0);
    double total_match = 0, total = 0;
    for (const auto& [key, count] : patterns) {
      const int8_t* levels = reinterpret_cast<const int8_t*>(key.data());
      double pm = MatchPosterior(levels, m, u, lambda_c);
      total_match += pm * count;
      total += count;
      for (size_t i = 0; i < n; ++i) {
        int l = levels[i];
        if (l >= 0) mnum[i][l] += pm * count;
      }
    }
    double delta = 0;
    // The built-in m act as a prior worth kPriorPairs matches, so a level that EM sees
    // rarely (a moved address) keeps a plausible probability instead of collapsing to 0.
    const double kPriorPairs = std::max(50.0, 0.01 * static_cast<double>(candidates.size()));
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> nm = mnum[i];
      const ComparisonParams defaults = DefaultParams(config_.comparisons[i].kind);
      for (size_t l = 0; l < nm.size(); ++l) nm[l] += kPriorPairs * defaults.m[l];
      Normalize(nm, 1e-3);
      for (size_t l = 0; l < nm.size(); ++l) delta = std::max(delta, std::fabs(nm[l] - m[i][l]));
      m[i] = nm;
    }
    double new_lambda = std::clamp(total_match / total, 1e-6, 0.999);
    delta = std::max(delta, std::fabs(new_lambda - lambda_c));
    lambda_c = new_lambda;
    if (delta < 1e-5) break;
  }
  report.em_iterations = it + 1;
  // Guards: EM's m is used only where it still separates matches from random pairs and stays
  // within a factor of the prior. A failed identifier (birth date, e-mail, phone, id) or two
  // failed comparisons mean EM's "match" class is not "the same person" (typically: namesakes),
  // and then no m of that class is trusted.
  std::vector<std::string> guards(n);
  int failed = 0;
  bool identifier_failed = false;
  for (size_t i = 0; i < n; ++i) {
    const ComparisonKind kind = config_.comparisons[i].kind;
    guards[i] = EmGuard(m[i], u[i], DefaultParams(kind).m);
    if (guards[i].empty()) continue;
    ++failed;
    identifier_failed |= kind == ComparisonKind::kBirthDate || kind == ComparisonKind::kEmail ||
                         kind == ComparisonKind::kPhone || kind == ComparisonKind::kId;
  }
  const bool distrust_all = identifier_failed || failed >= 2;
  for (size_t i = 0; i < n; ++i) {
    ComparisonTraining t;
    t.name = config_.comparisons[i].name;
    t.m_em = m[i];
    const ComparisonParams defaults = DefaultParams(config_.comparisons[i].kind);
    if (!guards[i].empty() || distrust_all) {
      t.fallback = true;
      t.guard = !guards[i].empty() ? guards[i]
                                   : "EM's match class failed the guards of " +
                                         std::to_string(failed) + " comparison(s)";
      m[i] = defaults.m;
    }
    // People move, change e-mail and phone: disagreement keeps at least half its built-in
    // probability among matches, or EM (which sees few such matches) turns it into a veto.
    size_t last = m[i].size() - 1;
    if (m[i][last] < 0.5 * defaults.m[last]) {
      double rest = 1 - m[i][last];
      double target = 0.5 * defaults.m[last];
      for (size_t l = 0; l < last; ++l) m[i][l] *= (1 - target) / rest;
      m[i][last] = target;
    }
    params_[i].m = m[i];
    // A weaker level never weighs more than a stronger one (sparse levels can look
    // spuriously strong when u is at its floor).
    auto& p = params_[i];
    for (size_t l = 1; l + 1 < p.m.size(); ++l) {
      double ratio_prev = p.m[l - 1] / p.u[l - 1];
      if (p.m[l] / p.u[l] > ratio_prev) p.u[l] = p.m[l] / ratio_prev;
    }
    t.m = p.m;
    t.u = p.u;
    t.placeholders = p.placeholders.size();
    report.comparisons.push_back(std::move(t));
  }
  CacheWeights();
  // The share of matches among candidates for the parameters actually used (EM's own
  // estimate belongs to its class, which a guard may just have rejected).
  for (int k = 0; k < 20; ++k) {
    double total_match = 0, total = 0;
    for (const auto& [key, count] : patterns) {
      total_match +=
          MatchPosterior(reinterpret_cast<const int8_t*>(key.data()), m, u, lambda_c) * count;
      total += count;
    }
    lambda_c = std::clamp(total_match / total, 1e-6, 0.999);
  }
  // Prior over all pairs: the expected matches among candidates, spread over every pair
  // (blocking is assumed to miss few matches).
  double all_pairs = 0.5 * static_cast<double>(records.size()) * (records.size() - 1);
  lambda_ = std::clamp(lambda_c * candidates.size() / all_pairs, 1e-12, 0.5);
  trained_ = true;
  report.trained = true;
  report.lambda = lambda_;
  training_ = report;
  return report;
}

void MatchModel::CountValues(const std::vector<NormalizedRecord>& records) {
  const size_t n = config_.comparisons.size();
  for (size_t i = 0; i < n; ++i) {
    const ComparisonKind kind = config_.comparisons[i].kind;
    auto& p = params_[i];
    if (UsesTermFrequency(kind)) {
      p.tf.clear();
      p.tf_total = 0;
      for (const auto& r : records) {
        std::string_view v = TfValue(kind, r.values[i]);
        if (v.empty()) continue;
        ++p.tf[std::string(v)];
        ++p.tf_total;
      }
    }
    if (MayHavePlaceholders(kind)) {
      // A value shared by ten times more records than values are on average, and by more than
      // ten: thousands of "01.01.1970", a shop's "keine@email.de". Real families share an
      // address or a landline among a handful, far below this.
      std::unordered_map<std::string, uint32_t> counts;
      uint64_t total = 0;
      for (const auto& r : records) {
        std::string key = PlaceholderKey(kind, r.values[i]);
        if (key.empty()) continue;
        ++counts[key];
        ++total;
      }
      p.placeholders.clear();
      if (counts.empty()) continue;
      double limit = std::max(10.0, 10.0 * static_cast<double>(total) / counts.size());
      for (const auto& [value, count] : counts) {
        if (count > limit) p.placeholders.push_back(value);
      }
    }
  }
  CacheWeights();
}

double MatchModel::MatchPosterior(const int8_t* levels, const std::vector<std::vector<double>>& m,
                                  const std::vector<std::vector<double>>& u, double lambda) const {
  const size_t n = config_.comparisons.size();
  bool household = false, neighbour = false;
  Discounts(levels, false, &household, &neighbour);
  const bool moved = address_ >= 0 && levels[address_] == LastLevel(ComparisonKind::kAddress);
  double w = std::log(lambda / (1 - lambda));
  for (size_t i = 0; i < n; ++i) {
    int l = levels[i];
    if (l < 0) continue;
    double wi = std::log(m[i][l] / u[i][l]);
    ComparisonKind kind = config_.comparisons[i].kind;
    // The same discounts as in scoring, or EM learns "lives together" as "is the same".
    if (wi < 0 && moved && (kind == ComparisonKind::kPostcode || kind == ComparisonKind::kCity)) {
      wi = 0;
    }
    if (wi > 0 && ((household && SharedByHousehold(kind)) ||
                   (kind == ComparisonKind::kCity && postcode_ >= 0 && levels[postcode_] == 0) ||
                   (neighbour && SharedByStreet(kind)))) {
      wi = 0;
    }
    w += wi;
  }
  return 1.0 / (1.0 + std::exp(-w));
}

// --- Explanation ---

std::string Explanation::ToText() const {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s vs %s\n", left_id.c_str(), right_id.c_str());
  out += buf;
  for (const auto& f : fields) {
    std::snprintf(buf, sizeof buf, "  %-14s %-30s %+7.2f  %s | %s%s%s\n", f.comparison.c_str(),
                  f.level.c_str(), f.weight, f.left.c_str(), f.right.c_str(),
                  f.note.empty() ? "" : "  (", f.note.empty() ? "" : (f.note + ")").c_str());
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "  %-14s %-30s %+7.2f\n", "prior", "", prior_weight);
  out += buf;
  std::snprintf(buf, sizeof buf, "  total weight %+.2f  probability %.6f%s%s%s\n", total_weight,
                probability, rule.empty() ? "" : "  rule: ", rule.c_str(),
                names_swapped ? "  (given name and surname swapped)" : "");
  out += buf;
  if (!conflict.empty()) {
    out += "  conflict: " + conflict +
           " speaks strongly against one person (never linked automatically)\n";
  }
  if (!overruled.empty()) {
    out += "  overruled: " + overruled +
           " would speak against one person, but the national id agrees\n";
  }
  return out;
}

Json Explanation::ToJson() const {
  Json j;
  j["left_id"] = left_id;
  j["right_id"] = right_id;
  Json fs = Json::array();
  for (const auto& f : fields) {
    Json x = {{"comparison", f.comparison}, {"level", f.level}, {"level_index", f.level_index},
              {"weight", f.weight},         {"left", f.left},   {"right", f.right}};
    if (!f.note.empty()) x["note"] = f.note;
    fs.push_back(std::move(x));
  }
  j["fields"] = std::move(fs);
  j["prior_weight"] = prior_weight;
  j["total_weight"] = total_weight;
  j["probability"] = probability;
  if (!rule.empty()) j["rule"] = rule;
  if (!conflict.empty()) j["conflict"] = conflict;
  if (!overruled.empty()) j["overruled"] = overruled;
  if (names_swapped) j["names_swapped"] = true;
  return j;
}

// --- Training report ---

std::string TrainingReport::ToText(const MatchConfig& config) const {
  std::string out;
  char buf[512];
  if (!trained) {
    std::snprintf(buf, sizeof buf, "model: built-in parameters (%zu records, training needs %zu)\n",
                  records, config.min_records_to_train);
    return buf;
  }
  std::snprintf(buf, sizeof buf,
                "model: trained on %zu records (u from %zu random pairs, m by EM over %zu "
                "candidate pairs, %d iterations), lambda %.3g\n",
                records, random_pairs, candidate_pairs, em_iterations, lambda);
  out += buf;
  for (size_t i = 0; i < comparisons.size() && i < config.comparisons.size(); ++i) {
    const ComparisonTraining& c = comparisons[i];
    std::snprintf(buf, sizeof buf, "  %s: %s%s%s\n", c.name.c_str(),
                  c.fallback ? "prior m (EM rejected: " : "m from EM",
                  c.fallback ? c.guard.c_str() : "", c.fallback ? ")" : "");
    out += buf;
    if (c.placeholders > 0) {
      std::snprintf(buf, sizeof buf, "    %zu frequent value(s) compared as missing\n",
                    c.placeholders);
      out += buf;
    }
    const auto& names = LevelNames(config.comparisons[i].kind);
    for (size_t l = 0; l < c.m.size() && l < names.size(); ++l) {
      std::snprintf(buf, sizeof buf, "    %-30s m %-9.3g u %-9.3g weight %+6.2f   (EM m %.3g)\n",
                    names[l].c_str(), c.m[l], c.u[l], std::log2(c.m[l] / c.u[l]),
                    l < c.m_em.size() ? c.m_em[l] : 0.0);
      out += buf;
    }
  }
  return out;
}

Json TrainingReport::ToJson() const {
  Json j = {{"trained", trained},
            {"records", records},
            {"random_pairs", random_pairs},
            {"candidate_pairs", candidate_pairs},
            {"em_iterations", em_iterations},
            {"lambda", lambda}};
  Json comps = Json::array();
  for (const auto& c : comparisons) {
    Json x = {{"name", c.name}, {"m", c.m}, {"u", c.u}, {"m_em", c.m_em}, {"fallback", c.fallback}};
    if (!c.guard.empty()) x["guard"] = c.guard;
    if (c.placeholders > 0) x["placeholders"] = c.placeholders;
    comps.push_back(std::move(x));
  }
  j["comparisons"] = std::move(comps);
  return j;
}

// --- JSON ---

Json MatchModel::ToJson() const {
  Json j;
  j["version"] = 1;
  Json c;
  c["id"] = config_.id_column;
  c["region"] = config_.region;
  c["threshold"] = config_.threshold;
  c["review_threshold"] = config_.review_threshold;
  c["max_block_size"] = config_.max_block_size;
  c["min_records_to_train"] = config_.min_records_to_train;
  c["blocking"] = config_.blocking;
  c["rules"] = config_.rules;
  Json comps = Json::array();
  for (size_t i = 0; i < config_.comparisons.size(); ++i) {
    const auto& s = config_.comparisons[i];
    const auto& p = params_[i];
    Json x = {{"name", s.name},
              {"kind", KindName(s.kind)},
              {"columns", s.columns},
              {"m", p.m},
              {"u", p.u}};
    if (p.tf_total > 0) {
      Json tf = Json::object();
      for (const auto& [v, count] : p.tf)
        if (count > 1) tf[v] = count;
      x["tf_total"] = p.tf_total;
      x["tf"] = std::move(tf);
    }
    if (!p.placeholders.empty()) x["placeholders"] = p.placeholders;
    comps.push_back(std::move(x));
  }
  c["comparisons"] = std::move(comps);
  j["config"] = std::move(c);
  j["lambda"] = lambda_;
  j["trained"] = trained_;
  if (trained_) j["training"] = training_.ToJson();
  return j;
}

Result<MatchModel> MatchModel::FromJson(const Json& j) {
  try {
    if (!j.is_object() || j.value("version", 0) != 1) {
      return InvalidArgument("not a version 1 match model", "version");
    }
    const Json& c = j.at("config");
    MatchConfig config;
    config.id_column = c.at("id").get<std::string>();
    config.region = c.value("region", "DE");
    config.threshold = c.value("threshold", MatchConfig{}.threshold);
    config.review_threshold =
        c.value("review_threshold", std::min(MatchConfig{}.review_threshold, config.threshold));
    config.max_block_size = c.value("max_block_size", size_t{100});
    config.min_records_to_train = c.value("min_records_to_train", size_t{1000});
    config.blocking = c.at("blocking").get<std::vector<std::vector<std::string>>>();
    config.rules = c.at("rules").get<std::vector<std::vector<std::string>>>();
    std::vector<ComparisonParams> params;
    for (const Json& x : c.at("comparisons")) {
      ComparisonSpec s;
      s.name = x.at("name").get<std::string>();
      ASSIGN_OR_RETURN(s.kind, ParseKind(x.at("kind").get<std::string>()));
      s.columns = x.at("columns").get<std::vector<std::string>>();
      ComparisonParams p;
      p.m = x.at("m").get<std::vector<double>>();
      p.u = x.at("u").get<std::vector<double>>();
      size_t levels = LevelNames(s.kind).size();
      if (p.m.size() != levels || p.u.size() != levels) {
        return InvalidArgument("m and u need " + std::to_string(levels) + " levels",
                               "config.comparisons." + s.name);
      }
      for (size_t l = 0; l < levels; ++l) {
        if (!(p.m[l] > 0 && p.m[l] <= 1 && p.u[l] > 0 && p.u[l] <= 1)) {
          return InvalidArgument("m and u must lie in (0, 1]", "config.comparisons." + s.name);
        }
      }
      if (x.contains("tf")) {
        p.tf_total = x.at("tf_total").get<uint64_t>();
        for (const auto& [v, count] : x.at("tf").items()) p.tf[v] = count.get<uint32_t>();
      }
      if (x.contains("placeholders")) {
        p.placeholders = x.at("placeholders").get<std::vector<std::string>>();
      }
      config.comparisons.push_back(std::move(s));
      params.push_back(std::move(p));
    }
    MatchModel m = Default(config);
    m.params_ = std::move(params);
    m.CacheWeights();
    m.lambda_ = j.at("lambda").get<double>();
    if (!(m.lambda_ > 0 && m.lambda_ < 1))
      return InvalidArgument("lambda must lie in (0, 1)", "lambda");
    m.trained_ = j.value("trained", false);
    m.training_.trained = m.trained_;
    m.training_.lambda = m.lambda_;
    return m;
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("match model: ") + e.what());
  }
}

}  // namespace rapport::identity

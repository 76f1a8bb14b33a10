// Comparators. The string metrics are templated over the code unit so that ASCII input (the
// common case after folding) runs on bytes without decoding.

#include "identity/comparators.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace rapport::identity {
namespace {

bool IsAscii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

std::u32string Decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80             ? 1
              : (c & 0xE0) == 0xC0 ? 2
              : (c & 0xF0) == 0xE0 ? 3
              : (c & 0xF8) == 0xF0 ? 4
                                   : 1;
    if (i + len > s.size()) len = 1;
    char32_t cp = len == 1 ? c : (c & (0x7F >> len));
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

// Jaro on byte strings of at most 64 characters, bit-parallel: the same matches as the
// textbook loop below (each a[i] takes the first unmatched equal b[j] in its window), found
// as the lowest bit of a mask instead of by scanning the window. Most compared values
// (names, streets) are this short, and this is the hottest function of batch dedupe.
double JaroBits(std::string_view a, std::string_view b) {
  const size_t la = a.size(), lb = b.size();
  const size_t window = std::max<size_t>(std::max(la, lb) / 2, 1) - 1;
  // Where each character occurs in b. Zero between calls: only b's entries are set, and they
  // are cleared again right after use.
  thread_local std::array<uint64_t, 256> occurs{};
  for (size_t j = 0; j < lb; ++j) occurs[static_cast<unsigned char>(b[j])] |= uint64_t{1} << j;
  uint64_t a_matched = 0, b_matched = 0;
  size_t matches = 0;
  for (size_t i = 0; i < la; ++i) {
    size_t lo = i > window ? i - window : 0;
    size_t hi = std::min(i + window + 1, lb);
    if (lo >= hi) continue;
    uint64_t in_window = (hi - lo == 64 ? ~uint64_t{0} : (uint64_t{1} << (hi - lo)) - 1) << lo;
    uint64_t candidates = occurs[static_cast<unsigned char>(a[i])] & ~b_matched & in_window;
    if (candidates != 0) {
      b_matched |= candidates & (~candidates + 1);
      a_matched |= uint64_t{1} << i;
      ++matches;
    }
  }
  for (size_t j = 0; j < lb; ++j) occurs[static_cast<unsigned char>(b[j])] = 0;
  if (matches == 0) return 0.0;
  size_t transpositions = 0;
  while (a_matched != 0) {
    if (a[std::countr_zero(a_matched)] != b[std::countr_zero(b_matched)]) ++transpositions;
    a_matched &= a_matched - 1;
    b_matched &= b_matched - 1;
  }
  double m = static_cast<double>(matches);
  return (m / la + m / lb + (m - transpositions / 2.0) / m) / 3.0;
}

template <typename S>
double JaroImpl(const S& a, const S& b) {
  const size_t la = a.size(), lb = b.size();
  if (la == 0 && lb == 0) return 1.0;
  if (la == 0 || lb == 0) return 0.0;
  if constexpr (sizeof(a[0]) == 1) {
    if (la <= 64 && lb <= 64) return JaroBits(a, b);
  }
  const size_t window = std::max<size_t>(std::max(la, lb) / 2, 1) - 1;
  // Names are short; stack flags avoid allocation for the common case.
  std::array<bool, 64> fa_small{}, fb_small{};
  std::vector<bool> fa_big, fb_big;
  bool small = la <= 64 && lb <= 64;
  if (!small) {
    fa_big.assign(la, false);
    fb_big.assign(lb, false);
  }
  auto fa = [&](size_t i) -> bool { return small ? fa_small[i] : fa_big[i]; };
  auto fb = [&](size_t i) -> bool { return small ? fb_small[i] : fb_big[i]; };
  auto set_a = [&](size_t i) { small ? (void)(fa_small[i] = true) : (void)(fa_big[i] = true); };
  auto set_b = [&](size_t i) { small ? (void)(fb_small[i] = true) : (void)(fb_big[i] = true); };
  size_t matches = 0;
  for (size_t i = 0; i < la; ++i) {
    size_t lo = i > window ? i - window : 0;
    size_t hi = std::min(i + window + 1, lb);
    for (size_t j = lo; j < hi; ++j) {
      if (!fb(j) && a[i] == b[j]) {
        set_a(i);
        set_b(j);
        ++matches;
        break;
      }
    }
  }
  if (matches == 0) return 0.0;
  size_t transpositions = 0;
  for (size_t i = 0, j = 0; i < la; ++i) {
    if (!fa(i)) continue;
    while (!fb(j)) ++j;
    if (a[i] != b[j]) ++transpositions;
    ++j;
  }
  double m = static_cast<double>(matches);
  return (m / la + m / lb + (m - transpositions / 2.0) / m) / 3.0;
}

template <typename S>
double JaroWinklerImpl(const S& a, const S& b) {
  double j = JaroImpl(a, b);
  size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  return j + prefix * 0.1 * (1.0 - j);
}

template <typename S>
int DamerauLevenshteinImpl(const S& a, const S& b) {
  // Lowrance-Wagner algorithm for the unrestricted distance.
  const int la = static_cast<int>(a.size()), lb = static_cast<int>(b.size());
  if (la == 0) return lb;
  if (lb == 0) return la;
  const int max_dist = la + lb;
  std::vector<int> d((la + 2) * (lb + 2));
  auto at = [&](int i, int j) -> int& { return d[i * (lb + 2) + j]; };
  at(0, 0) = max_dist;
  for (int i = 0; i <= la; ++i) {
    at(i + 1, 0) = max_dist;
    at(i + 1, 1) = i;
  }
  for (int j = 0; j <= lb; ++j) {
    at(0, j + 1) = max_dist;
    at(1, j + 1) = j;
  }
  // Last row where each character was seen; a flat table for bytes, a map otherwise.
  constexpr bool kBytes = sizeof(a[0]) == 1;
  std::array<int, 256> last_byte{};
  std::unordered_map<char32_t, int> last_row;
  auto last = [&](char32_t c) -> int {
    if constexpr (kBytes) {
      return last_byte[static_cast<unsigned char>(c)];
    } else {
      auto it = last_row.find(c);
      return it == last_row.end() ? 0 : it->second;
    }
  };
  for (int i = 1; i <= la; ++i) {
    int last_match_col = 0;
    for (int j = 1; j <= lb; ++j) {
      int i1 = last(static_cast<char32_t>(b[j - 1]));
      int j1 = last_match_col;
      int cost = 1;
      if (a[i - 1] == b[j - 1]) {
        cost = 0;
        last_match_col = j;
      }
      at(i + 1, j + 1) = std::min({at(i, j) + cost, at(i + 1, j) + 1, at(i, j + 1) + 1,
                                   at(i1, j1) + (i - i1 - 1) + 1 + (j - j1 - 1)});
    }
    if constexpr (kBytes) {
      last_byte[static_cast<unsigned char>(a[i - 1])] = i;
    } else {
      last_row[static_cast<char32_t>(a[i - 1])] = i;
    }
  }
  return at(la + 1, lb + 1);
}

}  // namespace

double Jaro(std::string_view a, std::string_view b) {
  if (IsAscii(a) && IsAscii(b)) return JaroImpl(a, b);
  return JaroImpl(Decode(a), Decode(b));
}

double JaroWinkler(std::string_view a, std::string_view b) {
  if (IsAscii(a) && IsAscii(b)) return JaroWinklerImpl(a, b);
  return JaroWinklerImpl(Decode(a), Decode(b));
}

bool JaroWinklerBelow(std::string_view a, std::string_view b, double threshold) {
  if (a.empty() || b.empty()) return false;
  // Three short passes, no branch per character: this runs for every compared name of a batch,
  // before Jaro. The sets hold bit c for ASCII character c.
  uint64_t in_a[2] = {0, 0}, in_b[2] = {0, 0};
  unsigned char high = 0;
  for (unsigned char c : a) {
    high |= c;
    in_a[(c >> 6) & 1] |= uint64_t{1} << (c & 63);
  }
  size_t b_found = 0;
  for (unsigned char c : b) {
    high |= c;
    in_b[(c >> 6) & 1] |= uint64_t{1} << (c & 63);
    b_found += (in_a[(c >> 6) & 1] >> (c & 63)) & 1;
  }
  if (high & 0x80) return false;  // not ASCII: Jaro counts code points
  size_t a_found = 0;
  for (unsigned char c : a) a_found += (in_b[c >> 6] >> (c & 63)) & 1;
  // Jaro's matches m are at most the characters of either side that occur in the other; with
  // no transpositions, Jaro is at most (m/|a| + m/|b| + 1) / 3.
  size_t m = std::min(a_found, b_found);
  double j = 0;
  if (m > 0) {
    double dm = static_cast<double>(m);
    j = (dm / static_cast<double>(a.size()) + dm / static_cast<double>(b.size()) + 1.0) / 3.0;
  }
  size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  // Winkler's boost grows with Jaro, so the bound holds for the boosted value too; the margin
  // keeps rounding from ever deciding.
  return j + static_cast<double>(prefix) * 0.1 * (1.0 - j) < threshold - 1e-9;
}

bool JaroWinklerAtLeast(std::string_view a, std::string_view b, double threshold) {
  return !JaroWinklerBelow(a, b, threshold) && JaroWinkler(a, b) >= threshold;
}

int DamerauLevenshtein(std::string_view a, std::string_view b) {
  if (IsAscii(a) && IsAscii(b)) return DamerauLevenshteinImpl(a, b);
  return DamerauLevenshteinImpl(Decode(a), Decode(b));
}

bool WithinOneEdit(std::string_view a, std::string_view b) {
  if (!IsAscii(a) || !IsAscii(b)) return DamerauLevenshtein(a, b) <= 1;
  if (a.size() < b.size()) std::swap(a, b);
  if (a.size() - b.size() > 1) return false;
  size_t i = 0;
  while (i < b.size() && a[i] == b[i]) ++i;
  if (i == b.size()) return true;  // equal, or one character appended
  if (a.size() > b.size()) return a.substr(i + 1) == b.substr(i);  // one deleted
  if (a.substr(i + 1) == b.substr(i + 1)) return true;             // one substituted
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] &&
         a.substr(i + 2) == b.substr(i + 2);  // two neighbours swapped
}

std::string KoelnerPhonetik(std::string_view text) {
  // Upper-case letters only; umlauts become their base vowel and ß an S, as in the
  // published rules.
  std::string s;
  std::u32string cps = Decode(text);
  for (char32_t c : cps) {
    if (c >= 'a' && c <= 'z') c = c - 'a' + 'A';
    switch (c) {
      case U'ä':
      case U'Ä':
        s.push_back('A');
        break;
      case U'ö':
      case U'Ö':
        s.push_back('O');
        break;
      case U'ü':
      case U'Ü':
        s.push_back('U');
        break;
      case U'ß':
        s.push_back('S');
        break;
      default:
        if (c >= 'A' && c <= 'Z') s.push_back(static_cast<char>(c));
    }
  }
  std::string raw;
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    char prev = i > 0 ? s[i - 1] : 0;
    char next = i + 1 < n ? s[i + 1] : 0;
    auto in = [](char x, std::string_view set) {
      return x != 0 && set.find(x) != std::string_view::npos;
    };
    switch (c) {
      case 'A':
      case 'E':
      case 'I':
      case 'J':
      case 'O':
      case 'U':
      case 'Y':
        raw.push_back('0');
        break;
      case 'H':
        break;
      case 'B':
        raw.push_back('1');
        break;
      case 'P':
        raw.push_back(next == 'H' ? '3' : '1');
        break;
      case 'D':
      case 'T':
        raw.push_back(in(next, "CSZ") ? '8' : '2');
        break;
      case 'F':
      case 'V':
      case 'W':
        raw.push_back('3');
        break;
      case 'G':
      case 'K':
      case 'Q':
        raw.push_back('4');
        break;
      case 'C':
        if (i == 0) {
          raw.push_back(in(next, "AHKLOQRUX") ? '4' : '8');
        } else {
          raw.push_back(!in(prev, "SZ") && in(next, "AHKOQUX") ? '4' : '8');
        }
        break;
      case 'X':
        raw += in(prev, "CKQ") ? "8" : "48";
        break;
      case 'L':
        raw.push_back('5');
        break;
      case 'M':
      case 'N':
        raw.push_back('6');
        break;
      case 'R':
        raw.push_back('7');
        break;
      case 'S':
      case 'Z':
        raw.push_back('8');
        break;
      default:
        break;
    }
  }
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (i > 0 && raw[i] == raw[i - 1]) continue;
    if (raw[i] == '0' && !out.empty()) continue;
    out.push_back(raw[i]);
  }
  return out;
}

double TokenSetSimilarity(std::string_view a, std::string_view b) {
  // Called for millions of pairs in batch dedupe: the token lists reuse their capacity.
  thread_local std::vector<std::string_view> ta, tb;
  thread_local std::vector<bool> used;
  auto split = [](std::string_view s, std::vector<std::string_view>& out) {
    out.clear();
    for (size_t pos = 0; pos < s.size();) {
      size_t end = std::min(s.find(' ', pos), s.size());
      if (end > pos) out.push_back(s.substr(pos, end - pos));
      pos = end + 1;
    }
  };
  split(a, ta);
  split(b, tb);
  if (ta.empty() || tb.empty()) return 0.0;
  used.assign(tb.size(), false);
  double matched = 0;
  for (std::string_view x : ta) {
    int best = -1;
    double best_score = 0.9;
    for (size_t j = 0; j < tb.size(); ++j) {
      if (used[j]) continue;
      if (x != tb[j] && JaroWinklerBelow(x, tb[j], best_score)) continue;
      double s = x == tb[j] ? 1.0 : JaroWinkler(x, tb[j]);
      if (s >= best_score) {
        best_score = s;
        best = static_cast<int>(j);
        if (s == 1.0) break;
      }
    }
    if (best >= 0) {
      used[best] = true;
      matched += best_score;
    }
  }
  return 2.0 * matched / static_cast<double>(ta.size() + tb.size());
}

namespace {

// YYYYMMDD as snprintf("%04d%02d%02d") writes it. Digits by hand where they fit: snprintf was
// 5% of a dedupe, since every compared pair with a date gets here.
void DateDigits(const Date& d, char (&out)[16]) {
  int y = d.year % 10000, m = d.month % 100, day = d.day % 100;
  if (y < 0 || m < 0 || day < 0) {
    std::snprintf(out, sizeof out, "%04d%02d%02d", y, m, day);
    return;
  }
  const int digits[8] = {y / 1000, y / 100 % 10, y / 10 % 10, y % 10,
                         m / 10,   m % 10,       day / 10,    day % 10};
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>('0' + digits[i]);
  out[8] = '\0';
}

}  // namespace

DateRelation CompareDates(const Date& a, const Date& b) {
  if (a == b) return DateRelation::kExact;
  if (a.year == b.year && a.month == b.day && a.day == b.month)
    return DateRelation::kDayMonthSwapped;
  // One typo in the YYYYMMDD text: one differing digit, or two adjacent digits swapped.
  // (Equal-length digit strings; cheaper than a general edit distance on this hot path.)
  char sa[16], sb[16];
  DateDigits(a, sa);
  DateDigits(b, sb);
  int diff[8], nd = 0;
  for (int i = 0; i < 8; ++i)
    if (sa[i] != sb[i] && nd < 8) diff[nd++] = i;
  if (nd == 1 || (nd == 2 && diff[1] == diff[0] + 1 && sa[diff[0]] == sb[diff[1]] &&
                  sa[diff[1]] == sb[diff[0]])) {
    return DateRelation::kOneTypo;
  }
  if (a.month == b.month && a.day == b.day && std::abs(a.year - b.year) == 1) {
    return DateRelation::kYearOffByOne;
  }
  if (a.year == b.year) return DateRelation::kSameYear;
  return DateRelation::kDifferent;
}

double RelativeNumberDifference(double a, double b) {
  double m = std::max(std::fabs(a), std::fabs(b));
  return m == 0 ? 0.0 : std::fabs(a - b) / m;
}

}  // namespace rapport::identity

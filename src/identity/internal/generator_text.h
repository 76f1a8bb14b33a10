// Small helpers shared by the two customer generators (generator.cc, generator_german.cc):
// a seeded random source whose output does not depend on the standard library, ASCII
// spellings of German words, typing errors and CSV cells. Private to identity.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace rapport::identity::internal {

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : g() % n; }
  bool Chance(double p) { return static_cast<double>(g() >> 11) * 0x1.0p-53 < p; }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& a) {
    return a[Below(N)];
  }
};

inline std::string Ascii(std::string_view s, bool drop_umlaut_e) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    std::string_view rest = s.substr(i);
    auto rep = [&](std::string_view from, std::string_view to) {
      if (rest.substr(0, from.size()) == from) {
        out += to;
        i += from.size() - 1;
        return true;
      }
      return false;
    };
    if (rep("ä", drop_umlaut_e ? "a" : "ae") || rep("ö", drop_umlaut_e ? "o" : "oe") ||
        rep("ü", drop_umlaut_e ? "u" : "ue") || rep("Ä", drop_umlaut_e ? "A" : "Ae") ||
        rep("Ö", drop_umlaut_e ? "O" : "Oe") || rep("Ü", drop_umlaut_e ? "U" : "Ue") ||
        rep("ß", "ss")) {
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

inline std::string Typo(Rng& rng, const std::string& s) {
  if (s.size() < 4) return s;
  std::string t = s;
  size_t i = 1 + rng.Below(t.size() - 2);
  if (static_cast<unsigned char>(t[i]) >= 0x80 || static_cast<unsigned char>(t[i - 1]) >= 0x80 ||
      static_cast<unsigned char>(t[i + 1]) >= 0x80) {
    return t;  // keep UTF-8 sequences intact
  }
  switch (rng.Below(3)) {
    case 0:
      std::swap(t[i], t[i + 1]);
      break;  // transposition
    case 1:
      t.erase(i, 1);
      break;  // deletion
    default:
      t[i] = static_cast<char>('a' + rng.Below(26));
      break;  // substitution
  }
  return t;
}

inline std::string Csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += "\"\"";
    else
      out.push_back(c);
  }
  return out + "\"";
}

}  // namespace rapport::identity::internal

#include "core/text.h"

#include <algorithm>
#include <cstdint>

namespace rapport {

size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

bool IsValidUtf8(std::string_view s) { return FirstInvalidUtf8(s) == std::string_view::npos; }

std::string Windows1252ToUtf8(std::string_view s) {
  // 0x80..0x9F differ from Latin-1; the five undefined positions map to U+FFFD.
  static constexpr uint16_t k80[32] = {
      0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    uint32_t cp = c < 0x80 ? c : (c < 0xA0 ? k80[c - 0x80] : c);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

std::optional<TextProblem> FindYamlTextProblem(std::string_view yaml) {
  size_t bad = FirstInvalidUtf8(yaml);
  std::string message = "a byte that is not UTF-8 (save the file as UTF-8)";
  for (size_t i = 0; i < yaml.size() && i < bad; ++i) {
    auto c = static_cast<unsigned char>(yaml[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      bad = i;
      message =
          "control character " + std::to_string(c) + " (YAML allows tab and line breaks only)";
      break;
    }
  }
  if (bad == std::string_view::npos) return std::nullopt;
  TextProblem p;
  size_t newline = bad == 0 ? std::string_view::npos : yaml.rfind('\n', bad - 1);
  size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
  p.line = 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + bad, '\n'));
  p.column = 1 + static_cast<int>(bad - line_start);
  p.message = std::move(message);
  return p;
}

}  // namespace rapport

// Text from outside: UTF-8 checks, the Windows-1252 that German spreadsheets still write, and
// what a YAML document written by a user may contain.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rapport {

// True if `bytes` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(std::string_view bytes);
// The offset of the first byte that starts no well-formed UTF-8 sequence; npos if there is none.
size_t FirstInvalidUtf8(std::string_view bytes);
// Windows-1252 (a superset of Latin-1's printable range) to UTF-8.
std::string Windows1252ToUtf8(std::string_view bytes);

// The first thing in a YAML document from a user that no YAML reader should be trusted with,
// at a 1-based line and column (in bytes). Names and words of configurations end up in JSON
// answers, documents and counterexamples, which must be UTF-8; and YAML allows no control
// character but tab and line breaks (yaml-cpp reads past a NUL byte into text that is no
// longer UTF-8).
struct TextProblem {
  int line = 0;
  int column = 0;
  std::string message;
};
std::optional<TextProblem> FindYamlTextProblem(std::string_view yaml);

}  // namespace rapport

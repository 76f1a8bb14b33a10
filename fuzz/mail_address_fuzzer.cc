// Mail header values (the from/to/cc of inbound mail): parse; a parsed list is never empty,
// and each address's key parses back to itself.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "privacy/mail_address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = rapport::privacy::ParseAddressList(text);
  if (!list.ok()) return 0;
  if (list->empty()) __builtin_trap();
  for (const auto& a : *list) {
    // A key whose local part needs quoting (white space, specials, empty dot-atoms) does not
    // round-trip as written; every other one must.
    const std::string& l = a.local_part;
    bool plain =
        !l.empty() && l.front() != '.' && l.back() != '.' && l.find("..") == std::string::npos &&
        std::all_of(l.begin(), l.end(), [](char c) {
          auto u = static_cast<unsigned char>(c);
          return u >= 0x80 || std::isalnum(u) ||
                 std::string_view(".!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
        });
    if (!plain || a.domain.front() == '[') continue;
    auto again = rapport::privacy::ParseAddressList(a.Key());
    if (!again.ok() || again->size() != 1 || (*again)[0].Key() != a.Key()) __builtin_trap();
  }
  return 0;
}

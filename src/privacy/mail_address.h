// Mail addresses as mail headers write them (RFC 5322 section 3.4): leak attribution reads the
// `from` and `to` of inbound mail, which come from outside and carry display names and lists.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rapport::privacy {

// One mailbox of a header. Comments and folding white space are dropped; quoted strings are
// unquoted (their quoted-pairs resolved).
struct MailAddress {
  std::string display_name;  // "Max Leser" of "Max Leser <max@example.org>"; "" if none
  std::string local_part;    // as written
  std::string domain;        // lower-case (domains are case-insensitive); a literal keeps its []

  // local@domain, all lower-case: the form aliases are issued and looked up in. RFC 5321 lets
  // a local part be case-sensitive, but no mail system we address treats it so, and a sender
  // who capitalises an alias must not escape attribution.
  std::string Key() const;
};

// Parses an address-list header value: mailboxes ("a@x.de", "Max <a@x.de>", "<a@x.de>",
// "\"Leser, Max\" <a@x.de>", "a@x.de (Max)") separated by commas, and groups
// ("Kunden: a@x.de, b@y.de;", whose members are returned in place). Tolerates the obsolete
// forms real mail still uses: a route before the address ("<@relay:a@x.de>"), empty list
// elements, dots and white space in phrases and local parts, and 8-bit (UTF-8) text.
// InvalidArgument naming the first problem (and no partial list) for anything else, and for
// a value without any mailbox. Never throws; linear in the input, no recursion.
Result<std::vector<MailAddress>> ParseAddressList(std::string_view header);

}  // namespace rapport::privacy

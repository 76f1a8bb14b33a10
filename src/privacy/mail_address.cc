// RFC 5322 address lists: a lexer that drops comments and folding white space, then a parser
// over its tokens for mailboxes, angle addresses and groups.
#include "privacy/mail_address.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace rapport::privacy {
namespace {

enum class TokenKind { kAtom, kQuoted, kDomainLiteral, kSpecial, kEnd };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;            // an atom, an unquoted string, a literal "[..]", or the special
  bool spaced_before = false;  // white space or a comment came before it (display names keep it)
  size_t column = 0;           // 1-based, for the error message
};

// RFC 5322 atext, plus any byte of a UTF-8 sequence (RFC 6532): names such as "Müller" are
// written unencoded by many mailers.
bool IsAtext(unsigned char c) {
  if (c >= 0x80 || std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

bool IsSpecial(char c) { return std::string_view("<>:;@,.").find(c) != std::string_view::npos; }

std::string LowerAscii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Status Problem(size_t column, const std::string& what) {
  return InvalidArgument("mail address, column " + std::to_string(column) + ": " + what);
}

// The whole value as tokens, ending with kEnd. Comments nest ("(a (b) c)"), so they are
// skipped with a depth counter rather than recursion.
Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    bool spaced = false;
    while (i < s.size()) {
      char c = s[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i;
        spaced = true;
      } else if (c == '(') {
        size_t start = i++;
        int depth = 1;
        while (depth > 0) {
          if (i >= s.size()) return Problem(start + 1, "a comment '(' is not closed");
          if (s[i] == '\\') {
            i += 2;
            continue;
          }
          if (s[i] == '(') ++depth;
          if (s[i] == ')') --depth;
          ++i;
        }
        spaced = true;
      } else {
        break;
      }
    }
    Token t;
    t.spaced_before = spaced;
    t.column = i + 1;
    if (i >= s.size()) {
      out.push_back(std::move(t));
      return out;
    }
    char c = s[i];
    if (c == '"' || c == '[') {
      // A quoted string or a domain literal: up to the unescaped closing character.
      char close = c == '"' ? '"' : ']';
      t.kind = c == '"' ? TokenKind::kQuoted : TokenKind::kDomainLiteral;
      if (c == '[') t.text.push_back('[');
      size_t start = i++;
      while (true) {
        if (i >= s.size()) {
          return Problem(start + 1, std::string("'") + c + "' is not closed");
        }
        if (s[i] == '\\' && i + 1 < s.size()) {
          t.text.push_back(s[i + 1]);
          i += 2;
          continue;
        }
        if (s[i] == close) break;
        t.text.push_back(s[i++]);
      }
      ++i;
      if (close == ']') t.text.push_back(']');
    } else if (IsSpecial(c)) {
      t.kind = TokenKind::kSpecial;
      t.text = std::string(1, c);
      ++i;
    } else if (IsAtext(static_cast<unsigned char>(c))) {
      t.kind = TokenKind::kAtom;
      while (i < s.size() && IsAtext(static_cast<unsigned char>(s[i]))) t.text.push_back(s[i++]);
    } else {
      char shown[8] = {c, 0};
      if (!std::isprint(static_cast<unsigned char>(c))) {
        std::snprintf(shown, sizeof shown, "\\x%02x", static_cast<unsigned char>(c));
      }
      return Problem(i + 1, std::string("unexpected '") + shown + "'");
    }
    out.push_back(std::move(t));
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<std::vector<MailAddress>> List() {
    std::vector<MailAddress> out;
    while (true) {
      while (At(",")) ++i_;  // obsolete empty list elements
      if (Peek().kind == TokenKind::kEnd) break;
      RETURN_IF_ERROR(Address(out, /*in_group=*/false));
      if (Peek().kind != TokenKind::kEnd && !At(",")) {
        return Problem(Peek().column, "expected ',' between addresses");
      }
    }
    if (out.empty()) return InvalidArgument("no mail address in the value");
    return out;
  }

 private:
  const Token& Peek() const { return tokens_[i_]; }
  bool At(const char* c) const { return Peek().kind == TokenKind::kSpecial && Peek().text == c; }
  bool IsWord() const {
    return Peek().kind == TokenKind::kAtom || Peek().kind == TokenKind::kQuoted;
  }

  // Words and dots up to the next other token: a display name, a group name or a local part;
  // which one the token after it decides.
  std::vector<Token> Phrase() {
    std::vector<Token> words;
    while (IsWord() || At(".")) words.push_back(tokens_[i_++]);
    return words;
  }

  static std::string DisplayName(const std::vector<Token>& words) {
    std::string out;
    for (const auto& w : words) {
      if (!out.empty() && w.spaced_before) out.push_back(' ');
      out += w.text;
    }
    return out;
  }

  // A local part is words joined by dots ("max.leser+tag", "\"max leser\""); two words without
  // a dot between them are a display name that lacks its angle brackets.
  static Result<std::string> LocalPart(const std::vector<Token>& words, size_t column) {
    if (words.empty()) return Problem(column, "an address has nothing before '@'");
    std::string out;
    bool want_word = true;
    for (const auto& w : words) {
      bool dot = w.kind == TokenKind::kSpecial;
      if (dot == want_word && !dot) {
        return Problem(w.column,
                       "'" + DisplayName(words) + "' is no local part (a name needs <address>)");
      }
      want_word = dot;
      out += w.text;
    }
    return out;
  }

  Result<std::string> Domain() {
    if (Peek().kind == TokenKind::kDomainLiteral) return LowerAscii(tokens_[i_++].text);
    std::string out;
    while (true) {
      if (Peek().kind != TokenKind::kAtom) return Problem(Peek().column, "expected a domain");
      out += tokens_[i_++].text;
      if (!At(".")) break;
      ++i_;
      out.push_back('.');
    }
    return LowerAscii(std::move(out));
  }

  // addr-spec after its local part's words.
  Result<MailAddress> AddrSpec(const std::vector<Token>& words, size_t column) {
    MailAddress a;
    ASSIGN_OR_RETURN(a.local_part, LocalPart(words, column));
    if (!At("@")) return Problem(Peek().column, "expected '@'");
    ++i_;
    ASSIGN_OR_RETURN(a.domain, Domain());
    return a;
  }

  Status Address(std::vector<MailAddress>& out, bool in_group) {
    size_t column = Peek().column;
    std::vector<Token> words = Phrase();
    if (At("<")) {
      ++i_;
      if (At("@")) {
        // Obsolete route "<@relay1,@relay2:addr>": the route says nothing about the mailbox.
        while (!At(":")) {
          if (Peek().kind == TokenKind::kEnd || At(">")) {
            return Problem(Peek().column, "a route in <...> is not ended by ':'");
          }
          ++i_;
        }
        ++i_;
      }
      size_t local_column = Peek().column;
      std::vector<Token> local = Phrase();
      ASSIGN_OR_RETURN(MailAddress a, AddrSpec(local, local_column));
      if (!At(">")) return Problem(Peek().column, "expected '>'");
      ++i_;
      a.display_name = DisplayName(words);
      out.push_back(std::move(a));
      return OkStatus();
    }
    if (At(":")) {
      if (in_group) return Problem(Peek().column, "a group inside a group");
      if (words.empty()) return Problem(Peek().column, "a group needs a name before ':'");
      ++i_;
      while (true) {
        while (At(",")) ++i_;
        if (At(";")) {
          ++i_;
          return OkStatus();
        }
        if (Peek().kind == TokenKind::kEnd) {
          return Problem(Peek().column,
                         "the group '" + DisplayName(words) + "' is not ended by ';'");
        }
        RETURN_IF_ERROR(Address(out, /*in_group=*/true));
        if (!At(",") && !At(";")) {
          return Problem(Peek().column, "expected ',' or ';' in a group");
        }
      }
    }
    if (words.empty()) return Problem(Peek().column, "expected a mail address");
    ASSIGN_OR_RETURN(MailAddress a, AddrSpec(words, column));
    out.push_back(std::move(a));
    return OkStatus();
  }

  std::vector<Token> tokens_;
  size_t i_ = 0;
};

}  // namespace

std::string MailAddress::Key() const { return LowerAscii(local_part + "@" + domain); }

Result<std::vector<MailAddress>> ParseAddressList(std::string_view header) {
  ASSIGN_OR_RETURN(auto tokens, Tokenize(header));
  return Parser(std::move(tokens)).List();
}

}  // namespace rapport::privacy

#include "core/json.h"

#include <algorithm>

namespace rapport {

namespace {

std::string LineColumn(std::string_view text, size_t byte_offset, int line_base = 1) {
  int line = line_base, col = 1;
  for (size_t i = 0; i < byte_offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::string ShortMessage(const std::string& what) {
  // nlohmann messages look like "[json.exception.parse_error.101] parse error at line 1,
  // column 5: syntax error while parsing value - invalid literal; last read: 'tru'".
  auto p = what.find(": ");
  std::string m = p == std::string::npos ? what : what.substr(p + 2);
  if (m.rfind("syntax error while parsing ", 0) == 0) m = m.substr(27);
  return "malformed JSON: " + m;
}

// Where `text` first nests arrays and objects deeper than kMaxJsonDepth, or npos. Checked
// before parsing because a document a few hundred kilobytes deep is cheap to send but every
// recursive walk over it (printing, comparing, freeing) would exhaust the stack.
size_t FirstTooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

const std::string kTooDeep =
    "malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";

// Parses one document; errors carry the byte offset into `text`.
Result<Json> ParseAt(std::string_view text, size_t* error_offset) {
  if (size_t deep = FirstTooDeep(text); deep != std::string_view::npos) {
    *error_offset = deep;
    return InvalidArgument(kTooDeep);
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    *error_offset = e.byte > 0 ? e.byte - 1 : 0;
    return InvalidArgument(ShortMessage(e.what()));
  } catch (const Json::exception& e) {
    // Numbers out of range ("1e999") are not parse errors to nlohmann but are to our callers.
    *error_offset = 0;
    return InvalidArgument(ShortMessage(e.what()));
  }
}

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  size_t offset = 0;
  auto parsed = ParseAt(text, &offset);
  if (!parsed.ok()) return InvalidArgument(parsed.status().message(), LineColumn(text, offset));
  return parsed;
}

Result<std::vector<NdjsonLine>> ParseNdjson(std::string_view text) {
  std::vector<NdjsonLine> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (blank) continue;
    size_t offset = 0;
    auto parsed = ParseAt(line, &offset);
    if (!parsed.ok()) {
      return InvalidArgument(parsed.status().message(),
                             "line " + std::to_string(line_no) + ", column " +
                                 std::to_string(std::min(offset, line.size()) + 1));
    }
    out.push_back({line_no, std::move(parsed).value()});
  }
  return out;
}

std::string FieldPath(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  return std::string(where) + "." + std::string(key);
}

std::string ScalarText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

Result<std::string> RequiredString(const Json& obj, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(auto v, OptionalString(obj, key, where));
  if (!v || v->empty()) return InvalidArgument("missing required field", FieldPath(where, key));
  return *v;
}

Result<std::optional<std::string>> OptionalString(const Json& obj, std::string_view key,
                                                  std::string_view where) {
  if (!obj.is_object()) return InvalidArgument("expected a JSON object", std::string(where));
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return InvalidArgument("expected a string", FieldPath(where, key));
  return std::optional<std::string>(it->get<std::string>());
}

Result<Time> RequiredTime(const Json& obj, std::string_view key, std::string_view where) {
  ASSIGN_OR_RETURN(auto s, RequiredString(obj, key, where));
  auto t = ParseTime(s);
  if (!t.ok()) return t.status().WithWhere(FieldPath(where, key));
  return *t;
}

Result<std::optional<Time>> OptionalTime(const Json& obj, std::string_view key,
                                         std::string_view where) {
  ASSIGN_OR_RETURN(auto s, OptionalString(obj, key, where));
  if (!s) return std::optional<Time>();
  auto t = ParseTime(*s);
  if (!t.ok()) return t.status().WithWhere(FieldPath(where, key));
  return std::optional<Time>(*t);
}

Result<std::vector<std::pair<std::string, std::string>>> OptionalStringMap(const Json& obj,
                                                                           std::string_view key,
                                                                           std::string_view where) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return InvalidArgument("expected an object", FieldPath(where, key));
  for (auto& [k, v] : it->items()) {
    if (v.is_object() || v.is_array()) {
      return InvalidArgument("expected a string, number or boolean",
                             FieldPath(FieldPath(where, key), k));
    }
    out.emplace_back(k, ScalarText(v));
  }
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(),
                           [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    out += Json(std::string(s)).dump();
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

}  // namespace rapport

// JSON at the edges: parsing with positions a user can act on, and typed field access that
// names the field on error. nlohmann::json is the document type everywhere.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace rapport {

using Json = nlohmann::json;

// Arrays and objects nest at most this deep in what ParseJson and ParseNdjson accept (Jackson
// stops at 1,000; no event or record of ours needs more than a handful).
inline constexpr int kMaxJsonDepth = 256;

// Parses one JSON document. On error: kInvalidArgument, where = "line L, column C".
Result<Json> ParseJson(std::string_view text);

// A line of an NDJSON body together with its 1-based line number in that body.
struct NdjsonLine {
  int line = 0;
  Json value;
};

// Parses newline-delimited JSON; blank lines are skipped, "\r\n" is accepted. All or nothing:
// the first bad line fails the whole body, where = "line L, column C".
Result<std::vector<NdjsonLine>> ParseNdjson(std::string_view text);

// Typed access to an object's fields. `where` prefixes the field in error messages
// (e.g. "line 3: occurred_at"). Missing optional fields give std::nullopt, a field of the
// wrong type is always an error.
Result<std::string> RequiredString(const Json& obj, std::string_view key,
                                   std::string_view where = {});
Result<std::optional<std::string>> OptionalString(const Json& obj, std::string_view key,
                                                  std::string_view where = {});
Result<Time> RequiredTime(const Json& obj, std::string_view key, std::string_view where = {});
Result<std::optional<Time>> OptionalTime(const Json& obj, std::string_view key,
                                         std::string_view where = {});
// An object field whose values are all strings, numbers or booleans (rendered as text).
Result<std::vector<std::pair<std::string, std::string>>> OptionalStringMap(
    const Json& obj, std::string_view key, std::string_view where = {});

// The "field" path used in errors: "where.key" or "key".
std::string FieldPath(std::string_view where, std::string_view key);

// Renders a scalar as text ("42", "true", "x"); objects and arrays as compact JSON.
std::string ScalarText(const Json& v);

// Appends `s` as a JSON string exactly as Json(s).dump() writes it (and, like it, throws on
// invalid UTF-8), without building a Json value: for serializers on hot paths.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace rapport

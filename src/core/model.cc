#include "core/model.h"

namespace rapport {

const std::string* FindField(const Fields& fields, std::string_view name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return &v;
  }
  return nullptr;
}

namespace {

Status CheckName(const std::string& s, std::string_view what, std::string_view where) {
  if (s.size() > 200) return InvalidArgument("too long (at most 200 bytes)", FieldPath(where, what));
  for (unsigned char c : s) {
    if (c < 0x20) return InvalidArgument("contains a control character", FieldPath(where, what));
  }
  return OkStatus();
}

}  // namespace

Result<Event> EventFromJson(const Json& j, Time now, std::string_view where) {
  if (!j.is_object()) return InvalidArgument("an event must be a JSON object", std::string(where));
  Event e;
  ASSIGN_OR_RETURN(auto id, OptionalString(j, "id", where));
  if (id) {
    if (id->empty()) return InvalidArgument("must not be empty", FieldPath(where, "id"));
    RETURN_IF_ERROR(CheckName(*id, "id", where));
    e.id = std::move(*id);
  }
  ASSIGN_OR_RETURN(e.type, RequiredString(j, "type", where));
  RETURN_IF_ERROR(CheckName(e.type, "type", where));
  ASSIGN_OR_RETURN(auto subject, OptionalString(j, "subject", where));
  if (subject) e.subject = std::move(*subject);
  RETURN_IF_ERROR(CheckName(e.subject, "subject", where));
  ASSIGN_OR_RETURN(e.keys, OptionalStringMap(j, "keys", where));
  ASSIGN_OR_RETURN(e.occurred_at, RequiredTime(j, "occurred_at", where));
  e.received_at = now;
  auto p = j.find("payload");
  if (p != j.end() && !p->is_null()) {
    if (!p->is_object()) return InvalidArgument("expected an object", FieldPath(where, "payload"));
    e.payload = *p;
  }
  return e;
}

Json EventToJson(const Event& e) {
  Json keys = Json::object();
  for (const auto& [k, v] : e.keys) keys[k] = v;
  Json j = {{"id", e.id},
            {"type", e.type},
            {"subject", e.subject},
            {"keys", std::move(keys)},
            {"occurred_at", FormatTime(e.occurred_at)},
            {"received_at", FormatTime(e.received_at)},
            {"payload", e.payload}};
  if (e.seq != 0) j["seq"] = e.seq;
  return j;
}

Result<SourceRecord> RecordFromJson(const Json& j, Time now, std::string_view where) {
  if (!j.is_object()) return InvalidArgument("a record must be a JSON object", std::string(where));
  SourceRecord r;
  ASSIGN_OR_RETURN(r.source, RequiredString(j, "source", where));
  RETURN_IF_ERROR(CheckName(r.source, "source", where));
  ASSIGN_OR_RETURN(auto key, OptionalString(j, "source_key", where));
  if (!key) {
    ASSIGN_OR_RETURN(key, OptionalString(j, "key", where));
  }
  if (!key || key->empty()) return InvalidArgument("missing required field", FieldPath(where, "source_key"));
  r.source_key = std::move(*key);
  RETURN_IF_ERROR(CheckName(r.source_key, "source_key", where));
  if (!j.contains("fields")) return InvalidArgument("missing required field", FieldPath(where, "fields"));
  ASSIGN_OR_RETURN(r.fields, OptionalStringMap(j, "fields", where));
  r.received_at = now;
  return r;
}

Json RecordToJson(const SourceRecord& r) {
  Json fields = Json::object();
  for (const auto& [k, v] : r.fields) fields[k] = v;
  return {{"id", r.id},
          {"source", r.source},
          {"source_key", r.source_key},
          {"fields", std::move(fields)},
          {"received_at", FormatTime(r.received_at)}};
}

}  // namespace rapport

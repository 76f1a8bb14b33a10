// The two kinds of fact that enter Rapport from outside, shared by every module:
// source records (a customer as a source system delivered it) and events (something that
// happened, with when it happened and when we learned it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"

namespace rapport {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Looks up a field by exact name; nullptr when absent.
const std::string* FindField(const Fields& fields, std::string_view name);

// Invariant: once stored, a source record is never changed or deleted by matching or merging
// (erasure under the privacy rules is the only exception). A changed record from the same
// source arrives as a new record with the same (source, source_key).
struct SourceRecord {
  std::string id;          // "rec_<ulid>", assigned by the store
  std::string source;      // the delivering system, e.g. "shop", "crm", "portal-check24"
  std::string source_key;  // the record's id in that system
  Fields fields;           // as delivered, in delivery order
  Time received_at{};
};

// Invariant: the event log is append-only; `id` is the idempotency key (the same id twice is
// stored once). `occurred_at` drives every timer and deadline, `received_at` never does.
struct Event {
  std::string id;       // client-supplied idempotency key, or "evt_<ulid>" if none was sent
  std::string type;     // dotted name, e.g. "kit.delivered"
  std::string subject;  // who it is about (a customer key or person id); may be empty
  Fields keys;          // correlation keys, e.g. {"order_id","O-1"}
  Time occurred_at{};
  Time received_at{};
  Json payload = Json::object();
  int64_t seq = 0;      // position in the log, assigned by the store (0 before)
};

// Parses the JSON form of an event:
//   {"id","type","subject","keys":{...},"occurred_at","payload":{...}}
// `received_at` is set to `now`; a missing `id` is left empty for the caller to assign.
// Errors name the field, prefixed by `where` (e.g. "line 3").
Result<Event> EventFromJson(const Json& j, Time now, std::string_view where = {});
Json EventToJson(const Event& e);

// Parses {"source","source_key" (or "key"),"fields":{...}}; `received_at` = now.
Result<SourceRecord> RecordFromJson(const Json& j, Time now, std::string_view where = {});
Json RecordToJson(const SourceRecord& r);

}  // namespace rapport

// The one interface for everything Rapport persists. Module code sees only this header;
// the SQLite (embedded default) and PostgreSQL backends live behind it and are chosen by the
// wiring in src/app. Operations are coarse-grained: each public method is one transaction,
// so a backend can make it atomic and durable without exposing its transaction model.
//
// Thread safety: every Store implementation is safe to call from many threads at once.
// Durability: when a write method returns OK, its data survives a process crash.
// Errors: kInvalidArgument for bad input, kNotFound for unknown ids, kUnavailable when the
// database is busy or unreachable (retry), kDataLoss/kInternal for damaged data or bugs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace rapport::store {

// The outcome of storing one source record.
struct RecordPut {
  std::string id;        // the stored record's id (an earlier one when the record was known)
  bool created = false;  // false: identical content from the same source and key was stored
};

// The outcome of appending one event.
struct EventAppend {
  std::string id;
  int64_t seq = 0;       // position in the log
  bool created = false;  // false: an event with this id was already stored (and is kept as is)
};

struct EventQuery {
  std::string subject;  // empty: all subjects
  std::string type;     // empty: all types
  int64_t after = 0;    // cursor: only events with seq > after
  int limit = 100;      // 1..1000
  // A reader of the whole log that needs the contents of a few types only (the KPI report):
  // with heads_only, events come with empty keys and payload unless their type is one of
  // contents_of, which saves parsing a million payloads nobody reads.
  bool heads_only = false;
  std::vector<std::string> contents_of;

  bool WantsContents(std::string_view event_type) const {
    return !heads_only ||
           std::find(contents_of.begin(), contents_of.end(), event_type) != contents_of.end();
  }
};

struct EventPage {
  std::vector<Event> events;
  int64_t next_after = 0;  // pass as `after` for the next page; 0 when there is none
};

enum class Role { kAdmin, kAgent, kAnalyst, kPartner };
std::string_view RoleName(Role role);
Result<Role> ParseRole(std::string_view name);

// An API token as stored: the secret itself is never stored, only its SHA-256.
struct TokenRecord {
  std::string id;           // "tok_<ulid>", the public half of the token string
  std::string secret_hash;  // lowercase hex SHA-256 of the secret half
  Role role = Role::kAgent;
  std::string org;   // the organisation a partner token is scoped to ("" for staff)
  std::string name;  // a label chosen by the admin
  Time created_at{};
  std::optional<Time> revoked_at;
  std::optional<Time> expires_at;  // refused from then on; none: valid until revoked
};

// A domain object's state as JSON text (journey instances, cases, ...), named by (kind, id).
// `revision` increases by one with every write, for optimistic concurrency.
struct Document {
  std::string kind;
  std::string id;
  std::string body;
  int64_t revision = 0;
};

// Work to do at a time: journey timers, outbox deliveries. Named by (queue, id); an id is
// enqueued at most once while it is in the queue.
struct QueueItem {
  std::string queue;
  std::string id;
  Time due{};
  std::string body;
  int attempts = 0;
};

// An append-only line of a named log stream (e.g. one instance's timeline).
struct LogLine {
  std::string stream;
  std::string key;
  std::string body;
  Time at{};
  int64_t seq = 0;  // assigned by the store, increasing within the whole store
};

// Everything one domain step changes, written atomically by Store::Write.
struct WriteBatch {
  struct Put {
    Document doc;               // doc.revision is ignored; the stored one becomes old + 1
    int64_t expected_revision;  // 0: must not exist yet; -1: any; n: must be at n
  };
  std::vector<Put> puts;
  std::vector<std::pair<std::string, std::string>> deletes;  // (kind, id); absent is fine
  std::vector<QueueItem> enqueue;                            // ignored if (queue, id) exists
  std::vector<QueueItem> reschedule;                         // set due/body/attempts of one
  std::vector<std::pair<std::string, std::string>> dequeue;  // (queue, id); absent is fine
  std::vector<LogLine> append;
  std::vector<std::pair<std::string, std::string>> settings;  // (key, value) upserts

  bool empty() const {
    return puts.empty() && deletes.empty() && enqueue.empty() && reschedule.empty() &&
           dequeue.empty() && append.empty() && settings.empty();
  }
};

// What Store::Erase removes (GDPR Art. 17). Erasure is the one exception to "source records
// are never changed".
struct Erasure {
  std::vector<std::string> record_ids;  // their fields become [] (source, key, time stay)
  std::vector<std::string> event_ids;   // their payload becomes {} (type, keys, times stay)
  // Events whose subject or one of whose key values is one of these get an empty payload too,
  // wherever they are in the log (a person's ids and source keys: a long-standing customer has
  // more events than any view lists).
  std::vector<std::string> event_links;
  // Replaced by `replacement` wherever they occur: record fields and source keys; event
  // subjects, keys and payloads; document ids and bodies; queue item ids and bodies; log keys
  // and bodies. Case-sensitive: pass every spelling. Strings shorter than 3 bytes are refused.
  std::vector<std::string> needles;
  std::string replacement = "[erased]";
  // Log lines whose body is replaced, by seq (stream, key and time stay): a domain module's
  // redacted copy of what it appended about the person (a case's timeline).
  std::vector<std::pair<int64_t, std::string>> log_bodies;
};

// How many rows an erasure changed, per table.
struct ErasureCounts {
  int64_t records = 0;
  int64_t events = 0;
  int64_t documents = 0;
  int64_t queue_items = 0;
  int64_t log_lines = 0;
  // What failed after the erasure was committed (VACUUM, truncating the WAL): no API reads the
  // data any more, but old bytes may stay in the database files until the next erasure.
  std::vector<std::string> warnings;
};

struct StoreStats {
  int64_t records = 0;
  int64_t events = 0;
  int64_t schema_version = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- Source records ---------------------------------------------------------------------
  // Stores all records in one transaction. A record whose (source, source_key, fields) equals
  // a stored one is not stored again: its RecordPut names the stored id with created=false.
  // Each record must carry a fresh id (assigned by the caller) for the case it is new.
  virtual Result<std::vector<RecordPut>> PutRecords(const std::vector<SourceRecord>& records) = 0;
  // kNotFound if there is no record with this id.
  virtual Result<SourceRecord> GetRecord(std::string_view id) = 0;
  // All versions delivered for one source key, oldest first (empty if none).
  virtual Result<std::vector<SourceRecord>> GetRecordsBySourceKey(std::string_view source,
                                                                  std::string_view key) = 0;

  // --- Event log --------------------------------------------------------------------------
  // Appends all events in one transaction; all or nothing. Each event needs a non-empty id;
  // an id already in the log (or earlier in the same batch) is acknowledged, not stored again.
  virtual Result<std::vector<EventAppend>> AppendEvents(const std::vector<Event>& events) = 0;
  // kNotFound if there is no event with this id.
  virtual Result<Event> GetEvent(std::string_view id) = 0;
  // Events in log order, filtered and paginated by cursor.
  virtual Result<EventPage> ListEvents(const EventQuery& query) = 0;

  // --- API tokens -------------------------------------------------------------------------
  virtual Status PutToken(const TokenRecord& token) = 0;
  // kNotFound if unknown (revoked tokens are returned, with revoked_at set).
  virtual Result<TokenRecord> GetToken(std::string_view id) = 0;
  virtual Result<std::vector<TokenRecord>> ListTokens() = 0;
  // Revokes every unrevoked token with this name; returns how many.
  virtual Result<int> RevokeTokensNamed(std::string_view name, Time at) = 0;
  // kNotFound if unknown.
  virtual Status RevokeToken(std::string_view id, Time at) = 0;

  // --- Settings (small persistent key/value pairs, e.g. the manual clock) -----------------
  virtual Result<std::optional<std::string>> GetSetting(std::string_view key) = 0;
  virtual Status PutSetting(std::string_view key, std::string_view value) = 0;

  // --- Documents, queues and logs: the persistence of the domain modules -----------------
  // Applies the whole batch in one transaction or nothing of it. kAborted (naming kind/id) if
  // a put's expected_revision does not match: another writer was first; reload and retry.
  virtual Status Write(const WriteBatch& batch) = 0;
  // std::nullopt if absent.
  virtual Result<std::optional<Document>> GetDocument(std::string_view kind,
                                                      std::string_view id) = 0;
  // Documents of a kind whose id starts with `prefix`, ids after `after_id`, in id order.
  virtual Result<std::vector<Document>> ListDocuments(std::string_view kind,
                                                      std::string_view prefix,
                                                      std::string_view after_id, int limit) = 0;
  // Items due at or before `now`, earliest first (ties by id).
  virtual Result<std::vector<QueueItem>> DueItems(std::string_view queue, Time now, int limit) = 0;
  // Claims up to `limit` items due at or before `now` (earliest first; returned in id order)
  // for one worker: atomically moves their due time to `lease_until`, so that no other
  // worker or server gets them until then. The claimer dequeues or reschedules each one; if
  // it dies, they come due again when the lease ends. Concurrent claimers never get the same item
  // (row locks, SKIP LOCKED). `claimer` (a server id; "" for none) is kept with each claim
  // until the item is rescheduled, dequeued or claimed again, so that the claimer can renew
  // (RenewClaims) or give back (ReleaseClaims) what it holds.
  virtual Result<std::vector<QueueItem>> ClaimDue(std::string_view queue, Time now,
                                                  Time lease_until, int limit,
                                                  std::string_view claimer) = 0;
  // A live claimer's heartbeat: moves the due time of every item of `queue` that `claimer`
  // holds to `lease_until` if that is later. Returns how many it holds. kInvalidArgument for
  // an empty claimer.
  virtual Result<int> RenewClaims(std::string_view queue, std::string_view claimer,
                                  Time lease_until) = 0;
  // Gives back every item of `queue` that `claimer` holds: due at `now` and claimed by nobody
  // (a server restarting after a crash takes its own claims back at once instead of waiting
  // for their lease). Returns how many. kInvalidArgument for an empty claimer.
  virtual Result<int> ReleaseClaims(std::string_view queue, std::string_view claimer, Time now) = 0;
  // The earliest due time in a queue; std::nullopt if it is empty.
  virtual Result<std::optional<Time>> NextDue(std::string_view queue) = 0;
  // Lines of one stream (and key, unless empty) with seq > after, in order.
  virtual Result<std::vector<LogLine>> ReadLog(std::string_view stream, std::string_view key,
                                               int64_t after, int limit) = 0;

  // --- Erasure ----------------------------------------------------------------------------
  // Applies the erasure in one transaction; a changed document's revision increases (so a
  // cached copy cannot be written back). Afterwards the old content is also gone from the
  // database files as far as the backend allows: SQLite zeroes deleted content
  // (secure_delete) and truncates the WAL; PostgreSQL VACUUMs the tables (its WAL and
  // backups keep old content until they are recycled). kInvalidArgument for a short needle.
  // An error means nothing was changed; once the transaction is committed the result is ok,
  // and a failure of the file clean-up after it is one of ErasureCounts::warnings (so the
  // caller still records that the erasure happened).
  virtual Result<ErasureCounts> Erase(const Erasure& erasure) = 0;

  virtual Result<StoreStats> Stats() = 0;
  // "sqlite" or "postgres".
  virtual std::string_view Backend() const = 0;
};

// The fingerprint that makes record storage idempotent: a hash of source, key and fields.
std::string RecordContentHash(const SourceRecord& record);

}  // namespace rapport::store

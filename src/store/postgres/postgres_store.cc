// PostgreSQL backend of store::Store.
//
// Event log order: `seq` comes from a sequence, and with concurrent writers a lower seq can
// commit after a higher one, which would let a cursor reader skip it. AppendEvents therefore
// takes a transaction-scoped advisory lock, so seq order is commit order and `after=<seq>`
// pagination never misses an event. Batches are single statements, so the lock is held briefly.
#include "store/postgres/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "core/json.h"

namespace rapport::store {
namespace {

constexpr int64_t kMigrationLock = 0x52505054;  // 'RPPT'
constexpr int64_t kEventLogLock = 0x52505055;

// An erasure needle as a regular expression that matches exactly it: every ASCII character
// other than a letter or digit is escaped (a backslash before those would start an escape).
std::string RegexLiteral(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) out += '\\';
    out += c;
  }
  return out;
}

// A replacement text for regexp_replace: a backslash there refers to a group.
std::string RegexReplacement(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += '\\';
    out += c;
  }
  return out;
}

struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE records (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  source_key TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  fields JSONB NOT NULL,
  received_at BIGINT NOT NULL,
  UNIQUE (source, source_key, content_hash)
);
CREATE TABLE events (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  subject TEXT NOT NULL,
  keys JSONB NOT NULL,
  occurred_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  payload JSONB NOT NULL
);
CREATE INDEX events_by_subject ON events (subject, seq);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  org TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql"},
    {2, R"sql(
CREATE TABLE documents (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  revision BIGINT NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE TABLE queue_items (
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  due BIGINT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  PRIMARY KEY (queue, id)
);
CREATE INDEX queue_items_by_due ON queue_items (queue, due, id);
CREATE TABLE log_lines (
  seq BIGSERIAL PRIMARY KEY,
  stream TEXT NOT NULL,
  key TEXT NOT NULL,
  body TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX log_lines_by_key ON log_lines (stream, key, seq);
)sql"},
    // Tokens may expire (rapport token create --expires 90d).
    {3, R"sql(
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
)sql"},
    // A claim names its server, which renews it while alive and takes it back at a restart.
    {4, R"sql(
ALTER TABLE queue_items ADD COLUMN claimed_by TEXT;
CREATE INDEX queue_items_by_claimer ON queue_items (queue, claimed_by)
  WHERE claimed_by IS NOT NULL;
)sql"},
};

// Owns a PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() { PQclear(r_); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PGresult* get() const { return r_; }
  int rows() const { return PQntuples(r_); }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
  }
  int64_t Int(int row, int col) const {
    return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
  }
  bool IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

 private:
  PGresult* r_;
};

Status PgError(PGconn* conn, const PGresult* res, std::string_view what) {
  std::string msg =
      std::string(what) + ": " + (res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  if (PQstatus(conn) != CONNECTION_OK || sqlstate.rfind("08", 0) == 0) return Unavailable(msg);
  if (sqlstate == "40001" || sqlstate == "40P01") return Aborted(msg);
  if (sqlstate == "23505") return AlreadyExists(msg);
  if (sqlstate.rfind("22", 0) == 0) return InvalidArgument(msg);
  return Internal(msg);
}

// A connection and the names of statements already prepared on it.
struct PgConnection {
  PGconn* conn = nullptr;
  std::unordered_set<std::string> prepared;
  ~PgConnection() {
    if (conn) PQfinish(conn);
  }
};

// Text-format PostgreSQL array literal: {"a","b\"c"}.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string FieldsToJson(const Fields& fields) {
  Json arr = Json::array();
  for (const auto& [k, v] : fields) arr.push_back({k, v});
  return arr.dump();
}

std::string KeysToJson(const Fields& keys) {
  Json obj = Json::object();
  for (const auto& [k, v] : keys) obj[k] = v;
  return obj.dump();
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PostgresOptions options) : options_(std::move(options)) {}

  Status Open() {
    for (int i = 0; i < std::max(1, options_.pool_size); ++i) {
      auto c = std::make_unique<PgConnection>();
      c->conn = PQconnectdb(options_.url.c_str());
      if (PQstatus(c->conn) != CONNECTION_OK) {
        std::string msg = PQerrorMessage(c->conn);
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        return Unavailable("cannot connect to PostgreSQL: " + msg);
      }
      // NOTICEs (e.g. "relation already exists, skipping") are not errors; keep them off stderr.
      PQsetNoticeProcessor(
          c->conn, [](void*, const char*) {}, nullptr);
      free_.push_back(c.get());
      all_.push_back(std::move(c));
    }
    return Migrate();
  }

  std::string_view Backend() const override { return "postgres"; }

  Result<std::vector<RecordPut>> PutRecords(const std::vector<SourceRecord>& records) override {
    if (records.empty()) return std::vector<RecordPut>{};
    std::vector<std::string> ids, sources, keys, hashes, fields, received;
    for (const auto& r : records) {
      if (r.id.empty()) return InvalidArgument("record without id", r.source + "/" + r.source_key);
      ids.push_back(r.id);
      sources.push_back(r.source);
      keys.push_back(r.source_key);
      hashes.push_back(RecordContentHash(r));
      fields.push_back(FieldsToJson(r.fields));
      received.push_back(std::to_string(ToMicros(r.received_at)));
    }
    Lease c(*this);
    // One statement: rows that conflict are skipped, then every row's stored id is looked up by
    // its natural key (this also resolves duplicates inside the batch).
    static constexpr const char* kSql =
        "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
        "$5::jsonb[], $6::bigint[]) WITH ORDINALITY AS t(id, source, source_key, content_hash, "
        "fields, received_at, n)), "
        "ins AS (INSERT INTO records (id, source, source_key, content_hash, fields, received_at) "
        "SELECT id, source, source_key, content_hash, fields, received_at FROM input ORDER BY n "
        "ON CONFLICT (source, source_key, content_hash) DO NOTHING RETURNING id) "
        "SELECT i.n, coalesce(r.id, i2.id), (i2.id IS NOT NULL) FROM input i "
        "LEFT JOIN ins i2 ON i2.id = i.id "
        "LEFT JOIN records r ON r.source = i.source AND r.source_key = i.source_key AND "
        "r.content_hash = i.content_hash ORDER BY i.n";
    std::vector<std::string> params = {TextArray(ids),    TextArray(sources), TextArray(keys),
                                       TextArray(hashes), TextArray(fields),  TextArray(received)};
    ASSIGN_OR_RETURN(auto res, Exec(*c, "put_records", kSql, params));
    std::vector<RecordPut> out(records.size());
    // A record new in this statement is invisible to the LEFT JOIN on records (same snapshot),
    // so its id comes from `ins`; a duplicate inside the batch finds neither and takes the id
    // of its first occurrence below.
    for (int row = 0; row < res->rows(); ++row) {
      size_t n = static_cast<size_t>(res->Int(row, 0)) - 1;
      out[n].id = res->Text(row, 1);
      out[n].created = res->Text(row, 2) == "t";
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (!out[i].id.empty()) continue;
      for (size_t j = 0; j < i; ++j) {
        if (sources[j] == sources[i] && keys[j] == keys[i] && hashes[j] == hashes[i]) {
          out[i].id = out[j].id;
          break;
        }
      }
      if (out[i].id.empty()) return Internal("record conflict without a stored record");
    }
    return out;
  }

  Result<SourceRecord> GetRecord(std::string_view id) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "get_record",
                                    "SELECT id, source, source_key, fields::text, received_at "
                                    "FROM records WHERE id = $1",
                                    {std::string(id)}));
    if (res->rows() == 0) return NotFound("no record with id '" + std::string(id) + "'", "id");
    return ReadRecord(*res, 0);
  }

  Result<std::vector<SourceRecord>> GetRecordsBySourceKey(std::string_view source,
                                                          std::string_view key) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res,
                     Exec(*c, "get_records_by_key",
                          "SELECT id, source, source_key, fields::text, received_at "
                          "FROM records WHERE source = $1 AND source_key = $2 ORDER BY seq",
                          {std::string(source), std::string(key)}));
    std::vector<SourceRecord> out;
    for (int i = 0; i < res->rows(); ++i) {
      ASSIGN_OR_RETURN(auto r, ReadRecord(*res, i));
      out.push_back(std::move(r));
    }
    return out;
  }

  Result<std::vector<EventAppend>> AppendEvents(const std::vector<Event>& events) override {
    if (events.empty()) return std::vector<EventAppend>{};
    std::vector<std::string> ids, types, subjects, keys, occurred, received, payloads;
    for (const auto& e : events) {
      if (e.id.empty()) return InvalidArgument("event without id", e.type);
      ids.push_back(e.id);
      types.push_back(e.type);
      subjects.push_back(e.subject);
      keys.push_back(KeysToJson(e.keys));
      occurred.push_back(std::to_string(ToMicros(e.occurred_at)));
      received.push_back(std::to_string(ToMicros(e.received_at)));
      payloads.push_back(e.payload.dump());
    }
    Lease c(*this);
    RETURN_IF_ERROR(Command(*c, "BEGIN"));
    auto rollback = [&](Status s) {
      (void)Command(*c, "ROLLBACK");
      return s;
    };
    auto lock = Exec(*c, "event_log_lock", "SELECT pg_advisory_xact_lock($1)",
                     {std::to_string(kEventLogLock)});
    if (!lock.ok()) return rollback(lock.status());
    static constexpr const char* kSql =
        "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], "
        "$5::bigint[], $6::bigint[], $7::jsonb[]) WITH ORDINALITY AS t(id, type, subject, keys, "
        "occurred_at, received_at, payload, n)), "
        "ins AS (INSERT INTO events (id, type, subject, keys, occurred_at, received_at, payload) "
        "SELECT id, type, subject, keys, occurred_at, received_at, payload FROM input ORDER BY n "
        "ON CONFLICT (id) DO NOTHING RETURNING id, seq) "
        "SELECT i.n, coalesce(ins.seq, e.seq, 0), (ins.seq IS NOT NULL) FROM input i "
        "LEFT JOIN ins ON ins.id = i.id LEFT JOIN events e ON e.id = i.id ORDER BY i.n";
    auto res = Exec(*c, "append_events", kSql,
                    {TextArray(ids), TextArray(types), TextArray(subjects), TextArray(keys),
                     TextArray(occurred), TextArray(received), TextArray(payloads)});
    if (!res.ok()) return rollback(res.status());
    std::vector<EventAppend> out(events.size());
    std::unordered_set<std::string> created_ids;
    for (int row = 0; row < (*res)->rows(); ++row) {
      size_t n = static_cast<size_t>((*res)->Int(row, 0)) - 1;
      out[n].id = ids[n];
      out[n].seq = (*res)->Int(row, 1);
      // Within one batch the same id appears as created only at its first position.
      out[n].created = (*res)->Text(row, 2) == "t" && created_ids.insert(ids[n]).second;
    }
    RETURN_IF_ERROR(Command(*c, "COMMIT"));
    return out;
  }

  Result<Event> GetEvent(std::string_view id) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "get_event", std::string(kEventColumns) + " WHERE id = $1",
                                    {std::string(id)}));
    if (res->rows() == 0) return NotFound("no event with id '" + std::string(id) + "'", "id");
    return ReadEvent(*res, 0);
  }

  Result<EventPage> ListEvents(const EventQuery& q) override {
    if (q.limit < 1 || q.limit > 1000) {
      return InvalidArgument("limit must be between 1 and 1000", "limit");
    }
    Lease c(*this);
    std::vector<std::string> params = {std::to_string(q.after), q.type,
                                       std::to_string(q.limit + 1)};
    std::string name = "list_events";
    std::string sql = std::string(kEventColumns);
    if (q.subject.empty()) {
      sql += " WHERE seq > $1 AND ($2 = '' OR type = $2) ORDER BY seq LIMIT $3";
    } else {
      name = "list_events_subject";
      sql += " WHERE subject = $4 AND seq > $1 AND ($2 = '' OR type = $2) ORDER BY seq LIMIT $3";
      params.push_back(q.subject);
    }
    ASSIGN_OR_RETURN(auto res, Exec(*c, name, sql, params));
    EventPage page;
    for (int i = 0; i < res->rows(); ++i) {
      if (static_cast<int>(page.events.size()) == q.limit) {
        page.next_after = page.events.back().seq;
        break;
      }
      ASSIGN_OR_RETURN(auto e, ReadEvent(*res, i, &q));
      page.events.push_back(std::move(e));
    }
    return page;
  }

  Status PutToken(const TokenRecord& t) override {
    Lease c(*this);
    auto res = Exec(*c, "put_token",
                    "INSERT INTO tokens (id, secret_hash, role, org, name, created_at, revoked_at, "
                    "expires_at) VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')::bigint, "
                    "nullif($8, '')::bigint)",
                    {t.id, t.secret_hash, std::string(RoleName(t.role)), t.org, t.name,
                     std::to_string(ToMicros(t.created_at)),
                     t.revoked_at ? std::to_string(ToMicros(*t.revoked_at)) : std::string(),
                     t.expires_at ? std::to_string(ToMicros(*t.expires_at)) : std::string()});
    if (!res.ok() && res.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("token id exists", t.id);
    }
    return res.status();
  }

  Result<TokenRecord> GetToken(std::string_view id) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "get_token", std::string(kTokenColumns) + " WHERE id = $1",
                                    {std::string(id)}));
    if (res->rows() == 0) return NotFound("no token with id '" + std::string(id) + "'");
    return ReadToken(*res, 0);
  }

  Result<std::vector<TokenRecord>> ListTokens() override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res,
                     Exec(*c, "list_tokens", std::string(kTokenColumns) + " ORDER BY id", {}));
    std::vector<TokenRecord> out;
    for (int i = 0; i < res->rows(); ++i) {
      ASSIGN_OR_RETURN(auto t, ReadToken(*res, i));
      out.push_back(std::move(t));
    }
    return out;
  }

  Result<int> RevokeTokensNamed(std::string_view name, Time at) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "revoke_named",
                                    "UPDATE tokens SET revoked_at = $2 WHERE name = $1 AND "
                                    "revoked_at IS NULL",
                                    {std::string(name), std::to_string(ToMicros(at))}));
    return std::atoi(PQcmdTuples(res->get()));
  }

  Status RevokeToken(std::string_view id, Time at) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "revoke_token",
                                    "UPDATE tokens SET revoked_at = coalesce(revoked_at, $2) "
                                    "WHERE id = $1",
                                    {std::string(id), std::to_string(ToMicros(at))}));
    if (std::atoi(PQcmdTuples(res->get())) == 0) {
      return NotFound("no token with id '" + std::string(id) + "'", "id");
    }
    return OkStatus();
  }

  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "get_setting", "SELECT value FROM settings WHERE key = $1",
                                    {std::string(key)}));
    if (res->rows() == 0) return std::optional<std::string>();
    return std::optional<std::string>(res->Text(0, 0));
  }

  Status PutSetting(std::string_view key, std::string_view value) override {
    Lease c(*this);
    return Exec(*c, "put_setting",
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value",
                {std::string(key), std::string(value)})
        .status();
  }

  Status Write(const WriteBatch& b) override {
    if (b.empty()) return OkStatus();
    Lease c(*this);
    RETURN_IF_ERROR(Command(*c, "BEGIN"));
    Status s = WriteLocked(*c, b);
    if (!s.ok()) {
      (void)Command(*c, "ROLLBACK");
      return s;
    }
    return Command(*c, "COMMIT");
  }

  Result<std::optional<Document>> GetDocument(std::string_view kind, std::string_view id) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res,
                     Exec(*c, "get_document",
                          "SELECT kind, id, body, revision FROM documents WHERE kind = $1 "
                          "AND id = $2",
                          {std::string(kind), std::string(id)}));
    if (res->rows() == 0) return std::optional<Document>();
    return std::optional<Document>(
        Document{res->Text(0, 0), res->Text(0, 1), res->Text(0, 2), res->Int(0, 3)});
  }

  Result<std::vector<Document>> ListDocuments(std::string_view kind, std::string_view prefix,
                                              std::string_view after_id, int limit) override {
    Lease c(*this);
    // starts_with keeps prefix semantics independent of the collation; ids are compared
    // bytewise (COLLATE "C") so the order matches SQLite's.
    ASSIGN_OR_RETURN(auto res,
                     Exec(*c, "list_documents",
                          "SELECT kind, id, body, revision FROM documents WHERE kind = $1 "
                          "AND starts_with(id, $2) AND id COLLATE \"C\" > $3 "
                          "ORDER BY id COLLATE \"C\" LIMIT $4",
                          {std::string(kind), std::string(prefix), std::string(after_id),
                           std::to_string(limit)}));
    std::vector<Document> out;
    for (int i = 0; i < res->rows(); ++i) {
      out.push_back({res->Text(i, 0), res->Text(i, 1), res->Text(i, 2), res->Int(i, 3)});
    }
    return out;
  }

  Result<std::vector<QueueItem>> DueItems(std::string_view queue, Time now, int limit) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(
        auto res, Exec(*c, "due_items",
                       "SELECT queue, id, due, body, attempts FROM queue_items WHERE "
                       "queue = $1 AND due <= $2 ORDER BY due, id COLLATE \"C\" LIMIT $3",
                       {std::string(queue), std::to_string(ToMicros(now)), std::to_string(limit)}));
    std::vector<QueueItem> out;
    for (int i = 0; i < res->rows(); ++i) {
      out.push_back({res->Text(i, 0), res->Text(i, 1), FromMicros(res->Int(i, 2)), res->Text(i, 3),
                     static_cast<int>(res->Int(i, 4))});
    }
    return out;
  }

  Result<std::vector<QueueItem>> ClaimDue(std::string_view queue, Time now, Time lease_until,
                                          int limit, std::string_view claimer) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res,
                     Exec(*c, "claim_due",
                          "UPDATE queue_items SET due = $4, claimed_by = nullif($5, '') "
                          "WHERE (queue, id) IN ("
                          "SELECT queue, id FROM queue_items WHERE queue = $1 AND due <= $2 "
                          "ORDER BY due, id COLLATE \"C\" LIMIT $3 FOR UPDATE SKIP LOCKED) "
                          "RETURNING queue, id, due, body, attempts",
                          {std::string(queue), std::to_string(ToMicros(now)), std::to_string(limit),
                           std::to_string(ToMicros(lease_until)), std::string(claimer)}));
    std::vector<QueueItem> out;
    for (int i = 0; i < res->rows(); ++i) {
      out.push_back({res->Text(i, 0), res->Text(i, 1), FromMicros(res->Int(i, 2)), res->Text(i, 3),
                     static_cast<int>(res->Int(i, 4))});
    }
    std::sort(out.begin(), out.end(),
              [](const QueueItem& a, const QueueItem& b) { return a.id < b.id; });
    return out;
  }

  Result<int> RenewClaims(std::string_view queue, std::string_view claimer,
                          Time lease_until) override {
    return UpdateClaims("renew_claims",
                        "UPDATE queue_items SET due = greatest(due, $3) "
                        "WHERE queue = $1 AND claimed_by = $2",
                        queue, claimer, lease_until);
  }

  Result<int> ReleaseClaims(std::string_view queue, std::string_view claimer, Time now) override {
    return UpdateClaims("release_claims",
                        "UPDATE queue_items SET due = $3, claimed_by = NULL "
                        "WHERE queue = $1 AND claimed_by = $2",
                        queue, claimer, now);
  }

  Result<std::optional<Time>> NextDue(std::string_view queue) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res,
                     Exec(*c, "next_due", "SELECT min(due) FROM queue_items WHERE queue = $1",
                          {std::string(queue)}));
    if (res->IsNull(0, 0)) return std::optional<Time>();
    return std::optional<Time>(FromMicros(res->Int(0, 0)));
  }

  Result<std::vector<LogLine>> ReadLog(std::string_view stream, std::string_view key, int64_t after,
                                       int limit) override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "read_log",
                                    "SELECT stream, key, body, at, seq FROM log_lines WHERE "
                                    "stream = $1 AND ($2 = '' OR key = $2) AND seq > $3 "
                                    "ORDER BY seq LIMIT $4",
                                    {std::string(stream), std::string(key), std::to_string(after),
                                     std::to_string(limit)}));
    std::vector<LogLine> out;
    for (int i = 0; i < res->rows(); ++i) {
      out.push_back({res->Text(i, 0), res->Text(i, 1), res->Text(i, 2), FromMicros(res->Int(i, 3)),
                     res->Int(i, 4)});
    }
    return out;
  }

  Result<ErasureCounts> Erase(const Erasure& e) override {
    for (const auto& n : e.needles) {
      if (n.size() < 3)
        return InvalidArgument("an erasure needle needs 3 bytes or more", "needles");
    }
    ErasureCounts counts;
    Lease c(*this);
    RETURN_IF_ERROR(Command(*c, "BEGIN"));
    auto run = [&](const std::string& name, const std::string& sql,
                   const std::vector<std::string>& params) -> Result<int64_t> {
      ASSIGN_OR_RETURN(auto res, Exec(*c, name, sql, params));
      return static_cast<int64_t>(std::atoll(PQcmdTuples(res->get())));
    };
    auto apply = [&]() -> Status {
      for (const auto& id : e.record_ids) {
        ASSIGN_OR_RETURN(
            int64_t n,
            run("erase_record", "UPDATE records SET fields = '[]'::jsonb WHERE id = $1", {id}));
        counts.records += n;
      }
      for (const auto& id : e.event_ids) {
        ASSIGN_OR_RETURN(
            int64_t n,
            run("erase_event", "UPDATE events SET payload = '{}'::jsonb WHERE id = $1", {id}));
        counts.events += n;
      }
      for (const auto& link : e.event_links) {
        if (link.empty()) continue;  // would match every event without a subject
        ASSIGN_OR_RETURN(int64_t n,
                         run("erase_linked_events",
                             "UPDATE events SET payload = '{}'::jsonb WHERE payload <> '{}'::jsonb "
                             "AND (subject = $1 OR EXISTS (SELECT 1 FROM jsonb_each_text(keys) k "
                             "WHERE k.value = $1))",
                             {link}));
        counts.events += n;
      }
      for (const auto& needle : e.needles) {
        // $1 the needle (matched ignoring case), $2 the replacement, $3 the needle as a regular
        // expression for regexp_replace(…, 'gi').
        std::vector<std::string> p = {needle, RegexReplacement(e.replacement),
                                      RegexLiteral(needle)};
        ASSIGN_OR_RETURN(
            int64_t n,
            run("erase_n_records",
                "UPDATE records SET fields = regexp_replace(fields::text, $3, $2, 'gi')::jsonb, "
                "source_key = regexp_replace(source_key, $3, $2, 'gi') "
                "WHERE strpos(lower(fields::text), lower($1)) > 0 OR strpos(lower(source_key), "
                "lower($1)) > 0",
                p));
        counts.records += n;
        ASSIGN_OR_RETURN(n,
                         run("erase_n_events",
                             "UPDATE events SET subject = regexp_replace(subject, $3, $2, 'gi'), "
                             "keys = regexp_replace(keys::text, $3, $2, 'gi')::jsonb, "
                             "payload = regexp_replace(payload::text, $3, $2, 'gi')::jsonb "
                             "WHERE strpos(lower(subject), lower($1)) > 0 OR "
                             "strpos(lower(keys::text), lower($1)) > 0 "
                             "OR strpos(lower(payload::text), lower($1)) > 0",
                             p));
        counts.events += n;
        // An event id that embeds the address ("welcome-anna@example.org") is renamed; the
        // seq keeps two renamed ids apart.
        ASSIGN_OR_RETURN(n,
                         run("erase_n_event_ids",
                             "UPDATE events e SET id = regexp_replace(e.id, $3, $2::text || '#' || "
                             "e.seq::text, 'gi') WHERE strpos(lower(e.id), lower($1)) > 0",
                             p));
        counts.events += n;
        ASSIGN_OR_RETURN(n, run("erase_n_doc_bodies",
                                "UPDATE documents SET body = regexp_replace(body, $3, $2, 'gi'), "
                                "revision = revision + 1 WHERE strpos(lower(body), lower($1)) > 0",
                                p));
        counts.documents += n;
        // A renamed id that already exists elsewhere: the row is dropped instead.
        ASSIGN_OR_RETURN(
            n, run("erase_n_doc_ids",
                   "UPDATE documents d SET id = regexp_replace(d.id, $3, $2, 'gi'), "
                   "revision = d.revision + 1 WHERE strpos(lower(d.id), lower($1)) > 0 AND NOT "
                   "EXISTS (SELECT 1 FROM documents o WHERE o.kind = d.kind AND "
                   "o.id = regexp_replace(d.id, $3, $2, 'gi'))",
                   p));
        counts.documents += n;
        RETURN_IF_ERROR(run("erase_n_doc_left",
                            "DELETE FROM documents WHERE strpos(lower(id), lower($1)) > 0",
                            {needle})
                            .status());
        ASSIGN_OR_RETURN(n, run("erase_n_queue_bodies",
                                "UPDATE queue_items SET body = regexp_replace(body, $3, $2, 'gi') "
                                "WHERE strpos(lower(body), lower($1)) > 0",
                                p));
        counts.queue_items += n;
        ASSIGN_OR_RETURN(
            n, run("erase_n_queue_ids",
                   "UPDATE queue_items q SET id = regexp_replace(q.id, $3, $2, 'gi') "
                   "WHERE strpos(lower(q.id), lower($1)) > 0 AND NOT EXISTS (SELECT 1 FROM "
                   "queue_items o WHERE o.queue = q.queue AND "
                   "o.id = regexp_replace(q.id, $3, $2, 'gi'))",
                   p));
        counts.queue_items += n;
        RETURN_IF_ERROR(run("erase_n_queue_left",
                            "DELETE FROM queue_items WHERE strpos(lower(id), lower($1)) > 0",
                            {needle})
                            .status());
        ASSIGN_OR_RETURN(
            n, run("erase_n_logs",
                   "UPDATE log_lines SET key = regexp_replace(key, $3, $2, 'gi'), "
                   "body = regexp_replace(body, $3, $2, 'gi') "
                   "WHERE strpos(lower(key), lower($1)) > 0 OR strpos(lower(body), lower($1)) > 0",
                   p));
        counts.log_lines += n;
      }
      for (const auto& [seq, body] : e.log_bodies) {
        ASSIGN_OR_RETURN(int64_t n, run("erase_log_body",
                                        "UPDATE log_lines SET body = $2 WHERE seq = $1::bigint",
                                        {std::to_string(seq), body}));
        counts.log_lines += n;
      }
      return OkStatus();
    };
    Status s = apply();
    if (!s.ok()) {
      (void)Command(*c, "ROLLBACK");
      return s;
    }
    RETURN_IF_ERROR(Command(*c, "COMMIT"));
    // Dead row versions keep the old text until VACUUM marks their space free for reuse. The
    // erasure is committed: a failure here is a warning for the erasure record, not an error.
    if (Status vacuumed = Command(*c, "VACUUM records, events, documents, queue_items, log_lines");
        !vacuumed.ok()) {
      counts.warnings.push_back("the tables were not VACUUMed: " + vacuumed.ToString());
    }
    return counts;
  }

  Result<StoreStats> Stats() override {
    Lease c(*this);
    ASSIGN_OR_RETURN(auto res, Exec(*c, "stats",
                                    // Sequences have gaps (conflicting inserts use values),
                                    // so rows are counted.
                                    "SELECT (SELECT count(*) FROM records), "
                                    "(SELECT count(*) FROM events), "
                                    "(SELECT coalesce(max(version),0) FROM schema_migrations)",
                                    {}));
    return StoreStats{res->Int(0, 0), res->Int(0, 1), res->Int(0, 2)};
  }

 private:
  static constexpr const char* kEventColumns =
      "SELECT seq, id, type, subject, keys::text, occurred_at, received_at, payload::text FROM "
      "events";
  static constexpr const char* kTokenColumns =
      "SELECT id, secret_hash, role, org, name, created_at, revoked_at, expires_at FROM tokens";

  class Lease {
   public:
    explicit Lease(PostgresStore& s) : s_(s) {
      std::unique_lock<std::mutex> lock(s_.mu_);
      s_.cv_.wait(lock, [&] { return !s_.free_.empty(); });
      c_ = s_.free_.back();
      s_.free_.pop_back();
    }
    ~Lease() {
      {
        std::lock_guard<std::mutex> lock(s_.mu_);
        s_.free_.push_back(c_);
      }
      s_.cv_.notify_one();
    }
    PgConnection& operator*() { return *c_; }

   private:
    PostgresStore& s_;
    PgConnection* c_;
  };

  // A broken connection (server restarted) is reset once and the statement retried.
  Result<std::unique_ptr<PgResult>> Exec(PgConnection& c, const std::string& name,
                                         const std::string& sql,
                                         const std::vector<std::string>& params) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (PQstatus(c.conn) != CONNECTION_OK) {
        PQreset(c.conn);
        c.prepared.clear();
        if (PQstatus(c.conn) != CONNECTION_OK) return PgError(c.conn, nullptr, "reconnect");
      }
      if (!c.prepared.count(name)) {
        PgResult prep(PQprepare(c.conn, name.c_str(), sql.c_str(), 0, nullptr));
        if (PQresultStatus(prep.get()) != PGRES_COMMAND_OK) {
          if (PQstatus(c.conn) != CONNECTION_OK && attempt == 0) continue;
          return PgError(c.conn, prep.get(), "prepare " + name);
        }
        c.prepared.insert(name);
      }
      std::vector<const char*> values;
      for (const auto& p : params) values.push_back(p.c_str());
      auto res = std::make_unique<PgResult>(PQexecPrepared(c.conn, name.c_str(),
                                                           static_cast<int>(values.size()),
                                                           values.data(), nullptr, nullptr, 0));
      auto st = PQresultStatus(res->get());
      if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return res;
      if (PQstatus(c.conn) != CONNECTION_OK && attempt == 0) continue;
      return PgError(c.conn, res->get(), name);
    }
    return Unavailable("PostgreSQL connection lost");
  }

  Status Command(PgConnection& c, const std::string& sql) {
    PgResult res(PQexec(c.conn, sql.c_str()));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK &&
        PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      return PgError(c.conn, res.get(), sql.substr(0, 40));
    }
    return OkStatus();
  }

  Status WriteLocked(PgConnection& c, const WriteBatch& b) {
    for (const auto& put : b.puts) {
      const Document& d = put.doc;
      std::unique_ptr<PgResult> res;
      if (put.expected_revision == 0) {
        ASSIGN_OR_RETURN(res, Exec(c, "doc_insert",
                                   "INSERT INTO documents (kind, id, body, revision) VALUES "
                                   "($1, $2, $3, 1) ON CONFLICT (kind, id) DO NOTHING",
                                   {d.kind, d.id, d.body}));
      } else if (put.expected_revision < 0) {
        ASSIGN_OR_RETURN(res, Exec(c, "doc_upsert",
                                   "INSERT INTO documents (kind, id, body, revision) VALUES "
                                   "($1, $2, $3, 1) ON CONFLICT (kind, id) DO UPDATE SET "
                                   "body = excluded.body, revision = documents.revision + 1",
                                   {d.kind, d.id, d.body}));
      } else {
        ASSIGN_OR_RETURN(res, Exec(c, "doc_update",
                                   "UPDATE documents SET body = $3, revision = revision + 1 "
                                   "WHERE kind = $1 AND id = $2 AND revision = $4",
                                   {d.kind, d.id, d.body, std::to_string(put.expected_revision)}));
      }
      if (std::atoi(PQcmdTuples(res->get())) == 0) {
        return Aborted("document " + d.kind + "/" + d.id +
                       " was changed concurrently (expected "
                       "revision " +
                       std::to_string(put.expected_revision) + "); retry");
      }
    }
    for (const auto& [kind, id] : b.deletes) {
      RETURN_IF_ERROR(
          Exec(c, "doc_delete", "DELETE FROM documents WHERE kind = $1 AND id = $2", {kind, id})
              .status());
    }
    for (const auto& q : b.enqueue) {
      RETURN_IF_ERROR(
          Exec(c, "queue_insert",
               "INSERT INTO queue_items (queue, id, due, body, attempts) VALUES "
               "($1, $2, $3, $4, $5) ON CONFLICT (queue, id) DO NOTHING",
               {q.queue, q.id, std::to_string(ToMicros(q.due)), q.body, std::to_string(q.attempts)})
              .status());
    }
    for (const auto& q : b.reschedule) {
      RETURN_IF_ERROR(
          Exec(c, "queue_update",
               "UPDATE queue_items SET due = $3, body = $4, attempts = $5, claimed_by = NULL "
               "WHERE queue = $1 AND id = $2",
               {q.queue, q.id, std::to_string(ToMicros(q.due)), q.body, std::to_string(q.attempts)})
              .status());
    }
    for (const auto& [queue, id] : b.dequeue) {
      RETURN_IF_ERROR(Exec(c, "queue_delete",
                           "DELETE FROM queue_items WHERE queue = $1 AND id = $2", {queue, id})
                          .status());
    }
    for (const auto& l : b.append) {
      RETURN_IF_ERROR(Exec(c, "log_append",
                           "INSERT INTO log_lines (stream, key, body, at) VALUES ($1, $2, $3, $4)",
                           {l.stream, l.key, l.body, std::to_string(ToMicros(l.at))})
                          .status());
    }
    for (const auto& [key, value] : b.settings) {
      RETURN_IF_ERROR(Exec(c, "put_setting",
                           "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value",
                           {key, value})
                          .status());
    }
    return OkStatus();
  }

  Status Migrate() {
    Lease c(*this);
    RETURN_IF_ERROR(Command(*c, "SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")"));
    Status s = MigrateLocked(*c);
    (void)Command(*c, "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
    return s;
  }

  Status MigrateLocked(PgConnection& c) {
    RETURN_IF_ERROR(Command(c,
                            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                            "KEY, applied_at BIGINT NOT NULL)"));
    ASSIGN_OR_RETURN(auto res, Exec(c, "schema_version",
                                    "SELECT coalesce(max(version), 0) FROM schema_migrations", {}));
    int64_t have = res->Int(0, 0);
    constexpr int64_t kLatest = std::size(kMigrations);
    if (have > kLatest) {
      return DataLoss("database schema version " + std::to_string(have) +
                      " is newer than this rapport understands (" + std::to_string(kLatest) +
                      "); upgrade rapport");
    }
    for (const auto& m : kMigrations) {
      if (m.version <= have) continue;
      RETURN_IF_ERROR(Command(c, "BEGIN"));
      Status s = Command(c, m.sql);
      if (s.ok()) {
        s = Command(c, "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) +
                           ", (extract(epoch from now()) * 1000000)::bigint)");
      }
      if (!s.ok()) {
        (void)Command(c, "ROLLBACK");
        return s.WithContext("migration " + std::to_string(m.version));
      }
      RETURN_IF_ERROR(Command(c, "COMMIT"));
    }
    return OkStatus();
  }

  static Result<SourceRecord> ReadRecord(const PgResult& r, int row) {
    SourceRecord rec;
    rec.id = r.Text(row, 0);
    rec.source = r.Text(row, 1);
    rec.source_key = r.Text(row, 2);
    ASSIGN_OR_RETURN(Json arr, ParseJson(r.Text(row, 3)));
    if (!arr.is_array()) return DataLoss("stored record fields are not an array");
    for (const auto& kv : arr) {
      if (!kv.is_array() || kv.size() != 2) return DataLoss("stored record field is not a pair");
      rec.fields.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
    rec.received_at = FromMicros(r.Int(row, 4));
    return rec;
  }

  static Result<Event> ReadEvent(const PgResult& r, int row, const EventQuery* q = nullptr) {
    Event e;
    e.seq = r.Int(row, 0);
    e.id = r.Text(row, 1);
    e.type = r.Text(row, 2);
    e.subject = r.Text(row, 3);
    e.occurred_at = FromMicros(r.Int(row, 5));
    e.received_at = FromMicros(r.Int(row, 6));
    if (q && !q->WantsContents(e.type)) return e;
    ASSIGN_OR_RETURN(Json keys, ParseJson(r.Text(row, 4)));
    for (auto& [k, v] : keys.items())
      e.keys.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    ASSIGN_OR_RETURN(e.payload, ParseJson(r.Text(row, 7)));
    return e;
  }

  // RenewClaims and ReleaseClaims: `sql` takes queue, claimer and a time.
  Result<int> UpdateClaims(const char* name, const char* sql, std::string_view queue,
                           std::string_view claimer, Time at) {
    if (claimer.empty()) return InvalidArgument("name the claimer", "claimer");
    Lease c(*this);
    ASSIGN_OR_RETURN(
        auto res, Exec(*c, name, sql,
                       {std::string(queue), std::string(claimer), std::to_string(ToMicros(at))}));
    return std::atoi(PQcmdTuples(res->get()));
  }

  static Result<TokenRecord> ReadToken(const PgResult& r, int row) {
    TokenRecord t;
    t.id = r.Text(row, 0);
    t.secret_hash = r.Text(row, 1);
    ASSIGN_OR_RETURN(t.role, ParseRole(r.Text(row, 2)));
    t.org = r.Text(row, 3);
    t.name = r.Text(row, 4);
    t.created_at = FromMicros(r.Int(row, 5));
    if (!r.IsNull(row, 6)) t.revoked_at = FromMicros(r.Int(row, 6));
    if (!r.IsNull(row, 7)) t.expires_at = FromMicros(r.Int(row, 7));
    return t;
  }

  PostgresOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> all_;
  std::vector<PgConnection*> free_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  auto store = std::make_unique<PostgresStore>(options);
  RETURN_IF_ERROR(store->Open().WithContext("opening PostgreSQL store"));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace rapport::store

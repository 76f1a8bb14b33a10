// SQLite backend of store::Store. Schema changes are numbered migrations applied in order at
// open; a database written by a newer binary is refused rather than misread.
#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "core/json.h"
#include "store/sqlite/sqlite_db.h"

namespace rapport::store {
namespace {

using internal::Connection;
using internal::SqliteError;
using internal::Statement;
using internal::StatementUse;
using internal::Transaction;

// 'RPPT': marks the file as a Rapport database.
constexpr int kApplicationId = 0x52505054;

struct Migration {
  int version;
  const char* sql;
};

// Append only: never edit a migration that has shipped; add a new one.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE records (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL,
  source_key TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  fields TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (source, source_key, content_hash)
);
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  subject TEXT NOT NULL,
  keys TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX events_by_subject ON events (subject, seq);
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  org TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
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
  revision INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE queue_items (
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  due INTEGER NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  PRIMARY KEY (queue, id)
) WITHOUT ROWID;
CREATE INDEX queue_items_by_due ON queue_items (queue, due, id);
CREATE TABLE log_lines (
  seq INTEGER PRIMARY KEY,
  stream TEXT NOT NULL,
  key TEXT NOT NULL,
  body TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX log_lines_by_key ON log_lines (stream, key, seq);
)sql"},
    // Events by subject are indexed in sorted chunks instead of row by row (see
    // IndexSubjectsIfDue): a batch spread over many customers dirtied one index page per
    // customer, and SQLite's WAL writes whole pages.
    {3, R"sql(
CREATE TABLE event_subjects (
  subject TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (subject, seq)
) WITHOUT ROWID;
CREATE TABLE event_subjects_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_upto INTEGER NOT NULL
);
INSERT INTO event_subjects (subject, seq)
  SELECT subject, seq FROM events WHERE subject <> '' ORDER BY subject, seq;
INSERT INTO event_subjects_state (id, indexed_upto)
  VALUES (1, (SELECT coalesce(max(seq), 0) FROM events));
DROP INDEX events_by_subject;
)sql"},
    // Tokens may expire (rapport token create --expires 90d).
    {4, R"sql(
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
)sql"},
    // A claim names its server, which renews it while alive and takes it back at a restart.
    {5, R"sql(
ALTER TABLE queue_items ADD COLUMN claimed_by TEXT;
CREATE INDEX queue_items_by_claimer ON queue_items (queue, claimed_by)
  WHERE claimed_by IS NOT NULL;
)sql"},
};

std::string FieldsToJson(const Fields& fields) {
  Json arr = Json::array();
  for (const auto& [k, v] : fields) arr.push_back({k, v});
  return arr.dump();
}

Result<Fields> FieldsFromJson(const std::string& text) {
  ASSIGN_OR_RETURN(Json arr, ParseJson(text));
  Fields out;
  if (!arr.is_array()) return DataLoss("stored record fields are not an array");
  for (const auto& kv : arr) {
    if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string()) {
      return DataLoss("stored record field is not a [name, value] pair");
    }
    out.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  }
  return out;
}

// Hot on the ingest path, so written without building a Json object.
std::string KeysToJson(const Fields& keys) {
  if (keys.empty()) return "{}";
  std::string out = "{";
  for (const auto& [k, v] : keys) {
    if (out.size() > 1) out += ',';
    out += Json(k).dump();
    out += ':';
    out += Json(v).dump();
  }
  out += '}';
  return out;
}

// Present while every deleted byte of the file has been zeroed (secure_delete).
constexpr char kZeroedSetting[] = "store.deleted-content-zeroed";

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(SqliteOptions options) : options_(std::move(options)) {}
  ~SqliteStore() override {
    if (checkpointer_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(checkpoint_mu_);
        checkpoint_stop_ = true;
      }
      checkpoint_cv_.notify_one();
      checkpointer_.join();
    }
  }

  Status Open() {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
    ASSIGN_OR_RETURN(writer_, Connection::Open(options_.path, flags, options_.busy_timeout_ms));
    const bool in_memory = options_.path == ":memory:";
    RETURN_IF_ERROR(
        writer_->Exec(in_memory ? "PRAGMA journal_mode=MEMORY" : "PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(writer_->Exec(options_.sync_every_commit ? "PRAGMA synchronous=FULL"
                                                             : "PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(writer_->Exec("PRAGMA foreign_keys=ON"));
    RETURN_IF_ERROR(writer_->Exec("PRAGMA temp_store=MEMORY"));
    RETURN_IF_ERROR(writer_->Exec("PRAGMA cache_size=-65536"));
    // Deleted content is zeroed at once, so that an erased address does not survive in free
    // pages or unused parts of a page (Debian's SQLite does this by default; other builds do
    // not). What a database written without it keeps on free pages, Store::Erase overwrites.
    RETURN_IF_ERROR(writer_->Exec(options_.secure_delete ? "PRAGMA secure_delete=ON"
                                                         : "PRAGMA secure_delete=OFF"));
    bool fresh = false;
    {
      ASSIGN_OR_RETURN(Statement * st, writer_->Prepare("SELECT count(*) FROM sqlite_master"));
      StatementUse q(*st);
      fresh = q->Step() == SQLITE_ROW && q->Int(0) == 0;
    }
    RETURN_IF_ERROR(Migrate());
    {
      ASSIGN_OR_RETURN(Statement * st,
                       writer_->Prepare("SELECT indexed_upto FROM event_subjects_state"));
      StatementUse q(*st);
      if (q->Step() != SQLITE_ROW) return DataLoss("the event subject index has no state row");
      subjects_indexed_upto_ = q->Int(0);
    }
    // Whether every deleted byte of this file was zeroed (see Erase).
    if (!options_.secure_delete) {
      RETURN_IF_ERROR(
          Run("DELETE FROM settings WHERE key = ?1", {std::string_view(kZeroedSetting)}));
    } else if (fresh) {
      RETURN_IF_ERROR(
          Run("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, 'since creation')",
              {std::string_view(kZeroedSetting)}));
    }
    if (!in_memory) {
      for (int i = 0; i < options_.readers; ++i) {
        ASSIGN_OR_RETURN(auto reader,
                         Connection::Open(options_.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                                          options_.busy_timeout_ms));
        RETURN_IF_ERROR(reader->Exec("PRAGMA cache_size=-16384"));
        free_readers_.push_back(reader.get());
        readers_.push_back(std::move(reader));
      }
      RETURN_IF_ERROR(StartCheckpointer());
    }
    return OkStatus();
  }

  std::string_view Backend() const override { return "sqlite"; }

  Result<std::vector<RecordPut>> PutRecords(const std::vector<SourceRecord>& records) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    Transaction tx(*writer_);
    RETURN_IF_ERROR(tx.Begin());
    ASSIGN_OR_RETURN(Statement * insert,
                     writer_->Prepare("INSERT INTO records (id, source, source_key, content_hash, "
                                      "fields, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                      "ON CONFLICT (source, source_key, content_hash) DO NOTHING"));
    ASSIGN_OR_RETURN(Statement * existing,
                     writer_->Prepare("SELECT id FROM records WHERE source = ?1 AND "
                                      "source_key = ?2 AND content_hash = ?3"));
    std::vector<RecordPut> out;
    out.reserve(records.size());
    for (const auto& r : records) {
      if (r.id.empty()) return InvalidArgument("record without id", r.source + "/" + r.source_key);
      std::string hash = RecordContentHash(r);
      {
        StatementUse s(*insert);
        s->Bind(1, r.id);
        s->Bind(2, r.source);
        s->Bind(3, r.source_key);
        s->Bind(4, hash);
        std::string fields = FieldsToJson(r.fields);
        s->Bind(5, fields);
        s->Bind(6, ToMicros(r.received_at));
        int rc = s->Step();
        if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "insert record");
      }
      if (sqlite3_changes(writer_->raw()) == 1) {
        out.push_back({r.id, true});
        continue;
      }
      StatementUse s(*existing);
      s->Bind(1, r.source);
      s->Bind(2, r.source_key);
      s->Bind(3, hash);
      if (s->Step() != SQLITE_ROW) return Internal("record conflict without a stored record");
      out.push_back({s->Text(0), false});
    }
    RETURN_IF_ERROR(tx.Commit());
    return out;
  }

  Result<SourceRecord> GetRecord(std::string_view id) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare("SELECT id, source, source_key, fields, received_at "
                                     "FROM records WHERE id = ?1"));
    StatementUse s(*st);
    s->Bind(1, id);
    int rc = s->Step();
    if (rc == SQLITE_DONE) return NotFound("no record with id '" + std::string(id) + "'", "id");
    if (rc != SQLITE_ROW) return SqliteError(reader->raw(), rc, "read record");
    return ReadRecord(*s);
  }

  Result<std::vector<SourceRecord>> GetRecordsBySourceKey(std::string_view source,
                                                          std::string_view key) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare("SELECT id, source, source_key, fields, received_at FROM "
                                     "records WHERE source = ?1 AND source_key = ?2 ORDER BY seq"));
    StatementUse s(*st);
    s->Bind(1, source);
    s->Bind(2, key);
    std::vector<SourceRecord> out;
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      ASSIGN_OR_RETURN(auto r, ReadRecord(*s));
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return SqliteError(reader->raw(), rc, "read records");
    return out;
  }

  Result<std::vector<EventAppend>> AppendEvents(const std::vector<Event>& events) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    Transaction tx(*writer_);
    RETURN_IF_ERROR(tx.Begin());
    ASSIGN_OR_RETURN(Statement * insert,
                     writer_->Prepare("INSERT INTO events (id, type, subject, keys, occurred_at, "
                                      "received_at, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                                      "ON CONFLICT (id) DO NOTHING"));
    ASSIGN_OR_RETURN(Statement * existing,
                     writer_->Prepare("SELECT seq FROM events WHERE id = ?1"));
    std::vector<EventAppend> out;
    out.reserve(events.size());
    for (const auto& e : events) {
      if (e.id.empty()) return InvalidArgument("event without id", e.type);
      {
        StatementUse s(*insert);
        s->Bind(1, e.id);
        s->Bind(2, e.type);
        s->Bind(3, e.subject);
        std::string keys = KeysToJson(e.keys);
        std::string payload = e.payload.dump();
        s->Bind(4, keys);
        s->Bind(5, ToMicros(e.occurred_at));
        s->Bind(6, ToMicros(e.received_at));
        s->Bind(7, payload);
        int rc = s->Step();
        if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "append event");
      }
      if (sqlite3_changes(writer_->raw()) == 1) {
        out.push_back({e.id, sqlite3_last_insert_rowid(writer_->raw()), true});
        continue;
      }
      StatementUse s(*existing);
      s->Bind(1, e.id);
      if (s->Step() != SQLITE_ROW) return Internal("event conflict without a stored event");
      out.push_back({e.id, s->Int(0), false});
    }
    int64_t newest = 0;
    for (const auto& r : out) newest = r.created ? std::max(newest, r.seq) : newest;
    if (newest > 0) RETURN_IF_ERROR(IndexSubjectsIfDue(newest));
    RETURN_IF_ERROR(tx.Commit());
    return out;
  }

  Result<Event> GetEvent(std::string_view id) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare(std::string(kEventColumns) + " WHERE id = ?1"));
    StatementUse s(*st);
    s->Bind(1, id);
    int rc = s->Step();
    if (rc == SQLITE_DONE) return NotFound("no event with id '" + std::string(id) + "'", "id");
    if (rc != SQLITE_ROW) return SqliteError(reader->raw(), rc, "read event");
    return ReadEvent(*s);
  }

  Result<EventPage> ListEvents(const EventQuery& q) override {
    if (q.limit < 1 || q.limit > 1000) {
      return InvalidArgument("limit must be between 1 and 1000", "limit");
    }
    auto reader = AcquireReader();
    // A subject's events are the indexed ones, then those in the tail not yet indexed; one
    // statement reads both from the same snapshot. Both halves come in seq order (the first
    // by its key, which is why it selects s.seq) and are merged, so LIMIT stops early.
    static constexpr const char* kBySubject =
        "SELECT s.seq AS seq, e.id, e.type, e.subject, e.keys, e.occurred_at, e.received_at, "
        "e.payload FROM event_subjects s JOIN events e ON e.seq = s.seq "
        "WHERE s.subject = ?4 AND s.seq > ?1 AND (?2 = '' OR e.type = ?2) "
        "UNION ALL "
        "SELECT seq, id, type, subject, keys, occurred_at, received_at, payload FROM events "
        "WHERE seq > max(?1, (SELECT indexed_upto FROM event_subjects_state)) "
        "AND subject = ?4 AND (?2 = '' OR type = ?2) "
        "ORDER BY seq LIMIT ?3";
    std::string sql = q.subject.empty() ? std::string(kEventColumns) +
                                              " WHERE seq > ?1 AND (?2 = '' OR type = ?2) "
                                              "ORDER BY seq LIMIT ?3"
                                        : std::string(kBySubject);
    ASSIGN_OR_RETURN(Statement * st, reader->Prepare(sql));
    StatementUse s(*st);
    s->Bind(1, q.after);
    s->Bind(2, q.type);
    s->Bind(3, static_cast<int64_t>(q.limit) + 1);
    if (!q.subject.empty()) s->Bind(4, q.subject);
    EventPage page;
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      if (static_cast<int>(page.events.size()) == q.limit) {
        page.next_after = page.events.back().seq;
        break;
      }
      ASSIGN_OR_RETURN(auto e, ReadEvent(*s, &q));
      page.events.push_back(std::move(e));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(reader->raw(), rc, "list events");
    return page;
  }

  Status PutToken(const TokenRecord& t) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    ASSIGN_OR_RETURN(Statement * st,
                     writer_->Prepare("INSERT INTO tokens (id, secret_hash, role, org, name, "
                                      "created_at, revoked_at, expires_at) "
                                      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"));
    StatementUse s(*st);
    s->Bind(1, t.id);
    s->Bind(2, t.secret_hash);
    s->Bind(3, RoleName(t.role));
    s->Bind(4, t.org);
    s->Bind(5, t.name);
    s->Bind(6, ToMicros(t.created_at));
    if (t.revoked_at) {
      s->Bind(7, ToMicros(*t.revoked_at));
    } else {
      s->BindNull(7);
    }
    if (t.expires_at) {
      s->Bind(8, ToMicros(*t.expires_at));
    } else {
      s->BindNull(8);
    }
    int rc = s->Step();
    if ((rc & 0xFF) == SQLITE_CONSTRAINT) return AlreadyExists("token id exists", t.id);
    if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "store token");
    return OkStatus();
  }

  Result<TokenRecord> GetToken(std::string_view id) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare(std::string(kTokenColumns) + " WHERE id = ?1"));
    StatementUse s(*st);
    s->Bind(1, id);
    int rc = s->Step();
    if (rc == SQLITE_DONE) return NotFound("no token with id '" + std::string(id) + "'");
    if (rc != SQLITE_ROW) return SqliteError(reader->raw(), rc, "read token");
    return ReadToken(*s);
  }

  Result<std::vector<TokenRecord>> ListTokens() override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st, reader->Prepare(std::string(kTokenColumns) + " ORDER BY id"));
    StatementUse s(*st);
    std::vector<TokenRecord> out;
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      ASSIGN_OR_RETURN(auto t, ReadToken(*s));
      out.push_back(std::move(t));
    }
    if (rc != SQLITE_DONE) return SqliteError(reader->raw(), rc, "list tokens");
    return out;
  }

  Result<int> RevokeTokensNamed(std::string_view name, Time at) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    ASSIGN_OR_RETURN(Statement * st,
                     writer_->Prepare("UPDATE tokens SET revoked_at = ?2 WHERE name = ?1 AND "
                                      "revoked_at IS NULL"));
    StatementUse s(*st);
    s->Bind(1, name);
    s->Bind(2, ToMicros(at));
    int rc = s->Step();
    if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "revoke tokens");
    return sqlite3_changes(writer_->raw());
  }

  Status RevokeToken(std::string_view id, Time at) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    ASSIGN_OR_RETURN(Statement * st,
                     writer_->Prepare("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) "
                                      "WHERE id = ?1"));
    StatementUse s(*st);
    s->Bind(1, id);
    s->Bind(2, ToMicros(at));
    int rc = s->Step();
    if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "revoke token");
    if (sqlite3_changes(writer_->raw()) == 0) {
      return NotFound("no token with id '" + std::string(id) + "'", "id");
    }
    return OkStatus();
  }

  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st, reader->Prepare("SELECT value FROM settings WHERE key = ?1"));
    StatementUse s(*st);
    s->Bind(1, key);
    int rc = s->Step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqliteError(reader->raw(), rc, "read setting");
    return std::optional<std::string>(s->Text(0));
  }

  Status PutSetting(std::string_view key, std::string_view value) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    ASSIGN_OR_RETURN(Statement * st,
                     writer_->Prepare("INSERT INTO settings (key, value) VALUES (?1, ?2) "
                                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
    StatementUse s(*st);
    s->Bind(1, key);
    s->Bind(2, value);
    int rc = s->Step();
    if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "write setting");
    return OkStatus();
  }

  Status Write(const WriteBatch& b) override {
    if (b.empty()) return OkStatus();
    std::lock_guard<std::mutex> lock(write_mu_);
    Transaction tx(*writer_);
    RETURN_IF_ERROR(tx.Begin());
    for (const auto& put : b.puts) {
      const Document& d = put.doc;
      std::string sql;
      if (put.expected_revision == 0) {
        sql =
            "INSERT INTO documents (kind, id, body, revision) VALUES (?1, ?2, ?3, 1) "
            "ON CONFLICT (kind, id) DO NOTHING";
      } else if (put.expected_revision < 0) {
        sql =
            "INSERT INTO documents (kind, id, body, revision) VALUES (?1, ?2, ?3, 1) "
            "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, "
            "revision = documents.revision + 1";
      } else {
        sql =
            "UPDATE documents SET body = ?3, revision = revision + 1 "
            "WHERE kind = ?1 AND id = ?2 AND revision = ?4";
      }
      ASSIGN_OR_RETURN(Statement * st, writer_->Prepare(sql));
      StatementUse s(*st);
      s->Bind(1, d.kind);
      s->Bind(2, d.id);
      s->Bind(3, d.body);
      if (put.expected_revision > 0) s->Bind(4, put.expected_revision);
      int rc = s->Step();
      if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "write document");
      if (sqlite3_changes(writer_->raw()) == 0) {
        return Aborted("document " + d.kind + "/" + d.id +
                       " was changed concurrently (expected "
                       "revision " +
                       std::to_string(put.expected_revision) + "); retry");
      }
    }
    for (const auto& [kind, id] : b.deletes) {
      RETURN_IF_ERROR(Run("DELETE FROM documents WHERE kind = ?1 AND id = ?2", {kind, id}));
    }
    for (const auto& q : b.enqueue) {
      RETURN_IF_ERROR(
          Run("INSERT INTO queue_items (queue, id, due, body, attempts) "
              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (queue, id) DO NOTHING",
              {q.queue, q.id, ToMicros(q.due), q.body, q.attempts}));
    }
    for (const auto& q : b.reschedule) {
      RETURN_IF_ERROR(
          Run("UPDATE queue_items SET due = ?3, body = ?4, attempts = ?5, claimed_by = NULL "
              "WHERE queue = ?1 AND id = ?2",
              {q.queue, q.id, ToMicros(q.due), q.body, q.attempts}));
    }
    for (const auto& [queue, id] : b.dequeue) {
      RETURN_IF_ERROR(Run("DELETE FROM queue_items WHERE queue = ?1 AND id = ?2", {queue, id}));
    }
    for (const auto& l : b.append) {
      RETURN_IF_ERROR(Run("INSERT INTO log_lines (stream, key, body, at) VALUES (?1, ?2, ?3, ?4)",
                          {l.stream, l.key, l.body, ToMicros(l.at)}));
    }
    for (const auto& [key, value] : b.settings) {
      RETURN_IF_ERROR(
          Run("INSERT INTO settings (key, value) VALUES (?1, ?2) "
              "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
              {key, value}));
    }
    return tx.Commit();
  }

  Result<std::optional<Document>> GetDocument(std::string_view kind, std::string_view id) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st, reader->Prepare("SELECT kind, id, body, revision FROM "
                                                     "documents WHERE kind = ?1 AND id = ?2"));
    StatementUse s(*st);
    s->Bind(1, kind);
    s->Bind(2, id);
    int rc = s->Step();
    if (rc == SQLITE_DONE) return std::optional<Document>();
    if (rc != SQLITE_ROW) return SqliteError(reader->raw(), rc, "read document");
    return std::optional<Document>(Document{s->Text(0), s->Text(1), s->Text(2), s->Int(3)});
  }

  Result<std::vector<Document>> ListDocuments(std::string_view kind, std::string_view prefix,
                                              std::string_view after_id, int limit) override {
    auto reader = AcquireReader();
    // Prefix match as a range so the primary key index is used: [prefix, prefix + U+10FFFF).
    std::string upper = std::string(prefix) + "\xF4\x8F\xBF\xBF";
    std::string lower = std::max(std::string(prefix), std::string(after_id));
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare("SELECT kind, id, body, revision FROM documents WHERE "
                                     "kind = ?1 AND id >= ?2 AND id > ?3 AND id < ?4 "
                                     "ORDER BY id LIMIT ?5"));
    StatementUse s(*st);
    s->Bind(1, kind);
    s->Bind(2, lower);
    s->Bind(3, after_id);
    s->Bind(4, upper);
    s->Bind(5, static_cast<int64_t>(limit));
    std::vector<Document> out;
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW)
      out.push_back({s->Text(0), s->Text(1), s->Text(2), s->Int(3)});
    if (rc != SQLITE_DONE) return SqliteError(reader->raw(), rc, "list documents");
    return out;
  }

  Result<std::vector<QueueItem>> DueItems(std::string_view queue, Time now, int limit) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare("SELECT queue, id, due, body, attempts FROM queue_items "
                                     "WHERE queue = ?1 AND due <= ?2 ORDER BY due, id LIMIT ?3"));
    StatementUse s(*st);
    s->Bind(1, queue);
    s->Bind(2, ToMicros(now));
    s->Bind(3, static_cast<int64_t>(limit));
    std::vector<QueueItem> out;
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      out.push_back(
          {s->Text(0), s->Text(1), FromMicros(s->Int(2)), s->Text(3), static_cast<int>(s->Int(4))});
    }
    if (rc != SQLITE_DONE) return SqliteError(reader->raw(), rc, "due items");
    return out;
  }

  Result<std::vector<QueueItem>> ClaimDue(std::string_view queue, Time now, Time lease_until,
                                          int limit, std::string_view claimer) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    ASSIGN_OR_RETURN(
        Statement * st,
        writer_->Prepare("UPDATE queue_items SET due = ?4, claimed_by = nullif(?5, '') "
                         "WHERE (queue, id) IN ("
                         "SELECT queue, id FROM queue_items WHERE queue = ?1 AND due <= ?2 "
                         "ORDER BY due, id LIMIT ?3) "
                         "RETURNING queue, id, due, body, attempts"));
    StatementUse s(*st);
    s->Bind(1, queue);
    s->Bind(2, ToMicros(now));
    s->Bind(3, static_cast<int64_t>(limit));
    s->Bind(4, ToMicros(lease_until));
    s->Bind(5, claimer);
    std::vector<QueueItem> out;
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      out.push_back(
          {s->Text(0), s->Text(1), FromMicros(s->Int(2)), s->Text(3), static_cast<int>(s->Int(4))});
    }
    if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "claim due items");
    std::sort(out.begin(), out.end(),
              [](const QueueItem& a, const QueueItem& b) { return a.id < b.id; });
    return out;
  }

  Result<int> RenewClaims(std::string_view queue, std::string_view claimer,
                          Time lease_until) override {
    return UpdateClaims(
        "UPDATE queue_items SET due = max(due, ?3) "
        "WHERE queue = ?1 AND claimed_by = ?2",
        queue, claimer, lease_until);
  }

  Result<int> ReleaseClaims(std::string_view queue, std::string_view claimer, Time now) override {
    return UpdateClaims(
        "UPDATE queue_items SET due = ?3, claimed_by = NULL "
        "WHERE queue = ?1 AND claimed_by = ?2",
        queue, claimer, now);
  }

  Result<std::optional<Time>> NextDue(std::string_view queue) override {
    auto reader = AcquireReader();
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare("SELECT min(due) FROM queue_items WHERE queue = ?1"));
    StatementUse s(*st);
    s->Bind(1, queue);
    int rc = s->Step();
    if (rc != SQLITE_ROW) return SqliteError(reader->raw(), rc, "next due");
    if (s->IsNull(0)) return std::optional<Time>();
    return std::optional<Time>(FromMicros(s->Int(0)));
  }

  Result<std::vector<LogLine>> ReadLog(std::string_view stream, std::string_view key, int64_t after,
                                       int limit) override {
    auto reader = AcquireReader();
    std::string sql = key.empty()
                          ? "SELECT stream, key, body, at, seq FROM log_lines WHERE stream = ?1 "
                            "AND seq > ?3 ORDER BY seq LIMIT ?4"
                          : "SELECT stream, key, body, at, seq FROM log_lines WHERE stream = ?1 "
                            "AND key = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4";
    ASSIGN_OR_RETURN(Statement * st, reader->Prepare(sql));
    StatementUse s(*st);
    s->Bind(1, stream);
    if (!key.empty()) s->Bind(2, key);
    s->Bind(3, after);
    s->Bind(4, static_cast<int64_t>(limit));
    std::vector<LogLine> out;
    int rc;
    while ((rc = s->Step()) == SQLITE_ROW) {
      out.push_back({s->Text(0), s->Text(1), s->Text(2), FromMicros(s->Int(3)), s->Int(4)});
    }
    if (rc != SQLITE_DONE) return SqliteError(reader->raw(), rc, "read log");
    return out;
  }

  Result<ErasureCounts> Erase(const Erasure& e) override {
    for (const auto& n : e.needles) {
      if (n.size() < 3)
        return InvalidArgument("an erasure needle needs 3 bytes or more", "needles");
    }
    ErasureCounts counts;
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      // Every page this erasure frees is zeroed, not only the ones written anyway.
      RETURN_IF_ERROR(writer_->Exec("PRAGMA secure_delete=ON"));
      struct Restore {
        SqliteStore& s;
        ~Restore() {
          (void)s.writer_->Exec(s.options_.secure_delete ? "PRAGMA secure_delete=ON"
                                                         : "PRAGMA secure_delete=OFF");
        }
      } restore{*this};
      Transaction tx(*writer_);
      RETURN_IF_ERROR(tx.Begin());
      auto changes = [&] { return static_cast<int64_t>(sqlite3_changes(writer_->raw())); };
      for (const auto& id : e.record_ids) {
        RETURN_IF_ERROR(Run("UPDATE records SET fields = '[]' WHERE id = ?1", {id}));
        counts.records += changes();
      }
      for (const auto& id : e.event_ids) {
        RETURN_IF_ERROR(Run("UPDATE events SET payload = '{}' WHERE id = ?1", {id}));
        counts.events += changes();
      }
      for (const auto& link : e.event_links) {
        if (link.empty()) continue;  // would match every event without a subject
        std::string_view value = link;
        RETURN_IF_ERROR(
            Run("UPDATE events SET payload = '{}' WHERE payload <> '{}' AND "
                "(subject = ?1 OR EXISTS (SELECT 1 FROM json_each(events.keys) "
                "WHERE json_each.value = ?1))",
                {value}));
        counts.events += changes();
      }
      std::string_view to = e.replacement;
      for (const auto& n : e.needles) {
        std::string_view needle = n;
        RETURN_IF_ERROR(Run(
            "UPDATE records SET fields = replace_nocase(fields, ?1, ?2), "
            "source_key = replace_nocase(source_key, ?1, ?2) "
            "WHERE instr(lower(fields), lower(?1)) > 0 OR instr(lower(source_key), lower(?1)) > 0",
            {needle, to}));
        counts.records += changes();
        RETURN_IF_ERROR(
            Run("UPDATE events SET subject = replace_nocase(subject, ?1, ?2), "
                "keys = replace_nocase(keys, ?1, ?2), payload = replace_nocase(payload, ?1, ?2) "
                "WHERE instr(lower(subject), lower(?1)) > 0 OR instr(lower(keys), lower(?1)) > 0 "
                "OR instr(lower(payload), lower(?1)) > 0",
                {needle, to}));
        counts.events += changes();
        // An event id that embeds the address ("welcome-anna@example.org") is renamed; the
        // seq keeps two renamed ids apart.
        RETURN_IF_ERROR(
            Run("UPDATE OR IGNORE events SET id = replace_nocase(id, ?1, ?2 || '#' || seq) "
                "WHERE instr(lower(id), lower(?1)) > 0",
                {needle, to}));
        counts.events += changes();
        RETURN_IF_ERROR(
            Run("UPDATE event_subjects SET subject = replace_nocase(subject, ?1, ?2) "
                "WHERE instr(lower(subject), lower(?1)) > 0",
                {needle, to}));
        RETURN_IF_ERROR(
            Run("UPDATE documents SET body = replace_nocase(body, ?1, ?2), "
                "revision = revision + 1 WHERE instr(lower(body), lower(?1)) > 0",
                {needle, to}));
        counts.documents += changes();
        // A renamed id that already exists elsewhere: the row is dropped instead.
        RETURN_IF_ERROR(
            Run("UPDATE OR IGNORE documents SET id = replace_nocase(id, ?1, ?2), "
                "revision = revision + 1 WHERE instr(lower(id), lower(?1)) > 0",
                {needle, to}));
        counts.documents += changes();
        RETURN_IF_ERROR(
            Run("DELETE FROM documents WHERE instr(lower(id), lower(?1)) > 0", {needle}));
        RETURN_IF_ERROR(
            Run("UPDATE queue_items SET body = replace_nocase(body, ?1, ?2) "
                "WHERE instr(lower(body), lower(?1)) > 0",
                {needle, to}));
        counts.queue_items += changes();
        RETURN_IF_ERROR(
            Run("UPDATE OR IGNORE queue_items SET id = replace_nocase(id, ?1, ?2) "
                "WHERE instr(lower(id), lower(?1)) > 0",
                {needle, to}));
        counts.queue_items += changes();
        RETURN_IF_ERROR(
            Run("DELETE FROM queue_items WHERE instr(lower(id), lower(?1)) > 0", {needle}));
        RETURN_IF_ERROR(
            Run("UPDATE log_lines SET key = replace_nocase(key, ?1, ?2), "
                "body = replace_nocase(body, ?1, ?2) "
                "WHERE instr(lower(key), lower(?1)) > 0 OR instr(lower(body), lower(?1)) > 0",
                {needle, to}));
        counts.log_lines += changes();
      }
      for (const auto& [seq, body] : e.log_bodies) {
        RETURN_IF_ERROR(Run("UPDATE log_lines SET body = ?2 WHERE seq = ?1", {seq, body}));
        counts.log_lines += changes();
      }
      RETURN_IF_ERROR(tx.Commit());
      if (options_.path != ":memory:") {
        // A file that was ever written without secure_delete may hold deleted content in free
        // space. And secure_delete zeroes deleted cells and freed pages only: when a page is
        // rebalanced, its cells are copied to their new places and the old bytes stay in the
        // page's unused gap (an erased alias was found there by privacy_http_test). So the
        // file is rebuilt after every erasure; VACUUM costs the size of the database, and
        // erasures are rare.
        // From here on the erasure is committed: a failure is a warning for the caller's
        // erasure record, not an error that would make it look as if nothing happened.
        if (options_.secure_delete) {
          Status vacuumed = writer_->Exec("VACUUM");
          if (vacuumed.ok()) {
            vacuumed =
                Run("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, 'since vacuum')",
                    {std::string_view(kZeroedSetting)});
          }
          if (!vacuumed.ok()) {
            counts.warnings.push_back("the database file was not rebuilt (VACUUM): " +
                                      vacuumed.ToString());
          }
        }
        // The WAL still holds the pages as they were before: copy the new ones into the
        // database and cut the WAL to zero bytes. A reader in the middle of a read can make
        // the checkpoint busy, so it is retried briefly: for about a second in all, while
        // every writer waits. The checkpoint waits for readers in the busy handler, so the
        // connection's busy timeout (seconds) is cut to the pause for these attempts.
        sqlite3_busy_timeout(writer_->raw(), 20);
        struct RestoreTimeout {
          SqliteStore& s;
          ~RestoreTimeout() { sqlite3_busy_timeout(s.writer_->raw(), s.options_.busy_timeout_ms); }
        } restore_timeout{*this};
        Status checkpointed = OkStatus();
        for (int attempt = 0; attempt < 50; ++attempt) {
          auto prepared = writer_->Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
          if (!prepared.ok()) {
            checkpointed = prepared.status();
            break;
          }
          StatementUse s(**prepared);
          int rc = s->Step();
          if (rc != SQLITE_ROW) {
            checkpointed = SqliteError(writer_->raw(), rc, "checkpoint after erasure");
            break;
          }
          if (s->Int(0) == 0) {
            checkpointed = OkStatus();
            break;
          }
          checkpointed = Unavailable("the WAL could not be truncated after an erasure (busy)");
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!checkpointed.ok()) {
          counts.warnings.push_back("the WAL still holds the pages as they were before: " +
                                    checkpointed.ToString());
        }
      }
    }
    return counts;
  }

  Result<StoreStats> Stats() override {
    auto reader = AcquireReader();
    StoreStats stats;
    // seq is a rowid that only grows (nothing is deleted), so max(seq) counts rows in O(1).
    ASSIGN_OR_RETURN(Statement * st,
                     reader->Prepare("SELECT (SELECT coalesce(max(seq),0) FROM records), "
                                     "(SELECT coalesce(max(seq),0) FROM events), "
                                     "(SELECT coalesce(max(version),0) FROM schema_migrations)"));
    StatementUse s(*st);
    int rc = s->Step();
    if (rc != SQLITE_ROW) return SqliteError(reader->raw(), rc, "stats");
    stats.records = s->Int(0);
    stats.events = s->Int(1);
    stats.schema_version = s->Int(2);
    return stats;
  }

 private:
  static constexpr const char* kEventColumns =
      "SELECT seq, id, type, subject, keys, occurred_at, received_at, payload FROM events";
  static constexpr const char* kTokenColumns =
      "SELECT id, secret_hash, role, org, name, created_at, revoked_at, expires_at FROM tokens";

  // A reader connection for the duration of one call; the writer when there are no readers
  // (in-memory databases), holding the write lock meanwhile.
  class ReaderLease {
   public:
    ReaderLease(SqliteStore& store) : store_(store) {
      if (store_.readers_.empty()) {
        write_lock_ = std::unique_lock<std::mutex>(store_.write_mu_);
        conn_ = store_.writer_.get();
        return;
      }
      std::unique_lock<std::mutex> lock(store_.reader_mu_);
      store_.reader_cv_.wait(lock, [&] { return !store_.free_readers_.empty(); });
      conn_ = store_.free_readers_.back();
      store_.free_readers_.pop_back();
    }
    ~ReaderLease() {
      if (write_lock_.owns_lock()) return;
      {
        std::lock_guard<std::mutex> lock(store_.reader_mu_);
        store_.free_readers_.push_back(conn_);
      }
      store_.reader_cv_.notify_one();
    }
    Connection* operator->() { return conn_; }

   private:
    SqliteStore& store_;
    Connection* conn_ = nullptr;
    std::unique_lock<std::mutex> write_lock_;
  };

  ReaderLease AcquireReader() { return ReaderLease(*this); }

  // SQLite's automatic checkpoint runs inside the commit that crosses the threshold: it copies
  // the WAL into the database file and syncs it while the writer waits (about a sixth of the
  // write path's time in the journey benchmark). A thread of its own with its own connection
  // does that work instead; PASSIVE checkpoints never block the writer or the readers.
  static constexpr int kCheckpointFrames = 1000;  // SQLite's default autocheckpoint threshold

  Status StartCheckpointer() {
    ASSIGN_OR_RETURN(checkpoint_conn_,
                     Connection::Open(options_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
                                      options_.busy_timeout_ms));
    // A connection opens the WAL only once it has read the database; until then a checkpoint
    // on it does nothing.
    RETURN_IF_ERROR(checkpoint_conn_->Exec("PRAGMA journal_mode=WAL"));
    // Replaces the automatic checkpoint of the writer (sqlite3_wal_autocheckpoint uses this hook).
    sqlite3_wal_hook(writer_->raw(), &SqliteStore::OnWalCommit, this);
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
    return OkStatus();
  }

  static int OnWalCommit(void* self, sqlite3*, const char*, int frames) {
    if (frames >= kCheckpointFrames) {
      auto* store = static_cast<SqliteStore*>(self);
      {
        std::lock_guard<std::mutex> lock(store->checkpoint_mu_);
        store->checkpoint_wanted_ = true;
      }
      store->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void CheckpointLoop() {
    std::unique_lock<std::mutex> lock(checkpoint_mu_);
    while (!checkpoint_stop_) {
      checkpoint_cv_.wait(lock, [this] { return checkpoint_wanted_ || checkpoint_stop_; });
      if (checkpoint_stop_) break;
      checkpoint_wanted_ = false;
      lock.unlock();
      // Busy (another checkpoint, e.g. after an erasure) is fine: the next commit asks again.
      sqlite3_wal_checkpoint_v2(checkpoint_conn_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                nullptr, nullptr);
      lock.lock();
    }
  }

  // Indexes the events appended since the last chunk by subject once there are enough of
  // them, sorted, so that each index page is written once per chunk rather than once per
  // batch. The caller holds write_mu_ inside a transaction; the state row, not the member,
  // decides what is indexed (another process may have indexed or appended meanwhile).
  Status IndexSubjectsIfDue(int64_t newest_seq) {
    if (newest_seq - subjects_indexed_upto_ < options_.subject_index_chunk) return OkStatus();
    RETURN_IF_ERROR(
        Run("INSERT INTO event_subjects (subject, seq) SELECT subject, seq FROM events "
            "WHERE seq > (SELECT indexed_upto FROM event_subjects_state) AND subject <> '' "
            "ORDER BY subject, seq",
            {}));
    RETURN_IF_ERROR(
        Run("UPDATE event_subjects_state SET indexed_upto = "
            "(SELECT coalesce(max(seq), 0) FROM events)",
            {}));
    subjects_indexed_upto_ = newest_seq;  // the newest event, as this is the only writer now
    return OkStatus();
  }

  // Runs one parameterised write statement on the writer (the caller holds write_mu_).
  using Param = std::variant<std::string_view, int64_t>;
  Status Run(const char* sql, std::initializer_list<Param> params) {
    ASSIGN_OR_RETURN(Statement * st, writer_->Prepare(sql));
    StatementUse s(*st);
    int i = 1;
    for (const auto& p : params) {
      if (const auto* text = std::get_if<std::string_view>(&p)) {
        s->Bind(i++, *text);
      } else {
        s->Bind(i++, std::get<int64_t>(p));
      }
    }
    int rc = s->Step();
    if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, sql);
    return OkStatus();
  }

  Status Migrate() {
    RETURN_IF_ERROR(
        writer_->Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                      "applied_at INTEGER NOT NULL)"));
    ASSIGN_OR_RETURN(Statement * app_id, writer_->Prepare("PRAGMA application_id"));
    int64_t current_app_id;
    {
      StatementUse s(*app_id);
      if (s->Step() != SQLITE_ROW) return Internal("cannot read application_id");
      current_app_id = s->Int(0);
    }
    ASSIGN_OR_RETURN(Statement * version,
                     writer_->Prepare("SELECT coalesce(max(version), 0), "
                                      "(SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                      "AND name <> 'schema_migrations') FROM schema_migrations"));
    int64_t have, tables;
    {
      StatementUse s(*version);
      if (s->Step() != SQLITE_ROW) return Internal("cannot read schema version");
      have = s->Int(0);
      tables = s->Int(1);
    }
    if (current_app_id != kApplicationId && (have > 0 || tables > 0)) {
      return DataLoss("'" + options_.path + "' is not a Rapport database");
    }
    constexpr int64_t kLatest = std::size(kMigrations);
    if (have > kLatest) {
      return DataLoss("database schema version " + std::to_string(have) +
                      " is newer than this rapport understands (" + std::to_string(kLatest) +
                      "); upgrade rapport");
    }
    for (const auto& m : kMigrations) {
      if (m.version <= have) continue;
      Transaction tx(*writer_);
      RETURN_IF_ERROR(tx.Begin());
      RETURN_IF_ERROR(writer_->Exec(m.sql).WithContext("migration " + std::to_string(m.version)));
      RETURN_IF_ERROR(writer_->Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                                    std::to_string(m.version) + ", unixepoch() * 1000000)"));
      RETURN_IF_ERROR(writer_->Exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
      RETURN_IF_ERROR(tx.Commit());
    }
    return OkStatus();
  }

  static Result<SourceRecord> ReadRecord(Statement& s) {
    SourceRecord r;
    r.id = s.Text(0);
    r.source = s.Text(1);
    r.source_key = s.Text(2);
    ASSIGN_OR_RETURN(r.fields, FieldsFromJson(s.Text(3)));
    r.received_at = FromMicros(s.Int(4));
    return r;
  }

  static Result<Event> ReadEvent(Statement& s, const EventQuery* q = nullptr) {
    Event e;
    e.seq = s.Int(0);
    e.id = s.Text(1);
    e.type = s.Text(2);
    e.subject = s.Text(3);
    e.occurred_at = FromMicros(s.Int(5));
    e.received_at = FromMicros(s.Int(6));
    if (q && !q->WantsContents(e.type)) return e;
    ASSIGN_OR_RETURN(Json keys, ParseJson(s.Text(4)));
    for (auto& [k, v] : keys.items())
      e.keys.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    ASSIGN_OR_RETURN(e.payload, ParseJson(s.Text(7)));
    return e;
  }

  // RenewClaims and ReleaseClaims: `sql` binds queue, claimer and a time.
  Result<int> UpdateClaims(const char* sql, std::string_view queue, std::string_view claimer,
                           Time at) {
    if (claimer.empty()) return InvalidArgument("name the claimer", "claimer");
    std::lock_guard<std::mutex> lock(write_mu_);
    ASSIGN_OR_RETURN(Statement * st, writer_->Prepare(sql));
    StatementUse s(*st);
    s->Bind(1, queue);
    s->Bind(2, claimer);
    s->Bind(3, ToMicros(at));
    int rc = s->Step();
    if (rc != SQLITE_DONE) return SqliteError(writer_->raw(), rc, "update claims");
    return sqlite3_changes(writer_->raw());
  }

  static Result<TokenRecord> ReadToken(Statement& s) {
    TokenRecord t;
    t.id = s.Text(0);
    t.secret_hash = s.Text(1);
    ASSIGN_OR_RETURN(t.role, ParseRole(s.Text(2)));
    t.org = s.Text(3);
    t.name = s.Text(4);
    t.created_at = FromMicros(s.Int(5));
    if (!s.IsNull(6)) t.revoked_at = FromMicros(s.Int(6));
    if (!s.IsNull(7)) t.expires_at = FromMicros(s.Int(7));
    return t;
  }

  SqliteOptions options_;
  std::mutex write_mu_;
  int64_t subjects_indexed_upto_ = 0;  // guarded by write_mu_; a hint, see IndexSubjectsIfDue
  std::unique_ptr<Connection> writer_;
  std::mutex reader_mu_;
  std::condition_variable reader_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::vector<Connection*> free_readers_;
  std::unique_ptr<Connection> checkpoint_conn_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  bool checkpoint_stop_ = false;
  std::thread checkpointer_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  auto store = std::make_unique<SqliteStore>(options);
  RETURN_IF_ERROR(store->Open().WithContext("opening SQLite store '" + options.path + "'"));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace rapport::store

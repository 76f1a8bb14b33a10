// The audit log: an append-only, hash-chained record of who did what to whose personal data
// (reads by agents and partners, disclosures and refusals, merges, consents, erasures).
// Entry n commits to entry n-1 through its hash, and the chain's head (count and last hash)
// is kept in a revision-checked document, so altering, removing or reordering any stored
// entry, or cutting entries off the end, is found by Verify.
//
// Keyed chain (invariants, numbered as Verify checks them):
//   1. An entry written with an audit key carries "alg":"hmac-sha256" and the key's id; its
//      hash is HMAC-SHA256(key, body), so nobody without the key (kept outside the database,
//      see AuditKey) can alter, reorder or re-hash entries and have the chain verify.
//   2. Unkeyed entries (SHA-256 only) may precede the first keyed one: logs written before the
//      key existed keep verifying. After a keyed entry, every entry is keyed; an unkeyed one
//      there is a rewrite without the key.
//   3. A checkpoint (count, head, MAC with the key) exported out of the database proves a
//      prefix of the log existed; Verify with checkpoints finds a log cut below any of them
//      or deleted whole, which the chain alone cannot (its head lives in the same database).
//
// Entries name ids, field names and purposes, never the personal data itself: an erasure
// must not have to rewrite the log that proves it happened.
//
// Appends from concurrent requests are committed together (group commit): Append returns
// only once its entries are durable, but many callers share one transaction. Several
// servers on one database serialize on the head document's revision.
//
// Reads of personal data are many and must not wait for a disk sync each (an HTTP worker
// thread blocked on it serves nobody else): AppendBuffered queues them for a flusher thread
// that commits every few milliseconds. A crash can lose the reads of that last interval; a
// clean shutdown commits them, and List and Verify commit them before they read.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/tokens.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "store/store.h"

namespace rapport::privacy {

struct AuditEntry {
  std::string actor;             // a token id, or "system"
  std::string actor_role;        // "admin", "agent", "analyst", "partner" or "system"
  std::string actor_org;         // the partner organisation; "" for staff and the system
  std::string action;            // e.g. "person.read", "disclosure.refused", "erasure"
  std::string subject;           // the id of the person, asset, case ... the entry is about
  Json detail = Json::object();  // ids, field names, purposes; never personal data itself
};

struct AuditRecord {
  int64_t n = 0;    // position in the chain, from 1
  int64_t seq = 0;  // the store's log position: the cursor for List
  Time at{};
  AuditEntry entry;
  std::string prev_hash;  // hash of entry n-1 ("" for n = 1)
  std::string hash;       // hex HMAC-SHA256 (keyed) or SHA-256 over n, at, entry and prev_hash
  std::string key_id;     // AuditKey::id of a keyed entry; "" for an unkeyed one
};

struct AuditVerification {
  bool ok = true;
  int64_t entries = 0;
  int64_t first_keyed = 0;  // n of the first HMAC-keyed entry; 0: none is keyed
  int64_t checkpoints = 0;  // checkpoints found consistent with the log
  std::string problem;      // names the first broken entry (by n) and what is wrong with it
};

// The secret that keys the chain and signs checkpoints. Kept outside the database (a file
// next to a SQLite database by default; see src/privacy/README.md for where it belongs).
struct AuditKey {
  std::string bytes;  // 32 random bytes
  std::string id;     // first 16 hex digits of SHA-256(bytes): names the key, reveals nothing

  static AuditKey FromBytes(std::string bytes);
  // Reads a key file (64 hex digits, whitespace around them ignored). kNotFound when absent,
  // kInvalidArgument naming the path when it holds anything else.
  static Result<AuditKey> Read(const std::string& path);
  // Reads the key file, or creates it (mode 0600, 32 random bytes) when it does not exist and
  // then sets *created to the path.
  static Result<AuditKey> ReadOrCreate(const std::string& path, std::string* created = nullptr);
};

// A signed statement "the log held `entries` entries ending in `head` at `at`", written to a
// file or a log shipper the database cannot reach.
struct AuditCheckpoint {
  int64_t entries = 0;
  std::string head;  // hash of entry `entries` ("" for 0)
  Time at{};
  std::string key;  // AuditKey::id
  std::string mac;  // hex HMAC-SHA256(key, "rapport-audit-checkpoint\n" entries \n head \n at)
};

// One NDJSON line {"entries","head","at","key","mac"}, without the newline.
std::string AuditCheckpointLine(const AuditCheckpoint& c);
// Parses a checkpoints file (one line each; blank lines skipped); kInvalidArgument naming the line.
Result<std::vector<AuditCheckpoint>> ParseAuditCheckpoints(std::string_view text);
// Appends one line to `path` (created 0600 if missing) and fsyncs it.
Status AppendAuditCheckpoint(const std::string& path, const AuditCheckpoint& c);

// {"n","seq","at","actor","role","org","action","subject","detail","hash"}: the API's and the
// CLI's form of an entry.
Json AuditRecordToJson(const AuditRecord& r);

class AuditLog {
 public:
  // Without a key the log writes unkeyed entries (as before keys existed) and cannot sign
  // checkpoints; with one, every new entry is keyed. Appending fails with kFailedPrecondition
  // when the log's head was written with another key (a wrong key file).
  AuditLog(store::Store& store, const Clock& clock, std::optional<AuditKey> key = std::nullopt);
  ~AuditLog();  // commits what AppendBuffered queued

  // Durable when it returns OK. `with` is written in the same transaction as the entries, so
  // a domain change and its audit entry are stored together or not at all; a revision
  // conflict in `with` comes back as kAborted, as from Store::Write.
  Status Append(std::vector<AuditEntry> entries, store::WriteBatch with = {});
  Status Append(AuditEntry entry) { return Append(std::vector<AuditEntry>{std::move(entry)}); }

  // Queues the entry; committed within kFlushInterval. kUnavailable (and nothing queued) when
  // the database has been failing long enough for kMaxBuffered entries to wait.
  Status AppendBuffered(AuditEntry entry);
  // Commits what AppendBuffered queued so far.
  Status Flush();

  static constexpr std::chrono::milliseconds kFlushInterval{5};
  static constexpr size_t kMaxBuffered = 100000;

  // Entries about one subject (all when empty) with seq > after, in the order stored.
  Result<std::vector<AuditRecord>> List(std::string_view subject, int64_t after, int limit);

  // An entry for a request made with an API token.
  static AuditEntry By(const auth::Principal& who, std::string action, std::string subject,
                       Json detail = Json::object());

  // Re-computes every hash and MAC, checks the chain against its head and every checkpoint
  // against the chain (MAC with this log's key; the log still holds the checkpointed prefix).
  // A damaged log is ok = false with the problem named, not an error.
  Result<AuditVerification> Verify(const std::vector<AuditCheckpoint>& checkpoints = {});

  // kFailedPrecondition naming both keys when the log's head was written with another key than
  // this log's (or with a key while this log has none): a lost or swapped key file.
  Status CheckKey();

  // Signs the current head (after committing buffered entries). kFailedPrecondition without a key.
  Result<AuditCheckpoint> Checkpoint();

 private:
  struct Pending;
  struct Head {
    int64_t n = 0;
    std::string hash;
    std::string key;       // id of the key of the last entry; "" when unkeyed
    int64_t revision = 0;  // of the head document; 0: not stored yet
  };
  void CommitGroup(const std::vector<Pending*>& group);
  Status TryCommit(const std::vector<Pending*>& group);
  Result<Head> ReadHead();
  Status KeyMismatch(const std::string& log_key) const;

  store::Store& store_;
  const Clock& clock_;
  const std::optional<AuditKey> key_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::deque<Pending*> queue_;
  bool committing_ = false;
  // Only the committing thread touches the cached head.
  std::optional<Head> head_;

  void FlushLoop();
  // Held for a whole Flush, so that a reader's Flush waits for the background flusher's
  // batch to be stored instead of finding the buffer empty while that batch is in flight.
  std::mutex flush_mu_;
  std::mutex buffer_mu_;
  std::condition_variable buffer_cv_;
  std::vector<AuditEntry> buffer_;
  bool flusher_stop_ = false;
  std::thread flusher_;  // started by the first AppendBuffered
};

}  // namespace rapport::privacy

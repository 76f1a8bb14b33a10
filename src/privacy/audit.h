// The audit log: an append-only, hash-chained record of who did what to whose personal data
// (reads by agents and partners, disclosures and refusals, merges, consents, erasures).
// Entry n commits to entry n-1 through its hash, and the chain's head (count and last hash)
// is kept in a revision-checked document, so altering, removing or reordering any stored
// entry, or cutting entries off the end, is found by Verify.
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
  std::string prev_hash;  // hex SHA-256 of entry n-1 ("" for n = 1)
  std::string hash;       // hex SHA-256 over n, at, entry and prev_hash
};

struct AuditVerification {
  bool ok = true;
  int64_t entries = 0;
  std::string problem;  // names the first broken entry (by n) and what is wrong with it
};

// {"n","seq","at","actor","role","org","action","subject","detail","hash"}: the API's and the
// CLI's form of an entry.
Json AuditRecordToJson(const AuditRecord& r);

class AuditLog {
 public:
  AuditLog(store::Store& store, const Clock& clock);
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

  // Re-computes every hash and checks the chain against its head.
  Result<AuditVerification> Verify();

 private:
  struct Pending;
  struct Head {
    int64_t n = 0;
    std::string hash;
    int64_t revision = 0;  // of the head document; 0: not stored yet
  };
  void CommitGroup(const std::vector<Pending*>& group);
  Status TryCommit(const std::vector<Pending*>& group);
  Status LoadHead();

  store::Store& store_;
  const Clock& clock_;
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

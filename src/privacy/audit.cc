#include "privacy/audit.h"

#include <map>
#include <utility>

namespace rapport::privacy {
namespace {

constexpr std::string_view kStream = "audit";
constexpr std::string_view kHeadKind = "audit-head";
constexpr std::string_view kHeadId = "chain";
// More callers per transaction would only make the transaction longer, not cheaper.
constexpr size_t kMaxGroup = 512;
// Another server appended between our read of the head and our write; it is rare and cheap
// to retry, so the bound only guards against a livelock.
constexpr int kMaxHeadRetries = 50;

// The hashed content of an entry. nlohmann's objects keep keys sorted, so dump() is canonical.
Json Body(int64_t n, Time at, const AuditEntry& e, const std::string& prev_hash) {
  return Json{{"n", n},
              {"at", FormatTime(at)},
              {"actor", e.actor},
              {"role", e.actor_role},
              {"org", e.actor_org},
              {"action", e.action},
              {"subject", e.subject},
              {"detail", e.detail},
              {"prev", prev_hash}};
}

std::string HashOf(const Json& body) { return auth::Sha256Hex(body.dump()); }

Result<AuditRecord> ParseLine(const store::LogLine& line) {
  auto where = "audit entry at log position " + std::to_string(line.seq);
  auto json = ParseJson(line.body);
  if (!json.ok() || !json->is_object()) return DataLoss(where + " is not a JSON object");
  try {
    AuditRecord r;
    r.seq = line.seq;
    r.n = json->at("n").get<int64_t>();
    ASSIGN_OR_RETURN(r.at, ParseTime(json->at("at").get<std::string>()));
    r.entry.actor = json->at("actor").get<std::string>();
    r.entry.actor_role = json->at("role").get<std::string>();
    r.entry.actor_org = json->at("org").get<std::string>();
    r.entry.action = json->at("action").get<std::string>();
    r.entry.subject = json->at("subject").get<std::string>();
    r.entry.detail = json->at("detail");
    r.prev_hash = json->at("prev").get<std::string>();
    r.hash = json->at("hash").get<std::string>();
    return r;
  } catch (const Json::exception& e) {
    return DataLoss(where + " lacks a field or has one of the wrong type: " + e.what());
  }
}

}  // namespace

Json AuditRecordToJson(const AuditRecord& r) {
  return Json{{"n", r.n},
              {"seq", r.seq},
              {"at", FormatTime(r.at)},
              {"actor", r.entry.actor},
              {"role", r.entry.actor_role},
              {"org", r.entry.actor_org},
              {"action", r.entry.action},
              {"subject", r.entry.subject},
              {"detail", r.entry.detail},
              {"hash", r.hash}};
}

struct AuditLog::Pending {
  std::vector<AuditEntry> entries;
  store::WriteBatch with;
  Status status;
  bool done = false;
};

AuditLog::AuditLog(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(buffer_mu_);
    flusher_stop_ = true;
  }
  buffer_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  (void)Flush();  // nothing to report to at shutdown; the entries stay queued only if it fails
}

Status AuditLog::AppendBuffered(AuditEntry entry) {
  if (entry.action.empty()) return InvalidArgument("audit entry: action is empty");
  std::lock_guard<std::mutex> lock(buffer_mu_);
  if (buffer_.size() >= kMaxBuffered) {
    return Unavailable("the audit log cannot be written (" + std::to_string(buffer_.size()) +
                       " entries wait); refusing reads until it can");
  }
  buffer_.push_back(std::move(entry));
  if (!flusher_.joinable() && !flusher_stop_) flusher_ = std::thread([this] { FlushLoop(); });
  return OkStatus();
}

Status AuditLog::Flush() {
  std::lock_guard<std::mutex> flushing(flush_mu_);
  std::vector<AuditEntry> entries;
  {
    std::lock_guard<std::mutex> lock(buffer_mu_);
    entries.swap(buffer_);
  }
  if (entries.empty()) return OkStatus();
  Status s = Append(entries);
  if (!s.ok()) {
    // Put them back in front, in order, to be retried.
    std::lock_guard<std::mutex> lock(buffer_mu_);
    entries.insert(entries.end(), std::make_move_iterator(buffer_.begin()),
                   std::make_move_iterator(buffer_.end()));
    buffer_.swap(entries);
  }
  return s;
}

void AuditLog::FlushLoop() {
  std::unique_lock<std::mutex> lock(buffer_mu_);
  while (!flusher_stop_) {
    buffer_cv_.wait_for(lock, kFlushInterval);
    if (buffer_.empty()) continue;
    lock.unlock();
    (void)Flush();  // a failure keeps the entries queued; AppendBuffered reports the backlog
    lock.lock();
  }
}

AuditEntry AuditLog::By(const auth::Principal& who, std::string action, std::string subject,
                        Json detail) {
  return AuditEntry{.actor = who.token_id,
                    .actor_role = std::string(store::RoleName(who.role)),
                    .actor_org = who.org,
                    .action = std::move(action),
                    .subject = std::move(subject),
                    .detail = std::move(detail)};
}

Status AuditLog::Append(std::vector<AuditEntry> entries, store::WriteBatch with) {
  for (const auto& e : entries) {
    if (e.action.empty()) return InvalidArgument("audit entry: action is empty");
  }
  Pending mine{std::move(entries), std::move(with)};
  std::unique_lock lock(mutex_);
  queue_.push_back(&mine);
  // Group commit: whoever finds no commit running takes everything queued so far; the others
  // wait for it, and one of them leads the next group.
  while (!mine.done) {
    if (committing_) {
      done_.wait(lock);
      continue;
    }
    committing_ = true;
    std::vector<Pending*> group;
    while (!queue_.empty() && group.size() < kMaxGroup) {
      group.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    for (Pending* p : group) p->done = true;
    committing_ = false;
    done_.notify_all();
  }
  return mine.status;
}

void AuditLog::CommitGroup(const std::vector<Pending*>& group) {
  Status status = TryCommit(group);
  if (status.code() == StatusCode::kAborted && group.size() > 1) {
    // One caller's own batch conflicted; commit each alone so the others are not refused.
    for (Pending* p : group) p->status = TryCommit({p});
    return;
  }
  for (Pending* p : group) p->status = status;
}

Status AuditLog::LoadHead() {
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kHeadKind, kHeadId));
  Head head;
  if (doc) {
    auto json = ParseJson(doc->body);
    if (!json.ok() || !json->is_object() || !json->contains("n") || !json->contains("hash")) {
      return DataLoss("audit log head document is damaged");
    }
    head.n = (*json)["n"].get<int64_t>();
    head.hash = (*json)["hash"].get<std::string>();
    head.revision = doc->revision;
  }
  head_ = head;
  return OkStatus();
}

Status AuditLog::TryCommit(const std::vector<Pending*>& group) {
  for (int attempt = 0;; ++attempt) {
    if (!head_) RETURN_IF_ERROR(LoadHead());
    store::WriteBatch batch;
    for (Pending* p : group) {
      auto& w = p->with;
      batch.puts.insert(batch.puts.end(), w.puts.begin(), w.puts.end());
      batch.deletes.insert(batch.deletes.end(), w.deletes.begin(), w.deletes.end());
      batch.enqueue.insert(batch.enqueue.end(), w.enqueue.begin(), w.enqueue.end());
      batch.reschedule.insert(batch.reschedule.end(), w.reschedule.begin(), w.reschedule.end());
      batch.dequeue.insert(batch.dequeue.end(), w.dequeue.begin(), w.dequeue.end());
      batch.append.insert(batch.append.end(), w.append.begin(), w.append.end());
      batch.settings.insert(batch.settings.end(), w.settings.begin(), w.settings.end());
    }
    Head next = *head_;
    Time at = clock_.Now();
    for (Pending* p : group) {
      for (const auto& e : p->entries) {
        Json body = Body(++next.n, at, e, next.hash);
        next.hash = HashOf(body);
        body["hash"] = next.hash;
        batch.append.push_back(store::LogLine{
            .stream = std::string(kStream), .key = e.subject, .body = body.dump(), .at = at});
      }
    }
    if (next.n == head_->n) {
      return batch.empty() ? OkStatus() : store_.Write(batch);
    }
    batch.puts.push_back({store::Document{.kind = std::string(kHeadKind),
                                          .id = std::string(kHeadId),
                                          .body = Json{{"n", next.n}, {"hash", next.hash}}.dump()},
                          head_->revision});
    Status status = store_.Write(batch);
    if (status.ok()) {
      next.revision = head_->revision + 1;
      head_ = next;
      return status;
    }
    int64_t known_revision = head_->revision;
    head_.reset();
    if (status.code() != StatusCode::kAborted) return status;
    RETURN_IF_ERROR(LoadHead());
    // Same head: the conflict was in the callers' own documents.
    if (head_->revision == known_revision) return status;
    if (attempt >= kMaxHeadRetries) {
      return Unavailable("audit log: other writers kept appending; retry");
    }
  }
}

Result<std::vector<AuditRecord>> AuditLog::List(std::string_view subject, int64_t after,
                                                int limit) {
  if (limit < 1 || limit > 1000) return InvalidArgument("limit: must be between 1 and 1000");
  RETURN_IF_ERROR(Flush());
  ASSIGN_OR_RETURN(auto lines, store_.ReadLog(kStream, subject, after, limit));
  std::vector<AuditRecord> records;
  records.reserve(lines.size());
  for (const auto& line : lines) {
    ASSIGN_OR_RETURN(auto record, ParseLine(line));
    records.push_back(std::move(record));
  }
  return records;
}

Result<AuditVerification> AuditLog::Verify() {
  RETURN_IF_ERROR(Flush());
  AuditVerification v;
  auto fail = [&v](int64_t n, std::string what) {
    v.ok = false;
    v.problem = "entry " + std::to_string(n) + ": " + std::move(what);
    return v;
  };
  ASSIGN_OR_RETURN(auto head_doc, store_.GetDocument(kHeadKind, kHeadId));
  int64_t head_n = 0;
  std::string head_hash;
  if (head_doc) {
    auto json = ParseJson(head_doc->body);
    if (!json.ok() || !json->is_object() || !(*json)["n"].is_number_integer() ||
        !(*json)["hash"].is_string()) {
      v.ok = false;
      v.problem = "the chain's head document is damaged";
      return v;
    }
    head_n = (*json)["n"].get<int64_t>();
    head_hash = (*json)["hash"].get<std::string>();
  }

  // Entries are stored in commit order, which is chain order except when servers raced; a
  // small reorder buffer restores chain order without holding the whole log in memory.
  std::map<int64_t, AuditRecord> waiting;
  int64_t expected = 1;
  std::string prev_hash;
  int64_t after = 0;
  for (;;) {
    ASSIGN_OR_RETURN(auto lines, store_.ReadLog(kStream, "", after, 1000));
    if (lines.empty()) break;
    after = lines.back().seq;
    for (const auto& line : lines) {
      auto record = ParseLine(line);
      if (!record.ok()) return fail(expected, record.status().message());
      int64_t n = record->n;
      if (n < expected || waiting.contains(n)) return fail(n, "appears twice");
      waiting.emplace(n, std::move(*record));
    }
    for (auto it = waiting.begin(); it != waiting.end() && it->first == expected;
         it = waiting.erase(it), ++expected) {
      const AuditRecord& r = it->second;
      if (r.prev_hash != prev_hash) {
        return fail(r.n, "does not follow the entry before it (an entry was altered or removed)");
      }
      Json body = Body(r.n, r.at, r.entry, r.prev_hash);
      if (HashOf(body) != r.hash) return fail(r.n, "was altered (its hash does not match)");
      prev_hash = r.hash;
      ++v.entries;
    }
    if (waiting.size() > 100000) return fail(expected, "is missing");
  }
  if (!waiting.empty()) return fail(expected, "is missing");
  if (v.entries != head_n) {
    return fail(head_n, "is missing: the head counts " + std::to_string(head_n) +
                            " entries, the log holds " + std::to_string(v.entries));
  }
  if (prev_hash != head_hash) return fail(head_n, "differs from the hash the head recorded");
  return v;
}

}  // namespace rapport::privacy

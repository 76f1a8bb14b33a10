#include "privacy/audit.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

namespace rapport::privacy {
namespace {

constexpr std::string_view kStream = "audit";
constexpr std::string_view kKeyedAlg = "hmac-sha256";
constexpr std::string_view kHeadKind = "audit-head";
constexpr std::string_view kHeadId = "chain";
// More callers per transaction would only make the transaction longer, not cheaper.
constexpr size_t kMaxGroup = 512;
// Another server appended between our read of the head and our write; it is rare and cheap
// to retry, so the bound only guards against a livelock.
constexpr int kMaxHeadRetries = 50;

// The hashed content of an entry. nlohmann's objects keep keys sorted, so dump() is canonical.
// A keyed entry names its algorithm and key inside the MACed body, so neither can be swapped
// without the key; an unkeyed body is exactly what it was before keys existed.
Json Body(int64_t n, Time at, const AuditEntry& e, const std::string& prev_hash,
          const std::string& key_id) {
  Json body{{"n", n},
            {"at", FormatTime(at)},
            {"actor", e.actor},
            {"role", e.actor_role},
            {"org", e.actor_org},
            {"action", e.action},
            {"subject", e.subject},
            {"detail", e.detail},
            {"prev", prev_hash}};
  if (!key_id.empty()) {
    body["alg"] = kKeyedAlg;
    body["key"] = key_id;
  }
  return body;
}

std::string ToHex(const unsigned char* data, size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), data, size);
  hex.pop_back();
  return hex;
}

std::string HmacHex(const std::string& key, std::string_view data) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                              key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return ToHex(mac, sizeof mac);
}

// `key` is null for an unkeyed entry.
std::string HashOf(const Json& body, const AuditKey* key) {
  return key ? HmacHex(key->bytes, body.dump()) : auth::Sha256Hex(body.dump());
}

bool SameHex(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string CheckpointMac(const AuditKey& key, const AuditCheckpoint& c) {
  return HmacHex(key.bytes, "rapport-audit-checkpoint\n" + std::to_string(c.entries) + "\n" +
                                c.head + "\n" + FormatTime(c.at));
}

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
    if (json->contains("alg")) {
      if (json->at("alg").get<std::string>() != kKeyedAlg) {
        return DataLoss(where + " names an unknown algorithm");
      }
      r.key_id = json->at("key").get<std::string>();
      if (r.key_id.empty()) return DataLoss(where + " is keyed but names no key");
    }
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

AuditKey AuditKey::FromBytes(std::string bytes) {
  AuditKey key;
  key.id = auth::Sha256Hex(bytes).substr(0, 16);
  key.bytes = std::move(bytes);
  return key;
}

Result<AuditKey> AuditKey::Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                  "cannot read the audit key file '" + path + "': " + std::strerror(errno), path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!hex.empty() && space(hex.back())) hex.pop_back();
  size_t start = 0;
  while (start < hex.size() && space(hex[start])) ++start;
  hex.erase(0, start);
  std::string bytes(32, '\0');
  size_t length = 0;
  if (hex.size() != 64 ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), hex.data(),
                     hex.size(), nullptr, &length, nullptr) != 0 ||
      length != 32) {
    return InvalidArgument("the audit key file '" + path +
                               "' must hold 64 hex digits (32 bytes); it holds something else",
                           path);
  }
  return FromBytes(std::move(bytes));
}

Result<AuditKey> AuditKey::ReadOrCreate(const std::string& path, std::string* created) {
  auto key = Read(path);
  if (key.ok() || key.status().code() != StatusCode::kNotFound) return key;
  std::string bytes(32, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  std::string hex = ToHex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  // O_EXCL: two processes starting at once must not each write their own key.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Read(path);
    return Unavailable("cannot create the audit key file '" + path + "': " + std::strerror(errno));
  }
  hex += "\n";
  bool written =
      ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return Unavailable("cannot write the audit key file '" + path + "'");
  }
  if (created) *created = path;
  return FromBytes(std::move(bytes));
}

std::string AuditCheckpointLine(const AuditCheckpoint& c) {
  return Json{{"entries", c.entries},
              {"head", c.head},
              {"at", FormatTime(c.at)},
              {"key", c.key},
              {"mac", c.mac}}
      .dump();
}

Result<std::vector<AuditCheckpoint>> ParseAuditCheckpoints(std::string_view text) {
  std::vector<AuditCheckpoint> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string where = "line " + std::to_string(line_no);
    auto json = ParseJson(line);
    if (!json.ok() || !json->is_object()) return InvalidArgument("not a JSON object", where);
    try {
      AuditCheckpoint c;
      c.entries = json->at("entries").get<int64_t>();
      c.head = json->at("head").get<std::string>();
      auto at = ParseTime(json->at("at").get<std::string>());
      if (!at.ok()) return InvalidArgument("at: " + at.status().message(), where);
      c.at = *at;
      c.key = json->at("key").get<std::string>();
      c.mac = json->at("mac").get<std::string>();
      if (c.entries < 0) return InvalidArgument("entries: must not be negative", where);
      out.push_back(std::move(c));
    } catch (const Json::exception& e) {
      return InvalidArgument(
          std::string("a checkpoint needs entries, head, at, key and mac: ") + e.what(), where);
    }
  }
  return out;
}

Status AppendAuditCheckpoint(const std::string& path, const AuditCheckpoint& c) {
  std::string line = AuditCheckpointLine(c) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable("cannot open the checkpoints file '" + path + "': " + std::strerror(errno));
  }
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Unavailable("cannot write the checkpoints file '" + path + "'");
  return OkStatus();
}

struct AuditLog::Pending {
  std::vector<AuditEntry> entries;
  store::WriteBatch with;
  Status status;
  bool done = false;
};

AuditLog::AuditLog(store::Store& store, const Clock& clock, std::optional<AuditKey> key)
    : store_(store), clock_(clock), key_(std::move(key)) {}

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

Result<AuditLog::Head> AuditLog::ReadHead() {
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kHeadKind, kHeadId));
  Head head;
  if (doc) {
    auto json = ParseJson(doc->body);
    if (!json.ok() || !json->is_object() || !json->contains("n") ||
        !(*json)["n"].is_number_integer() || !json->contains("hash") ||
        !(*json)["hash"].is_string()) {
      return DataLoss("audit log head document is damaged");
    }
    head.n = (*json)["n"].get<int64_t>();
    head.hash = (*json)["hash"].get<std::string>();
    if (json->contains("key") && (*json)["key"].is_string()) {
      head.key = (*json)["key"].get<std::string>();
    }
    head.revision = doc->revision;
  }
  return head;
}

Status AuditLog::KeyMismatch(const std::string& log_key) const {
  if (log_key.empty() || (key_ && key_->id == log_key)) return OkStatus();
  return FailedPrecondition(
      "the audit log is keyed with key " + log_key + "; " +
      (key_ ? "the audit key file holds key " + key_->id : std::string("no key was given")) +
      ": wrong --audit-key-file");
}

Status AuditLog::CheckKey() {
  ASSIGN_OR_RETURN(Head head, ReadHead());
  return KeyMismatch(head.key);
}

Status AuditLog::TryCommit(const std::vector<Pending*>& group) {
  for (int attempt = 0;; ++attempt) {
    if (!head_) {
      ASSIGN_OR_RETURN(head_, ReadHead());
    }
    // Entries keyed with another key would break the chain for every verifier: refuse them.
    if (Status s = KeyMismatch(head_->key); !s.ok()) {
      head_.reset();  // re-read next time: another writer may hold the right key
      return s;
    }
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
        Json body = Body(++next.n, at, e, next.hash, key_ ? key_->id : "");
        next.hash = HashOf(body, key_ ? &*key_ : nullptr);
        next.key = key_ ? key_->id : "";
        body["hash"] = next.hash;
        batch.append.push_back(store::LogLine{
            .stream = std::string(kStream), .key = e.subject, .body = body.dump(), .at = at});
      }
    }
    if (next.n == head_->n) {
      return batch.empty() ? OkStatus() : store_.Write(batch);
    }
    Json head_body{{"n", next.n}, {"hash", next.hash}};
    if (!next.key.empty()) head_body["key"] = next.key;
    batch.puts.push_back(
        {store::Document{
             .kind = std::string(kHeadKind), .id = std::string(kHeadId), .body = head_body.dump()},
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
    ASSIGN_OR_RETURN(head_, ReadHead());
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

Result<AuditVerification> AuditLog::Verify(const std::vector<AuditCheckpoint>& checkpoints) {
  RETURN_IF_ERROR(Flush());
  AuditVerification v;
  auto fail = [&v](int64_t n, std::string what) {
    v.ok = false;
    v.problem = "entry " + std::to_string(n) + ": " + std::move(what);
    return v;
  };
  auto fail_checkpoint = [&v](const AuditCheckpoint& c, std::string what) {
    v.ok = false;
    v.problem = "checkpoint of " + FormatTime(c.at) + " (" + std::to_string(c.entries) +
                " entries): " + std::move(what);
    return v;
  };
  // Invariant 3: a checkpoint counts only if this key signed it; one the database's owner
  // could have written proves nothing.
  std::multimap<int64_t, const AuditCheckpoint*> pending_checkpoints;
  for (const auto& c : checkpoints) {
    if (!key_) return fail_checkpoint(c, "cannot be checked without the audit key");
    if (c.key != key_->id) {
      return fail_checkpoint(c, "was signed with key " + c.key + ", the audit key file holds key " +
                                    key_->id + ": wrong --audit-key-file");
    }
    if (!SameHex(c.mac, CheckpointMac(*key_, c))) {
      return fail_checkpoint(c, "its MAC does not match (the checkpoint was altered)");
    }
    if (c.entries == 0) {
      ++v.checkpoints;
      continue;
    }
    pending_checkpoints.emplace(c.entries, &c);
  }

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
      Json body = Body(r.n, r.at, r.entry, r.prev_hash, r.key_id);
      if (r.key_id.empty()) {
        // Invariant 2: once keyed, always keyed.
        if (v.first_keyed != 0) {
          return fail(r.n, "is not keyed although entry " + std::to_string(v.first_keyed) +
                               " before it is (the log was rewritten without the audit key)");
        }
        if (HashOf(body, nullptr) != r.hash) {
          return fail(r.n, "was altered (its hash does not match)");
        }
      } else {
        if (!key_) return fail(r.n, "is keyed, and no audit key was given to check it");
        if (r.key_id != key_->id) {
          return fail(r.n, "was written with audit key " + r.key_id +
                               ", the audit key file holds key " + key_->id +
                               ": wrong --audit-key-file");
        }
        if (!SameHex(HashOf(body, &*key_), r.hash)) {
          return fail(r.n,
                      "was altered, reordered or re-hashed (its MAC does not match the audit key)");
        }
        if (v.first_keyed == 0) v.first_keyed = r.n;
      }
      for (auto [c, end] = pending_checkpoints.equal_range(r.n); c != end;
           c = pending_checkpoints.erase(c)) {
        if (c->second->head != r.hash) {
          return fail_checkpoint(*c->second,
                                 "entry " + std::to_string(r.n) +
                                     " is no longer the one checkpointed (the log was rewritten)");
        }
        ++v.checkpoints;
      }
      prev_hash = r.hash;
      ++v.entries;
    }
    if (waiting.size() > 100000) return fail(expected, "is missing");
  }
  if (!waiting.empty()) return fail(expected, "is missing");
  if (!pending_checkpoints.empty()) {
    const AuditCheckpoint& c = *pending_checkpoints.begin()->second;
    return fail_checkpoint(
        c, "the log holds only " + std::to_string(v.entries) +
               (v.entries == 1 ? " entry" : " entries") +
               " (entries were removed from its end, or the whole log was deleted)");
  }
  if (v.entries != head_n) {
    return fail(head_n, "is missing: the head counts " + std::to_string(head_n) +
                            " entries, the log holds " + std::to_string(v.entries));
  }
  if (prev_hash != head_hash) return fail(head_n, "differs from the hash the head recorded");
  return v;
}

Result<AuditCheckpoint> AuditLog::Checkpoint() {
  if (!key_) return FailedPrecondition("a checkpoint needs the audit key");
  RETURN_IF_ERROR(Flush());
  // The head document, not a walk of the whole log: a server checkpoints every minute. The
  // checkpoint is only as good as the head at that moment, which Verify checks against it.
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kHeadKind, kHeadId));
  AuditCheckpoint c;
  if (doc) {
    auto json = ParseJson(doc->body);
    if (!json.ok() || !json->is_object() || !(*json)["n"].is_number_integer() ||
        !(*json)["hash"].is_string()) {
      return DataLoss("audit log head document is damaged");
    }
    c.entries = (*json)["n"].get<int64_t>();
    c.head = (*json)["hash"].get<std::string>();
  }
  c.at = clock_.Now();
  c.key = key_->id;
  c.mac = CheckpointMac(*key_, c);
  return c;
}

}  // namespace rapport::privacy

// Everything that enters the store from outside passes through here: HTTP bodies (one JSON
// object, a JSON array, or NDJSON) and files (CSV, NDJSON) for `rapport import`. Parsing and
// validation happen before anything is stored; an HTTP batch is all-or-nothing, a file import
// stores good rows and reports each rejected row with its line and reason.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/group_commit.h"
#include "core/ids.h"
#include "core/metrics.h"
#include "core/model.h"
#include "store/store.h"

namespace rapport::ingest {

enum class BodyFormat { kJson, kNdjson };

// An event without an id gets one derived from its content ("evt_" + 128-bit hash of type,
// subject, keys, occurred_at and payload), so that resending it is still idempotent.
std::string ContentEventId(const Event& e);

// Parses events from an HTTP body. Errors name the line (NDJSON) or array index and field.
Result<std::vector<Event>> ParseEvents(std::string_view body, BodyFormat format, Time now);
// Parses source records; each gets a fresh id from `ids` (kept only if the record is new).
Result<std::vector<SourceRecord>> ParseRecords(std::string_view body, BodyFormat format, Time now,
                                               IdSource& ids);

struct EventsAccepted {
  std::vector<store::EventAppend> results;
  size_t created = 0;
  size_t duplicates = 0;
};

struct RecordsAccepted {
  std::vector<store::RecordPut> results;
  std::vector<std::string> persons;  // per record: what the listener placed it on ("" if none)
  size_t created = 0;
  size_t duplicates = 0;
};

// Stores parsed input and counts it. Thread-safe. Callers that arrive while a batch is being
// stored are stored together in the next one (GroupCommit): one transaction, one fsync and one
// resolution for all of them, which is what lets single-record requests from many connections
// go faster than one commit after another. Each caller still gets its own all-or-nothing: a
// batch that fails fails every caller in it.
class Ingestor {
 public:
  Ingestor(store::Store& store, const Clock& clock, IdSource& ids, MetricsRegistry& metrics);

  Result<EventsAccepted> AcceptEvents(const std::vector<Event>& events);
  Result<RecordsAccepted> AcceptRecords(const std::vector<SourceRecord>& records);

  const Clock& clock() const { return clock_; }
  IdSource& ids() { return ids_; }

  // Called after every stored batch of records with the records and the store's answer for
  // each (same order), to resolve them to persons: it returns the person of each record (same
  // order; "" for none), handed back in RecordsAccepted::persons. Its error is AcceptRecords'
  // error (for every caller of the batch); the records stay stored, so a retry re-delivers
  // them (the listener must be idempotent). Set once, before the first call.
  using RecordsListener = std::function<Result<std::vector<std::string>>(
      const std::vector<SourceRecord>&, const std::vector<store::RecordPut>&)>;
  void SetRecordsListener(RecordsListener listener) { records_listener_ = std::move(listener); }

 private:
  struct RecordOutcome {
    store::RecordPut put;
    std::string person;
  };
  // Stores a batch of records and hands it to the listener.
  Result<std::vector<RecordOutcome>> WriteRecords(const std::vector<SourceRecord>& records);

  // A file import's batch size: a group of HTTP requests is no larger.
  static constexpr size_t kGroupCommitItems = 1000;

  store::Store& store_;
  const Clock& clock_;
  IdSource& ids_;
  RecordsListener records_listener_;
  Counter& events_created_;
  Counter& events_duplicate_;
  Counter& records_created_;
  Counter& records_duplicate_;
  GroupCommit<Event, store::EventAppend> event_commit_;
  GroupCommit<SourceRecord, RecordOutcome> record_commit_;
};

enum class ImportKind { kRecords, kEvents };

struct ImportOptions {
  ImportKind kind = ImportKind::kRecords;
  std::string source;      // records: the source system name (required)
  std::string key_column;  // records: the column holding the source key ("" = id/rec_id/first)
  size_t batch_size = 1000;
  // Called with (bytes read, bytes total) as the import proceeds.
  std::function<void(size_t, size_t)> progress;
};

struct Rejection {
  int line = 0;
  std::string reason;
};

struct ImportSummary {
  size_t rows = 0;
  size_t stored = 0;
  size_t duplicates = 0;
  std::vector<Rejection> rejected;
  std::vector<std::string> notes;  // e.g. the detected encoding and delimiter
};

// Imports a CSV file's bytes. Errors (kInvalidArgument) only for a file that cannot be read
// at all: empty, no header, a missing required column (named, with the columns found).
// Records: every column but the key becomes a field.
// Events: columns id (optional), type, subject (optional), occurred_at; "keys.X" columns are
// correlation keys; every other column goes into the payload.
Result<ImportSummary> ImportCsv(Ingestor& ingestor, std::string bytes,
                                const ImportOptions& options);
// Imports NDJSON: one record or event object a line (the JSON forms of the API).
Result<ImportSummary> ImportNdjson(Ingestor& ingestor, std::string_view bytes,
                                   const ImportOptions& options);

}  // namespace rapport::ingest

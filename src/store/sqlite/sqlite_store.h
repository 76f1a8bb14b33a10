// The embedded default backend: one SQLite database file in WAL mode. Writes are serialised
// on one connection; reads use a pool of reader connections so that they run concurrently with
// writes (WAL readers never block the writer). Only src/app creates it.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace rapport::store {

struct SqliteOptions {
  std::string path = "rapport.db";  // a file, or ":memory:" for a private in-memory database
  // true: fsync the WAL at every commit (survives power loss); false: survives a process
  // crash but may lose the last transactions on power loss (SQLite synchronous=NORMAL).
  bool sync_every_commit = true;
  int readers = 4;  // reader connections (file databases only)
  int busy_timeout_ms = 5000;
  // Zero deleted and overwritten content at once (PRAGMA secure_delete), so that an erased
  // address does not survive in free space of the file (Store::Erase). Off only to measure
  // what it costs, or to test erasure on a file written without it.
  bool secure_delete = true;
  // Events are indexed by subject in sorted chunks of this many; a subject query scans the
  // newer, unindexed tail (at most this many events). Row-by-row indexing wrote one page per
  // distinct subject of every batch and capped ingest at a third of the rate without it.
  int64_t subject_index_chunk = 10000;
};

// Opens (creating if needed) the database and runs pending schema migrations.
// Errors: kUnavailable if the file cannot be opened or locked, kDataLoss if it is not a
// Rapport database or its schema is newer than this binary understands.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace rapport::store

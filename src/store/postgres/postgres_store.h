// The PostgreSQL backend: several `rapport serve` processes share one database. Uses libpq
// with prepared statements over a small connection pool; batch writes are single multi-row
// statements (unnest of arrays). Only src/app creates it.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace rapport::store {

struct PostgresOptions {
  // A libpq connection string or URL: "postgres://user@127.0.0.1:5432/rapport".
  std::string url;
  int pool_size = 8;
};

// Connects, and runs pending migrations under an advisory lock (so servers starting together
// migrate once). Errors: kUnavailable if the server cannot be reached (message names it),
// kDataLoss for a schema newer than this binary.
Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);

}  // namespace rapport::store

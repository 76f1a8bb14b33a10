// API tokens: creation, verification, expiry and revocation. A token string is
// "<token id>.<secret>"; only SHA-256(secret) is stored, so a stolen database yields no usable
// token. Verification results are cached for a second so that a request costs no database
// read.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/ids.h"
#include "store/store.h"

namespace rapport::auth {

using store::Role;

// Who is calling, once a token has been verified.
struct Principal {
  std::string token_id;
  Role role = Role::kAgent;
  std::string org;  // set for partner tokens; "" for staff
  std::string name;
};

struct CreatedToken {
  std::string token;  // shown once; never stored
  store::TokenRecord record;
};

struct TokenCacheOptions {
  // How long a verified token is trusted without re-reading the store: a revocation made by
  // another process (a second server, `rapport token revoke`) takes effect within it.
  // Revocations through this service take effect at once.
  Duration ttl = std::chrono::seconds(1);
  // The clock the cache's age is measured on; null: the system clock. Not the service's
  // clock, which may be a manual clock that stands still while requests keep coming.
  const Clock* clock = nullptr;
};

// Thread-safe.
class TokenService {
 public:
  // `clock` stamps creation and revocation and decides expiry.
  TokenService(store::Store& store, const Clock& clock, IdSource& ids,
               TokenCacheOptions cache = {});

  // A partner token needs an organisation; staff tokens must not have one.
  // With `replace`, unrevoked tokens of the same name are revoked first (rotation).
  // With `expires_in` (positive, else kInvalidArgument naming "expires"), the token is refused
  // from that long after now on.
  Result<CreatedToken> Create(Role role, std::string_view org, std::string_view name,
                              bool replace = false, std::optional<Duration> expires_in = {});
  // kUnauthenticated for a malformed, unknown, wrong, revoked or expired token (one message
  // for all, so a caller learns nothing about which).
  Result<Principal> Verify(std::string_view token);
  Status Revoke(std::string_view token_id);

 private:
  struct CacheEntry {
    std::string secret_hash;
    Principal principal;
    std::optional<Time> expires_at;
    Time checked_at;  // on cache_clock_
  };
  store::Store& store_;
  const Clock& clock_;
  IdSource& ids_;
  SystemClock system_clock_;
  const Clock& cache_clock_;
  Duration ttl_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;
  // Counts revocations through this service (changed under mu_). A verification that read
  // the store before a revocation finished must not cache what it read: it caches only when
  // the count is unchanged since it began.
  std::atomic<uint64_t> revocations_{0};
};

// Lowercase hex SHA-256.
std::string Sha256Hex(std::string_view data);

}  // namespace rapport::auth

// API tokens: creation, verification and revocation. A token string is
// "<token id>.<secret>"; only SHA-256(secret) is stored, so a stolen database yields no usable
// token. Verification results are cached briefly so that a request costs no database read.
#pragma once

#include <chrono>
#include <mutex>
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

// Thread-safe.
class TokenService {
 public:
  // `cache_ttl`: how long a verified token is trusted without re-reading the store (so a
  // revocation made by another process takes effect within it; revocations through this
  // service take effect at once).
  TokenService(store::Store& store, const Clock& clock, IdSource& ids,
               std::chrono::seconds cache_ttl = std::chrono::seconds(10));

  // A partner token needs an organisation; staff tokens must not have one.
  // With `replace`, unrevoked tokens of the same name are revoked first (rotation).
  Result<CreatedToken> Create(Role role, std::string_view org, std::string_view name,
                              bool replace = false);
  // kUnauthenticated for a malformed, unknown, wrong or revoked token (one message for all,
  // so a caller learns nothing about which).
  Result<Principal> Verify(std::string_view token);
  Status Revoke(std::string_view token_id);

 private:
  struct CacheEntry {
    std::string secret_hash;
    Principal principal;
    Time checked_at;
  };
  store::Store& store_;
  const Clock& clock_;
  IdSource& ids_;
  std::chrono::seconds ttl_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;
};

// Lowercase hex SHA-256.
std::string Sha256Hex(std::string_view data);

}  // namespace rapport::auth

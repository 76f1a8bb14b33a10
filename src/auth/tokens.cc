#include "auth/tokens.h"

#include <sodium.h>

#include <array>
#include <cstring>

namespace rapport::auth {

namespace {

std::string RandomSecret() {
  std::array<unsigned char, 32> raw;
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status BadToken() { return Unauthenticated("invalid or revoked API token"); }

bool Expired(const std::optional<Time>& expires_at, Time now) {
  return expires_at && now >= *expires_at;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

TokenService::TokenService(store::Store& store, const Clock& clock, IdSource& ids,
                           TokenCacheOptions cache)
    : store_(store),
      clock_(clock),
      ids_(ids),
      cache_clock_(cache.clock ? *cache.clock : system_clock_),
      ttl_(cache.ttl) {
  if (sodium_init() < 0) std::abort();  // libsodium cannot fail here short of a broken system
}

Result<CreatedToken> TokenService::Create(Role role, std::string_view org, std::string_view name,
                                          bool replace, std::optional<Duration> expires_in) {
  if (role == Role::kPartner && org.empty()) {
    return InvalidArgument("a partner token needs an organisation (--org)", "org");
  }
  if (role != Role::kPartner && !org.empty()) {
    return InvalidArgument("only partner tokens are scoped to an organisation", "org");
  }
  if (replace && name.empty()) return InvalidArgument("replacing needs a token name", "name");
  if (expires_in && *expires_in <= Duration::zero()) {
    return InvalidArgument("a token's lifetime must be positive (e.g. 90d)", "expires");
  }
  if (replace) {
    ASSIGN_OR_RETURN(int revoked, store_.RevokeTokensNamed(name, clock_.Now()));
    (void)revoked;
    std::unique_lock lock(mu_);
    ++revocations_;
    cache_.clear();
  }
  CreatedToken out;
  std::string secret = RandomSecret();
  out.record.id = ids_.Next("tok");
  out.record.secret_hash = Sha256Hex(secret);
  out.record.role = role;
  out.record.org = std::string(org);
  out.record.name = std::string(name);
  out.record.created_at = clock_.Now();
  if (expires_in) out.record.expires_at = out.record.created_at + *expires_in;
  RETURN_IF_ERROR(store_.PutToken(out.record));
  out.token = out.record.id + "." + secret;
  return out;
}

Result<Principal> TokenService::Verify(std::string_view token) {
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= token.size()) return BadToken();
  std::string id(token.substr(0, dot));
  std::string hash = Sha256Hex(token.substr(dot + 1));
  Time now = clock_.Now();
  Time cache_now = cache_clock_.Now();
  {
    std::shared_lock lock(mu_);
    auto it = cache_.find(id);
    // A system clock stepped back makes an entry's age negative: read the store then.
    if (it != cache_.end() && cache_now - it->second.checked_at < ttl_ &&
        cache_now >= it->second.checked_at) {
      if (!ConstantTimeEqual(it->second.secret_hash, hash)) return BadToken();
      if (Expired(it->second.expires_at, now)) return BadToken();
      return it->second.principal;
    }
  }
  const uint64_t revocations_before = revocations_.load();
  auto rec = store_.GetToken(id);
  if (!rec.ok()) {
    if (rec.status().code() == StatusCode::kNotFound) return BadToken();
    return rec.status();
  }
  if (rec->revoked_at || !ConstantTimeEqual(rec->secret_hash, hash)) return BadToken();
  if (Expired(rec->expires_at, now)) return BadToken();
  Principal p{rec->id, rec->role, rec->org, rec->name};
  std::unique_lock lock(mu_);
  // A revocation through this service since the read may concern this token: answer from
  // what was read (the request began before the revocation), but do not keep it.
  if (revocations_.load() != revocations_before) return p;
  if (cache_.size() > 100000) cache_.clear();  // bound memory against token-id floods
  cache_[id] = {rec->secret_hash, p, rec->expires_at, cache_now};
  return p;
}

Status TokenService::Revoke(std::string_view token_id) {
  RETURN_IF_ERROR(store_.RevokeToken(token_id, clock_.Now()));
  std::unique_lock lock(mu_);
  ++revocations_;
  cache_.erase(std::string(token_id));
  return OkStatus();
}

}  // namespace rapport::auth

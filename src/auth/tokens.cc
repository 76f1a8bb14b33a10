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

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

TokenService::TokenService(store::Store& store, const Clock& clock, IdSource& ids,
                           std::chrono::seconds cache_ttl)
    : store_(store), clock_(clock), ids_(ids), ttl_(cache_ttl) {
  if (sodium_init() < 0) std::abort();  // libsodium cannot fail here short of a broken system
}

Result<CreatedToken> TokenService::Create(Role role, std::string_view org, std::string_view name,
                                          bool replace) {
  if (role == Role::kPartner && org.empty()) {
    return InvalidArgument("a partner token needs an organisation (--org)", "org");
  }
  if (role != Role::kPartner && !org.empty()) {
    return InvalidArgument("only partner tokens are scoped to an organisation", "org");
  }
  if (replace && name.empty()) return InvalidArgument("replacing needs a token name", "name");
  if (replace) {
    ASSIGN_OR_RETURN(int revoked, store_.RevokeTokensNamed(name, clock_.Now()));
    (void)revoked;
    std::unique_lock lock(mu_);
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
  {
    std::shared_lock lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end() && now - it->second.checked_at < ttl_ &&
        now >= it->second.checked_at) {
      if (!ConstantTimeEqual(it->second.secret_hash, hash)) return BadToken();
      return it->second.principal;
    }
  }
  auto rec = store_.GetToken(id);
  if (!rec.ok()) {
    if (rec.status().code() == StatusCode::kNotFound) return BadToken();
    return rec.status();
  }
  if (rec->revoked_at || !ConstantTimeEqual(rec->secret_hash, hash)) return BadToken();
  Principal p{rec->id, rec->role, rec->org, rec->name};
  std::unique_lock lock(mu_);
  if (cache_.size() > 100000) cache_.clear();  // bound memory against token-id floods
  cache_[id] = {rec->secret_hash, p, now};
  return p;
}

Status TokenService::Revoke(std::string_view token_id) {
  RETURN_IF_ERROR(store_.RevokeToken(token_id, clock_.Now()));
  std::unique_lock lock(mu_);
  cache_.erase(std::string(token_id));
  return OkStatus();
}

}  // namespace rapport::auth

#include "auth/tokens.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"

namespace rapport::auth {
namespace {

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
    tokens_ = std::make_unique<TokenService>(*store_, clock_, ids_,
                                             TokenCacheOptions{.clock = &cache_clock_});
  }
  ManualClock clock_{*ParseTime("2026-11-23T10:00:00Z")};
  // The cache's age runs on its own clock (the system clock in a server): a manual business
  // clock that stands still must not keep a revoked token cached.
  ManualClock cache_clock_{*ParseTime("2026-11-23T10:00:00Z")};
  UlidSource ids_{clock_, 1};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<TokenService> tokens_;
};

TEST_F(TokenServiceTest, OnlyTheSecretsHashIsStored) {
  auto t = tokens_->Create(Role::kAdmin, "", "ops");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::string secret = t->token.substr(t->token.find('.') + 1);
  EXPECT_GE(secret.size(), 40u);
  auto stored = store_->GetToken(t->record.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->secret_hash, Sha256Hex(secret));
  EXPECT_EQ(stored->secret_hash.find(secret), std::string::npos);
  auto p = tokens_->Verify(t->token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kAdmin);
}

TEST_F(TokenServiceTest, WrongMalformedAndRevokedTokensAreRejectedAlike) {
  auto t = tokens_->Create(Role::kPartner, "acme", "acme-1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(tokens_->Verify(t->token)->org, "acme");
  std::string wrong = t->token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {wrong, std::string("nodot"), std::string(".x"),
                                 std::string("tok_unknown.secret"), std::string("")}) {
    auto r = tokens_->Verify(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(r.status().message(), "invalid or revoked API token");
  }
  ASSERT_TRUE(tokens_->Revoke(t->record.id).ok());
  EXPECT_EQ(tokens_->Verify(t->token).status().code(), StatusCode::kUnauthenticated);
}

// Issue 18, finding 7: a revocation is effective at once on the server that made it (even for
// a token it has cached) and within one second on another server sharing the database, even
// when the business clock stands still (a manual clock).
TEST_F(TokenServiceTest, RevocationIsAtOnceHereAndWithinOneSecondOnAnotherServer) {
  TokenService other(*store_, clock_, ids_, TokenCacheOptions{.clock = &cache_clock_});
  auto t = tokens_->Create(Role::kAgent, "", "a");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(tokens_->Verify(t->token).ok());  // cached by both
  ASSERT_TRUE(other.Verify(t->token).ok());
  ASSERT_TRUE(tokens_->Revoke(t->record.id).ok());
  EXPECT_FALSE(tokens_->Verify(t->token).ok()) << "at once where it was revoked";
  ASSERT_TRUE(cache_clock_.Advance(std::chrono::milliseconds(999)).ok());
  EXPECT_TRUE(other.Verify(t->token).ok()) << "still cached on the other server";
  ASSERT_TRUE(cache_clock_.Advance(std::chrono::milliseconds(1)).ok());
  auto refused = other.Verify(t->token);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
}

// Issue 18, finding 7: a token created with a lifetime is refused from then on, cached or not.
TEST_F(TokenServiceTest, AnExpiredTokenIsRefusedAlikeCachedOrNot) {
  auto t = tokens_->Create(Role::kAgent, "", "ci", false, std::chrono::hours(24 * 90));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->record.expires_at, clock_.Now() + std::chrono::hours(24 * 90));
  EXPECT_EQ(store_->GetToken(t->record.id)->expires_at, t->record.expires_at);
  ASSERT_TRUE(tokens_->Verify(t->token).ok());  // now cached
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(24 * 90) - std::chrono::seconds(1)).ok());
  EXPECT_TRUE(tokens_->Verify(t->token).ok());
  ASSERT_TRUE(clock_.Advance(std::chrono::seconds(1)).ok());
  auto cached = tokens_->Verify(t->token);
  EXPECT_EQ(cached.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(cached.status().message(), "invalid or revoked API token");
  TokenService fresh(*store_, clock_, ids_, TokenCacheOptions{.clock = &cache_clock_});
  EXPECT_EQ(fresh.Verify(t->token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens_->Create(Role::kAgent, "", "x", false, std::chrono::seconds(0)).status().where(),
            "expires");
}

TEST_F(TokenServiceTest, ReplaceRotatesTokensOfTheSameName) {
  auto first = tokens_->Create(Role::kAdmin, "", "demo-admin", true);
  auto second = tokens_->Create(Role::kAdmin, "", "demo-admin", true);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(tokens_->Verify(first->token).ok());
  EXPECT_TRUE(tokens_->Verify(second->token).ok());
}

TEST_F(TokenServiceTest, PartnerTokensNeedAnOrgAndStaffTokensMustNotHaveOne) {
  EXPECT_EQ(tokens_->Create(Role::kPartner, "", "p").status().where(), "org");
  EXPECT_EQ(tokens_->Create(Role::kAgent, "acme", "p").status().where(), "org");
}

}  // namespace
}  // namespace rapport::auth

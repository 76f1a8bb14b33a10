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
    tokens_ = std::make_unique<TokenService>(*store_, clock_, ids_);
  }
  ManualClock clock_{*ParseTime("2026-11-23T10:00:00Z")};
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

TEST_F(TokenServiceTest, RevocationByAnotherProcessTakesEffectAfterTheCacheTtl) {
  auto t = tokens_->Create(Role::kAgent, "", "a");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(tokens_->Verify(t->token).ok());
  ASSERT_TRUE(store_->RevokeToken(t->record.id, clock_.Now()).ok());  // behind the cache
  ASSERT_TRUE(clock_.Advance(std::chrono::seconds(11)).ok());
  EXPECT_FALSE(tokens_->Verify(t->token).ok());
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

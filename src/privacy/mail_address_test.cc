// Header shapes as mailers write them, and the malformed ones a sender may send us.
#include "privacy/mail_address.h"

#include <gtest/gtest.h>

namespace rapport::privacy {
namespace {

std::vector<std::string> Keys(std::string_view header) {
  auto list = ParseAddressList(header);
  EXPECT_TRUE(list.ok()) << header << ": " << list.status().ToString();
  std::vector<std::string> out;
  if (list.ok()) {
    for (const auto& a : *list) out.push_back(a.Key());
  }
  return out;
}

TEST(MailAddressTest, BareAddressAndAngleAddress) {
  EXPECT_EQ(Keys("anna@example.org"), std::vector<std::string>{"anna@example.org"});
  EXPECT_EQ(Keys("<anna@example.org>"), std::vector<std::string>{"anna@example.org"});
  EXPECT_EQ(Keys("  <anna@example.org>  "), std::vector<std::string>{"anna@example.org"});
}

TEST(MailAddressTest, DisplayNameIsKeptApartFromTheAddress) {
  auto list = ParseAddressList("Max Leser <max.leser+c9c2@example.org>");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].display_name, "Max Leser");
  EXPECT_EQ((*list)[0].local_part, "max.leser+c9c2");
  EXPECT_EQ((*list)[0].domain, "example.org");
}

TEST(MailAddressTest, SenderDomainHasNoBracket) {
  auto list = ParseAddressList("Stadtwerke A <angebote@Stadtwerke-A.de>");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].domain, "stadtwerke-a.de");
}

TEST(MailAddressTest, QuotedDisplayNameMayHoldCommasAndAngles) {
  auto list = ParseAddressList(R"("Leser, Max <privat>" <max@example.org>, "O\"Brien" <ob@x.ie>)");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].display_name, "Leser, Max <privat>");
  EXPECT_EQ((*list)[0].Key(), "max@example.org");
  EXPECT_EQ((*list)[1].display_name, "O\"Brien");
  EXPECT_EQ((*list)[1].Key(), "ob@x.ie");
}

TEST(MailAddressTest, SeveralRecipientsSeparatedByCommas) {
  EXPECT_EQ(Keys("a@x.de, Bert <b@y.de>,<c@z.de> ,, d@w.de"),
            (std::vector<std::string>{"a@x.de", "b@y.de", "c@z.de", "d@w.de"}));
}

TEST(MailAddressTest, CommentsAndFoldingWhiteSpaceAreDropped) {
  EXPECT_EQ(Keys("max@example.org (Max (privat) Leser)"),
            std::vector<std::string>{"max@example.org"});
  EXPECT_EQ(Keys("Max\r\n Leser <max @ example . org>"),
            std::vector<std::string>{"max@example.org"});
  auto list = ParseAddressList("Max (der Leser) Leser <max@example.org>");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].display_name, "Max Leser");
}

TEST(MailAddressTest, MixedCaseAliasGivesTheLowerCaseKey) {
  EXPECT_EQ(Keys("Max.Leser.Strom+C9C2AB@Example.ORG"),
            std::vector<std::string>{"max.leser.strom+c9c2ab@example.org"});
}

TEST(MailAddressTest, QuotedLocalPartAndDomainLiteral) {
  auto list = ParseAddressList(R"("max leser"@example.org, root@[192.0.2.1])");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)[0].local_part, "max leser");
  EXPECT_EQ((*list)[1].domain, "[192.0.2.1]");
}

TEST(MailAddressTest, GroupMembersAreListedInPlace) {
  EXPECT_EQ(Keys("Kunden: a@x.de, Bert <b@y.de>;, c@z.de"),
            (std::vector<std::string>{"a@x.de", "b@y.de", "c@z.de"}));
  // An empty group ("undisclosed recipients") names nobody, which is not an error by itself.
  EXPECT_EQ(Keys("undisclosed-recipients:;, a@x.de"), std::vector<std::string>{"a@x.de"});
}

TEST(MailAddressTest, ObsoleteRouteIsSkipped) {
  EXPECT_EQ(Keys("<@relay.example,@r2.example:anna@example.org>"),
            std::vector<std::string>{"anna@example.org"});
}

TEST(MailAddressTest, Utf8DisplayName) {
  auto list = ParseAddressList("Jürgen Müller <jm@example.de>");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].display_name, "Jürgen Müller");
}

TEST(MailAddressTest, MalformedValuesAreRefusedWithTheProblem) {
  for (const char* bad :
       {"", "   ", ",", "Max Leser", "Max Leser max@example.org", "<max@example.org", "max@",
        "@example.org", "\"open@x.de", "(open comment max@x.de", "a@x.de b@y.de", "G: a@x.de",
        "G: H: a@x.de;;", "<>", "<@relay anna@x.de>", "a@x..de", "a\x01@x.de"}) {
    auto list = ParseAddressList(bad);
    EXPECT_FALSE(list.ok()) << "'" << bad << "' parsed";
    if (!list.ok()) {
      EXPECT_EQ(list.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace rapport::privacy

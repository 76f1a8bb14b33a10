#include "identity/normalize.h"

#include <gtest/gtest.h>

namespace rapport::identity {
namespace {

TEST(FoldText, GermanTransliterationAndCase) {
  EXPECT_EQ(FoldText("Müller"), "mueller");
  EXPECT_EQ(FoldText("MÜLLER"), "mueller");
  EXPECT_EQ(FoldText("Straße"), "strasse");
  EXPECT_EQ(FoldText("STRASSE"), "strasse");
  EXPECT_EQ(FoldText("  José  García-López "), "jose garcia lopez");
  EXPECT_EQ(FoldText("O'Brien"), "obrien");
  EXPECT_EQ(FoldText("ﬁne"), "fine");  // NFKC ligature
}

TEST(FoldText, Latin1BytesAreReadAsWindows1252) { EXPECT_EQ(FoldText("M\xFCller"), "mueller"); }

TEST(FoldText, PlaceholdersAreEmpty) {
  for (const char* p : {"", "  ", "unknown", "N/A", "n/a", "00000", "1900-01-01", "-", "?"}) {
    EXPECT_EQ(FoldText(p), "") << p;
    EXPECT_TRUE(IsPlaceholder(p)) << p;
  }
  EXPECT_FALSE(IsPlaceholder("Anna"));
}

TEST(LooseSpelling, MuellerMullerAgree) {
  EXPECT_EQ(LooseSpelling(FoldText("Müller")), LooseSpelling(FoldText("Mueller")));
  EXPECT_EQ(LooseSpelling(FoldText("Muller")), LooseSpelling(FoldText("Mueller")));
  EXPECT_NE(LooseSpelling(FoldText("Miller")), LooseSpelling(FoldText("Mueller")));
}

TEST(GivenName, TitlesInitialsNicknames) {
  GivenName g = NormalizeGivenName("Dr. Johann Georg");
  EXPECT_EQ(g.full, "johann georg");
  EXPECT_EQ(g.first, "johann");
  EXPECT_FALSE(g.initial);
  EXPECT_TRUE(NormalizeGivenName("J.").initial);
  EXPECT_EQ(NormalizeGivenName("Hans").canonical, NormalizeGivenName("Johann").canonical);
  EXPECT_EQ(NormalizeGivenName("Sepp").canonical, NormalizeGivenName("Josef").canonical);
  EXPECT_EQ(NormalizeGivenName("Bill").canonical, NormalizeGivenName("William").canonical);
  EXPECT_NE(NormalizeGivenName("Anna").canonical, NormalizeGivenName("Johann").canonical);
}

TEST(Surname, ParticlesAndTitlesRemoved) {
  EXPECT_EQ(NormalizeSurname("von Goethe"), "goethe");
  EXPECT_EQ(NormalizeSurname("van der Berg"), "berg");
  EXPECT_EQ(NormalizeSurname("Prof. Dr. Müller-Lüdenscheidt"), "mueller luedenscheidt");
  EXPECT_EQ(NormalizeSurname("De"), "de");
}

TEST(Street, AbbreviationsAgree) {
  StreetAddress a = NormalizeStreet("Hauptstraße", "5");
  StreetAddress b = NormalizeStreet("Hauptstr.", "5");
  StreetAddress c = NormalizeStreet("Hauptstrasse 5", "");
  StreetAddress d = NormalizeStreet("Haupt-Straße", "5");
  EXPECT_EQ(a.street, "haupt str");
  EXPECT_EQ(b.street, a.street);
  EXPECT_EQ(c.street, a.street);
  EXPECT_EQ(d.street, a.street);
  EXPECT_EQ(c.number, "5");
  StreetAddress e = NormalizeStreet("12 Smith Street", "");
  EXPECT_EQ(e.street, "smith st");
  EXPECT_EQ(e.number, "12");
}

TEST(Street, HouseNumberSuffixSplit) {
  StreetAddress a = NormalizeStreet("Lindenweg", "5a");
  EXPECT_EQ(a.number, "5");
  EXPECT_EQ(a.suffix, "a");
  StreetAddress b = NormalizeStreet("Lindenweg 5 - 7", "");
  EXPECT_EQ(b.number, "5");
  EXPECT_EQ(b.suffix, "7");
}

TEST(Postcode, Normalized) {
  EXPECT_EQ(NormalizePostcode(" 80331 "), "80331");
  EXPECT_EQ(NormalizePostcode("sw1a 1aa"), "SW1A1AA");
  EXPECT_EQ(NormalizePostcode("00000"), "");
}

TEST(Phone, E164WithDefaultRegionDe) {
  EXPECT_EQ(NormalizePhone("089 1234567").value_or(""), "+49891234567");
  EXPECT_EQ(NormalizePhone("+49 (0)89 123-4567").value_or(""), "+49891234567");
  EXPECT_EQ(NormalizePhone("0049 89 1234567").value_or(""), "+49891234567");
  EXPECT_FALSE(NormalizePhone("n/a").has_value());
  EXPECT_FALSE(NormalizePhone("hello").has_value());
}

TEST(Email, CanonicalAndTag) {
  auto e = NormalizeEmail(" Anna.Mueller+Shop@Example.DE ");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->canonical, "anna.mueller@example.de");
  EXPECT_EQ(e->tag, "shop");
  EXPECT_EQ(NormalizeEmail("j.o.e@googlemail.com")->canonical, "joe@gmail.com");
  EXPECT_FALSE(NormalizeEmail("not an email").has_value());
  EXPECT_FALSE(NormalizeEmail("unknown").has_value());
}

TEST(Date, Formats) {
  Date want{1980, 5, 17};
  EXPECT_EQ(ParseDate("1980-05-17"), want);
  EXPECT_EQ(ParseDate("19800517"), want);
  EXPECT_EQ(ParseDate("17.05.1980"), want);
  EXPECT_EQ(ParseDate("17/05/1980"), want);
  EXPECT_EQ(ParseDate("05/17/1980"), want);
  EXPECT_FALSE(ParseDate("1900-01-01").has_value());
  EXPECT_FALSE(ParseDate("1980-02-30").has_value());
  EXPECT_FALSE(ParseDate("garbage").has_value());
  EXPECT_FALSE(ParseDate("").has_value());
}

TEST(Date, PlaceholdersAreUnknownNotABirthday) {
  for (const char* p :
       {"01.01.1900", "1.1.1970", "1901-01-01", "30.12.1899", "1800-05-17", "31.12.9999"}) {
    EXPECT_FALSE(ParseDate(p).has_value()) << p;
    EXPECT_TRUE(IsPlaceholderDate(p)) << p;
  }
  // Real birthdays on the first of January, and malformed values, are no placeholders.
  for (const char* p : {"01.01.1971", "1.1.1950", "garbage", "00.00.0000", ""}) {
    EXPECT_FALSE(IsPlaceholderDate(p)) << p;
  }
  EXPECT_EQ(ParseDate("01.01.1950"), (Date{1950, 1, 1}));
}

TEST(Normalizers, NeverCrashOnHostileInput) {
  std::string junk;
  for (int i = 0; i < 256; ++i) junk.push_back(static_cast<char>(i));
  std::string long_text(100000, 'x');
  for (const std::string& s : {junk, long_text, std::string("\xF0\x9F"), std::string("...")}) {
    (void)FoldText(s);
    (void)NormalizeGivenName(s);
    (void)NormalizeSurname(s);
    (void)NormalizeStreet(s, s);
    (void)NormalizePostcode(s);
    (void)NormalizePhone(s);
    (void)NormalizeEmail(s);
    (void)ParseDate(s);
  }
  SUCCEED() << "no crash on hostile input";
}

}  // namespace
}  // namespace rapport::identity

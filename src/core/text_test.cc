#include "core/text.h"

#include <gtest/gtest.h>

namespace rapport {
namespace {

TEST(Utf8Test, ValidatorRejectsOverlongAndSurrogates) {
  EXPECT_TRUE(IsValidUtf8("Müller €"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8("M\xFCller"));
}

TEST(Utf8Test, FirstInvalidByteIsFoundAfterValidMultiByteText) {
  EXPECT_EQ(FirstInvalidUtf8("Müller"), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("Mü\xFF"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("ab\xE2\x82"), 2u);  // cut short at the end
}

TEST(YamlTextTest, ANonUtf8ByteIsPlacedAtItsLineAndColumn) {
  auto problem = FindYamlTextProblem("journey: x\nevents:\n  gr\xFC\xDF: {}\n");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->line, 3);
  EXPECT_EQ(problem->column, 5);
  EXPECT_NE(problem->message.find("not UTF-8"), std::string::npos) << problem->message;
}

TEST(YamlTextTest, ControlCharactersButTabAndLineBreaksAreRefused) {
  EXPECT_FALSE(FindYamlTextProblem("a:\tb\r\nc: ü\n").has_value());
  auto problem = FindYamlTextProblem(std::string_view("a: b\0c", 6));
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->line, 1);
  EXPECT_EQ(problem->column, 5);
  EXPECT_NE(problem->message.find("control character 0"), std::string::npos);
}

TEST(YamlTextTest, TheEarlierOfTwoProblemsIsNamed) {
  auto problem = FindYamlTextProblem("\xFF\x01");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->column, 1);
  EXPECT_NE(problem->message.find("not UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace rapport

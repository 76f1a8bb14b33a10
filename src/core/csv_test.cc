#include "core/csv.h"

#include <gtest/gtest.h>

namespace rapport {
namespace {

std::vector<CsvRow> ReadAll(CsvReader& r) {
  std::vector<CsvRow> rows;
  CsvRow row;
  while (true) {
    auto more = r.Next(&row);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    rows.push_back(row);
  }
  return rows;
}

TEST(CsvReaderTest, GermanExcelSemicolonWindows1252IsDetectedAndConverted) {
  // "Müller;Straße" in Windows-1252: ü = 0xFC, ß = 0xDF; € = 0x80.
  std::string bytes =
      "id;nachname;strasse;betrag\r\n1;M\xFCller;Hauptstra\xDF"
      "e 5;3\x80\r\n";
  auto r = CsvReader::Open(bytes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->encoding(), "windows-1252");
  EXPECT_EQ(r->delimiter(), ';');
  EXPECT_EQ(r->notes().size(), 2u);
  auto rows = ReadAll(*r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields[1], "Müller");
  EXPECT_EQ(rows[0].fields[2], "Hauptstraße 5");
  EXPECT_EQ(rows[0].fields[3], "3€");
  EXPECT_EQ(r->Column("NACHNAME"), 1);
  EXPECT_EQ(r->Column("vorname"), -1);
}

TEST(CsvReaderTest, FebrlStyleSpacesAfterCommasAreTolerated) {
  auto r = CsvReader::Open("rec_id, given_name, surname\nrec-1-org, michaela, neumann\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header()[1], "given_name");
  auto rows = ReadAll(*r);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields[0], "rec-1-org");
  EXPECT_EQ(rows[0].fields[2], "neumann");
}

TEST(CsvReaderTest, QuotedFieldsKeepDelimitersNewlinesAndQuotes) {
  auto r = CsvReader::Open("\xEF\xBB\xBFid,note\n1,\"a, \"\"b\"\"\nc\"\n\n2, plain \n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->encoding(), "utf-8");
  auto rows = ReadAll(*r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields[1], "a, \"b\"\nc");
  EXPECT_EQ(rows[1].line, 5);
  EXPECT_EQ(rows[1].fields[1], "plain");
}

TEST(CsvReaderTest, RaggedRowsAreReturnedAsTheyAre) {
  auto r = CsvReader::Open("a,b,c\n1,2\n1,2,3,4\n");
  ASSERT_TRUE(r.ok());
  auto rows = ReadAll(*r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields.size(), 2u);
  EXPECT_EQ(rows[1].fields.size(), 4u);
}

TEST(CsvReaderTest, ErrorsNameTheLine) {
  EXPECT_EQ(CsvReader::Open("").status().where(), "line 1");
  EXPECT_EQ(CsvReader::Open(" \r\n ").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(CsvReader::Open("a,,b\n").ok());
  auto r = CsvReader::Open("a,b\n1,2\n3,\"open\n4,5\n");
  ASSERT_TRUE(r.ok());
  CsvRow row;
  ASSERT_TRUE(*r->Next(&row));
  auto bad = r->Next(&row);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "line 3");
}

TEST(CsvCellTest, QuotesWhatNeedsItAndDisarmsFormulas) {
  EXPECT_EQ(CsvCell("Müller"), "Müller");
  EXPECT_EQ(CsvCell(""), "");
  EXPECT_EQ(CsvCell("Müller, Johann"), "\"Müller, Johann\"");
  EXPECT_EQ(CsvCell("a;b"), "\"a;b\"");
  EXPECT_EQ(CsvCell("say \"hi\"\n"), "\"say \"\"hi\"\"\n\"");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(CsvCell("+49 30 1234"), "'+49 30 1234");
  EXPECT_EQ(CsvCell("-2+3"), "'-2+3");
  EXPECT_EQ(CsvCell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvCell("\tx"), "'\tx");
  EXPECT_EQ(CsvCell("a=b"), "a=b");
}

TEST(CsvCellTest, WhatItWritesReadsBackAsTheCell) {
  std::vector<std::string> cells = {"Straße 1, Hinterhaus", "\"quoted\"", "two\nlines", "x;y"};
  std::string line = "a,b,c,d\r\n";
  for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + CsvCell(cells[i]);
  auto reader = CsvReader::Open(line + "\r\n");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  CsvRow row;
  ASSERT_TRUE(*reader->Next(&row));
  EXPECT_EQ(row.fields, cells);
}

}  // namespace
}  // namespace rapport

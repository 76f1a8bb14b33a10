// CSV as people really produce it: UTF-8 or Windows-1252 (German Excel), ',' ';' or tab,
// RFC 4180 quoting, a UTF-8 BOM, CRLF, and FEBRL's ", " (spaces after the delimiter).
// The reader streams rows so a multi-gigabyte file needs no second copy of its rows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rapport {

struct CsvOptions {
  char delimiter = 0;       // 0: detect from the header line
  bool trim_spaces = true;  // strip spaces/tabs around unquoted fields
};

struct CsvRow {
  int line = 0;                     // 1-based line where the row starts
  std::vector<std::string> fields;  // as many as the row has (may differ from the header)
};

// One cell of a CSV that Rapport writes (RFC 4180, read back by CsvReader): quoted when it holds
// a delimiter (',' or ';'), a quote or a line break. A cell starting with '=', '+', '-', '@',
// tab or carriage return gets a leading apostrophe, so a spreadsheet shows it as text instead of
// running it as a formula (OWASP, "CSV Injection"). Every CSV writer goes through this.
std::string CsvCell(std::string_view value);

// Reads a whole file's bytes. Not thread-safe; cheap to move.
class CsvReader {
 public:
  // Converts Windows-1252 input to UTF-8 (noted in notes()) and reads the header.
  // Fails with kInvalidArgument for an empty input or a header without columns.
  static Result<CsvReader> Open(std::string bytes, CsvOptions options = {});

  const std::vector<std::string>& header() const { return header_; }
  char delimiter() const { return delimiter_; }
  // "utf-8" or "windows-1252".
  const std::string& encoding() const { return encoding_; }
  // Human-readable remarks about what was detected and converted.
  const std::vector<std::string>& notes() const { return notes_; }
  // Index of a header column, case-insensitive; -1 if absent.
  int Column(std::string_view name) const;

  // Reads the next row into *row. Returns false at the end. An unterminated quote is an
  // error naming the line where the field began. Blank lines are skipped.
  Result<bool> Next(CsvRow* row);

  size_t bytes_read() const { return pos_; }
  size_t bytes_total() const { return text_.size(); }

 private:
  CsvReader() = default;
  Result<bool> ReadRecord(CsvRow* row);

  std::string text_;
  size_t pos_ = 0;
  int line_ = 1;
  char delimiter_ = ',';
  bool trim_ = true;
  std::string encoding_;
  std::vector<std::string> header_;
  std::vector<std::string> notes_;
};

}  // namespace rapport

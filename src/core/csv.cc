#include "core/csv.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace rapport {

namespace {

char DetectDelimiter(std::string_view text) {
  size_t end = text.find('\n');
  std::string_view first = text.substr(0, end);
  size_t counts[3] = {0, 0, 0};
  static constexpr char kCandidates[3] = {',', ';', '\t'};
  bool quoted = false;
  for (char c : first) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    for (int k = 0; k < 3; ++k) counts[k] += c == kCandidates[k];
  }
  int best = 0;
  for (int k = 1; k < 3; ++k) {
    if (counts[k] > counts[best]) best = k;
  }
  return kCandidates[best];
}

void Trim(std::string* s) {
  size_t b = s->find_first_not_of(" \t");
  if (b == std::string::npos) {
    s->clear();
    return;
  }
  size_t e = s->find_last_not_of(" \t");
  *s = s->substr(b, e - b + 1);
}

}  // namespace

Result<CsvReader> CsvReader::Open(std::string bytes, CsvOptions options) {
  CsvReader r;
  r.trim_ = options.trim_spaces;
  if (bytes.size() >= 3 && bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) bytes.erase(0, 3);
  if (IsValidUtf8(bytes)) {
    r.encoding_ = "utf-8";
    r.text_ = std::move(bytes);
  } else {
    r.encoding_ = "windows-1252";
    r.text_ = Windows1252ToUtf8(bytes);
    r.notes_.push_back("input is not UTF-8; read as Windows-1252 (Latin-1) and converted");
  }
  if (r.text_.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("the file is empty: expected a header line with column names", "line 1");
  }
  r.delimiter_ = options.delimiter != 0 ? options.delimiter : DetectDelimiter(r.text_);
  if (options.delimiter == 0 && r.delimiter_ != ',') {
    r.notes_.push_back(std::string("delimiter detected: '") +
                       (r.delimiter_ == '\t' ? std::string("\\t") : std::string(1, r.delimiter_)) +
                       "'");
  }
  CsvRow header;
  ASSIGN_OR_RETURN(bool any, r.ReadRecord(&header));
  if (!any) return InvalidArgument("the file has no header line", "line 1");
  for (auto& h : header.fields) {
    Trim(&h);
    if (h.empty()) {
      return InvalidArgument("the header has an empty column name",
                             "line " + std::to_string(header.line));
    }
  }
  r.header_ = std::move(header.fields);
  return r;
}

int CsvReader::Column(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    const std::string& h = header_[i];
    if (h.size() == name.size() && std::equal(h.begin(), h.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Result<bool> CsvReader::Next(CsvRow* row) { return ReadRecord(row); }

Result<bool> CsvReader::ReadRecord(CsvRow* row) {
  row->fields.clear();
  const size_t n = text_.size();
  // Skip blank lines.
  while (pos_ < n && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  if (pos_ >= n) return false;
  row->line = line_;
  std::string field;
  bool was_quoted = false;
  while (true) {
    // Start of a field: tolerate spaces before an opening quote.
    size_t p = pos_;
    while (trim_ && p < n && (text_[p] == ' ' || text_[p] == '\t') && text_[p] != delimiter_) ++p;
    if (p < n && text_[p] == '"') {
      was_quoted = true;
      int start_line = line_;
      pos_ = p + 1;
      while (true) {
        if (pos_ >= n) {
          return InvalidArgument("unterminated quoted field", "line " + std::to_string(start_line));
        }
        char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < n && text_[pos_ + 1] == '"') {
            field.push_back('"');
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\n') ++line_;
        field.push_back(c);
        ++pos_;
      }
      // Anything between the closing quote and the delimiter is kept (lenient, like Excel).
      while (pos_ < n && text_[pos_] != delimiter_ && text_[pos_] != '\n' && text_[pos_] != '\r') {
        if (text_[pos_] != ' ' && text_[pos_] != '\t') field.push_back(text_[pos_]);
        ++pos_;
      }
    } else {
      while (pos_ < n && text_[pos_] != delimiter_ && text_[pos_] != '\n' && text_[pos_] != '\r') {
        field.push_back(text_[pos_]);
        ++pos_;
      }
    }
    if (trim_ && !was_quoted) Trim(&field);
    row->fields.push_back(std::move(field));
    field.clear();
    was_quoted = false;
    if (pos_ >= n) break;
    char c = text_[pos_];
    if (c == delimiter_) {
      ++pos_;
      continue;
    }
    // End of record: "\r\n", "\n" or a lone "\r".
    if (c == '\r') ++pos_;
    if (pos_ < n && text_[pos_] == '\n') ++pos_;
    ++line_;
    break;
  }
  return true;
}

std::string CsvCell(std::string_view value) {
  std::string text;
  if (!value.empty() &&
      std::string_view("=+-@\t\r").find(value.front()) != std::string_view::npos) {
    text = "'";
  }
  text += value;
  if (text.find_first_of(",;\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace rapport

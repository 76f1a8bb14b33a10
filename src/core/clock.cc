// Clocks and the textual forms of time used at every boundary (JSON, CSV, YAML).
#include "core/clock.h"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace rapport {

Time SystemClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

Status ManualClock::Advance(Duration step) {
  if (step.count() < 0) return InvalidArgument("the clock only moves forward", "advance");
  now_us_.fetch_add(step.count());
  return OkStatus();
}

Status ManualClock::AdvanceTo(Time to) {
  int64_t target = to.time_since_epoch().count();
  int64_t cur = now_us_.load();
  while (true) {
    if (target < cur) {
      return FailedPrecondition("the clock only moves forward: " + FormatTime(to) +
                                    " is before " + FormatTime(Time(Duration(cur))),
                                "to");
    }
    if (now_us_.compare_exchange_weak(cur, target)) return OkStatus();
  }
}

namespace {

bool ReadInt(std::string_view s, size_t pos, size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

Status BadTime(std::string_view text) {
  return InvalidArgument("not an RFC 3339 time: '" + std::string(text.substr(0, 64)) +
                         "' (expected e.g. 2026-11-23T10:00:00Z)");
}

}  // namespace

Result<Time> ParseTime(std::string_view text) {
  using namespace std::chrono;
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!ReadInt(text, 0, 4, &y) || text.size() < 10 || text[4] != '-' || !ReadInt(text, 5, 2, &mo) ||
      text[7] != '-' || !ReadInt(text, 8, 2, &d)) {
    return BadTime(text);
  }
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return BadTime(text);
  int64_t micros = 0;
  int offset_minutes = 0;
  size_t pos = 10;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return BadTime(text);
    if (!ReadInt(text, pos + 1, 2, &h) || text.size() < pos + 9 || text[pos + 3] != ':' ||
        !ReadInt(text, pos + 4, 2, &mi) || text[pos + 6] != ':' || !ReadInt(text, pos + 7, 2, &se)) {
      return BadTime(text);
    }
    if (h > 23 || mi > 59 || se > 60) return BadTime(text);
    pos += 9;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int digits = 0;
      int64_t frac = 0;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        if (digits < 6) {
          frac = frac * 10 + (text[pos] - '0');
          ++digits;
        }
        ++pos;
      }
      if (digits == 0) return BadTime(text);
      for (int i = digits; i < 6; ++i) frac *= 10;
      micros = frac;
    }
    if (pos >= text.size()) return BadTime(text);  // a time of day needs a zone
    if (text[pos] == 'Z' || text[pos] == 'z') {
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      int oh, om;
      if (!ReadInt(text, pos + 1, 2, &oh) || text.size() < pos + 6 || text[pos + 3] != ':' ||
          !ReadInt(text, pos + 4, 2, &om)) {
        return BadTime(text);
      }
      offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
      pos += 6;
    } else {
      return BadTime(text);
    }
    if (pos != text.size()) return BadTime(text);
  }
  auto t = sys_days(ymd) + hours(h) + minutes(mi) + seconds(se) + microseconds(micros) -
           minutes(offset_minutes);
  return time_point_cast<Duration>(t);
}

std::string FormatTime(Time t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd(days);
  hh_mm_ss<Duration> hms(t - days);
  int year = static_cast<int>(ymd.year());
  int64_t us = hms.subseconds().count();
  if (year < 0 || year > 9999) {  // outside RFC 3339; rare enough for the slow path
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%d-%02u-%02uT%02d:%02d:%02d", year,
                          static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                          static_cast<int>(hms.hours().count()),
                          static_cast<int>(hms.minutes().count()),
                          static_cast<int>(hms.seconds().count()));
    if (us != 0) std::snprintf(buf + n, sizeof buf - n, ".%06d", static_cast<int>(us));
    return std::string(buf) + "Z";
  }
  // Written digit by digit: timestamps are formatted for every stored event, timeline entry and
  // action, and snprintf was a visible share of the journey runtime's time.
  char buf[32];
  char* p = buf;
  auto put = [&p](int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
    p += width;
  };
  put(year, 4);
  *p++ = '-';
  put(static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  put(static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  put(hms.hours().count(), 2);
  *p++ = ':';
  put(hms.minutes().count(), 2);
  *p++ = ':';
  put(hms.seconds().count(), 2);
  if (us != 0) {
    *p++ = '.';
    if (us % 1000 == 0) {
      put(us / 1000, 3);
    } else {
      put(us, 6);
    }
  }
  *p++ = 'Z';
  return std::string(buf, p);
}

Result<Duration> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("not a duration: '" + std::string(text.substr(0, 64)) +
                           "' (expected e.g. 14d, 12h, 30m, 1d12h)");
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), n);
    if (ec != std::errc() || n < 0) return bad();
    pos = static_cast<size_t>(end - text.data());
    size_t unit_start = pos;
    while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    int64_t us_per;
    if (unit == "us") us_per = 1;
    else if (unit == "ms") us_per = 1000;
    else if (unit == "s") us_per = 1000000;
    else if (unit == "m" || unit == "min") us_per = 60LL * 1000000;
    else if (unit == "h") us_per = 3600LL * 1000000;
    else if (unit == "d") us_per = 86400LL * 1000000;
    else if (unit == "w") us_per = 7 * 86400LL * 1000000;
    else return bad();
    if (n > INT64_MAX / us_per || total > INT64_MAX - n * us_per) return bad();
    total += n * us_per;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  int64_t us = d.count();
  if (us == 0) return "0s";
  std::string out;
  if (us < 0) {
    out = "-";
    us = -us;
  }
  static constexpr std::pair<int64_t, const char*> kUnits[] = {
      {86400LL * 1000000, "d"}, {3600LL * 1000000, "h"}, {60LL * 1000000, "m"},
      {1000000, "s"},           {1000, "ms"}};
  for (auto [per, name] : kUnits) {
    if (us >= per) {
      out += std::to_string(us / per) + name;
      us %= per;
    }
  }
  if (us > 0) out += std::to_string(us) + "us";
  return out;
}

}  // namespace rapport

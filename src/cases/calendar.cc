// Business-time arithmetic by walking local days: each day contributes its working windows
// (none on weekends and holidays), converted to UTC edge by edge in the calendar's zone, so the
// result is exact to the microsecond also on the 23- and 25-hour days.
#include "cases/calendar.h"

#include <algorithm>
#include <charconv>

namespace rapport::cases {

namespace {
// Ten years without a single working minute means the calendar cannot reach a deadline.
constexpr int kMaxDays = 3660;

Result<int> ParseClockMinute(std::string_view s, std::string_view whole) {
  int h = 0, m = 0;
  size_t colon = s.find(':');
  auto bad = [&] {
    return InvalidArgument("expected working hours like \"08:00-18:00\", got \"" +
                           std::string(whole) + "\"");
  };
  if (colon == std::string_view::npos) return bad();
  auto [p1, e1] = std::from_chars(s.data(), s.data() + colon, h);
  auto [p2, e2] = std::from_chars(s.data() + colon + 1, s.data() + s.size(), m);
  if (e1 != std::errc() || e2 != std::errc() || p1 != s.data() + colon ||
      p2 != s.data() + s.size() || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0)) {
    return bad();
  }
  return h * 60 + m;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}
}  // namespace

Result<std::vector<WorkingHours>> ParseWorkingHours(std::string_view text) {
  std::vector<WorkingHours> out;
  text = Trim(text);
  if (text.empty() || text == "closed") return out;
  // Several windows: "08:00-12:00, 13:00-17:00".
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view part =
        Trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    size_t dash = part.find('-');
    if (dash == std::string_view::npos) {
      return InvalidArgument("expected working hours like \"08:00-18:00\", got \"" +
                             std::string(text) + "\"");
    }
    ASSIGN_OR_RETURN(int open, ParseClockMinute(Trim(part.substr(0, dash)), text));
    ASSIGN_OR_RETURN(int close, ParseClockMinute(Trim(part.substr(dash + 1)), text));
    if (close <= open) {
      return InvalidArgument("working hours must close after they open: \"" + std::string(text) +
                             "\"");
    }
    out.push_back({open, close});
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end(), [](const WorkingHours& a, const WorkingHours& b) {
    return a.open_minute < b.open_minute;
  });
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].open_minute < out[i - 1].close_minute) {
      return InvalidArgument("working hours overlap: \"" + std::string(text) + "\"");
    }
  }
  return out;
}

BusinessCalendar BusinessCalendar::AlwaysOpen() {
  BusinessCalendar c;
  c.always_open_ = true;
  return c;
}

Result<BusinessCalendar> BusinessCalendar::Create(std::array<std::vector<WorkingHours>, 7> hours,
                                                  std::vector<std::chrono::sys_days> holidays,
                                                  timezone::Zone zone) {
  bool any = false;
  for (const auto& day : hours) any = any || !day.empty();
  if (!any) return InvalidArgument("the calendar has no working hours on any weekday");
  BusinessCalendar c;
  c.hours_ = std::move(hours);
  for (auto d : holidays) c.holidays_.push_back(d.time_since_epoch().count());
  std::sort(c.holidays_.begin(), c.holidays_.end());
  c.holidays_.erase(std::unique(c.holidays_.begin(), c.holidays_.end()), c.holidays_.end());
  c.zone_ = std::move(zone);
  return c;
}

std::vector<std::pair<Time, Time>> BusinessCalendar::Windows(
    std::chrono::sys_days local_day) const {
  std::vector<std::pair<Time, Time>> out;
  if (std::binary_search(holidays_.begin(), holidays_.end(),
                         local_day.time_since_epoch().count())) {
    return out;
  }
  unsigned wd = std::chrono::weekday(local_day).c_encoding();
  // Each edge is converted on its own: on a 23- or 25-hour day, 18:00 is not midnight + 18 h.
  for (const auto& w : hours_[wd]) {
    out.emplace_back(zone_.ToUtc(local_day, std::chrono::minutes(w.open_minute)),
                     zone_.ToUtc(local_day, std::chrono::minutes(w.close_minute)));
  }
  return out;
}

Time BusinessCalendar::Add(Time start, Duration amount) const {
  if (always_open_) return start + amount;
  auto day = zone_.LocalDay(start);
  Duration left = amount;
  Time cur = start;
  for (int i = 0; i < kMaxDays; ++i, day += std::chrono::days(1)) {
    for (const auto& [open, close] : Windows(day)) {
      if (close <= cur) continue;
      Time from = std::max(cur, open);
      if (left <= close - from) return from + left;
      left -= close - from;
      cur = close;
    }
  }
  return cur + left;  // unreachable for a calendar with working hours (Create checks)
}

Duration BusinessCalendar::Between(Time from, Time to) const {
  if (to <= from) return Duration(0);
  if (always_open_) return to - from;
  Duration sum{0};
  auto day = zone_.LocalDay(from);
  auto last = zone_.LocalDay(to);
  for (; day <= last; day += std::chrono::days(1)) {
    for (const auto& [open, close] : Windows(day)) {
      Time a = std::max(open, from), b = std::min(close, to);
      if (b > a) sum += b - a;
    }
  }
  return sum;
}

bool BusinessCalendar::IsWorkingTime(Time t) const {
  if (always_open_) return true;
  for (const auto& [open, close] : Windows(zone_.LocalDay(t))) {
    if (open <= t && t < close) return true;
  }
  return false;
}

}  // namespace rapport::cases

// Calendar days and business-day rules on the time grid: which real days a grid point stands
// for, and the conditions under which the grid stays exact for them.
#include "journey/verify/internal/checker.h"

namespace rapport::journey::check_internal {

const std::vector<Duration>& Checker::BusinessDelays(Time x, int days) {
  auto key = std::make_pair(ToMicros(x), days);
  auto found = business_delays_.find(key);
  if (found != business_delays_.end()) return found->second;
  // Samples every 15 minutes across (x - grid, x + grid) and both ends: the count changes only
  // where a (local) calendar day or a daylight-saving offset changes, never twice in 15 min.
  std::vector<Duration> delays;
  Duration step = std::min<Duration>(std::chrono::minutes(15), grid_);
  auto add = [&](Time t) {
    Duration d = def_.calendar().AddBusinessDays(t, days) - t;
    if (std::find(delays.begin(), delays.end(), d) == delays.end()) delays.push_back(d);
  };
  add(x);
  add(x - grid_ + Duration(1));
  add(x + grid_ - Duration(1));
  for (Time t = x - grid_ + step; t < x + grid_; t += step) add(t);
  std::sort(delays.begin(), delays.end());
  return business_delays_.emplace(key, std::move(delays)).first->second;
}

void Checker::FindCalendarRules() {
  calendar_days_.assign(m_.events.size(), {});
  auto add = [&](size_t entry, int days) {
    if (m_.events[entry].fact == def_.start_fact()) return;  // at `start`, exactly
    std::vector<int>& v = calendar_days_[entry];
    if (std::find(v.begin(), v.end(), days) == v.end()) v.push_back(days);
  };
  auto anchored = [&](FactId f, int days) {  // every event that may decide when f holds
    for (const auto& condition : def_.Conditions(f)) {
      for (FactId e : condition) {
        if (entry_of_fact_[e] >= 0) add(static_cast<size_t>(entry_of_fact_[e]), days);
      }
    }
  };
  for (ActionId id = 0; id < def_.actions().size(); ++id) {
    const ActionSpec& a = def_.actions()[id];
    if (a.after && a.after->business_days >= 0) anchored(a.after->fact, a.after->business_days);
    for (const ParamSpec& p : a.params) {
      if (!p.date || p.date->business_days < 0) continue;
      anchored(p.date->fact, p.date->business_days);
      FactId asks = m_.asks[id];
      if (asks == kNoFact) continue;
      for (const auto& condition : def_.Conditions(asks)) {  // what enables the customer
        for (FactId ev : condition) {
          int entry = entry_of_fact_[ev];
          if (entry < 0) continue;
          const EventModel& em = m_.events[static_cast<size_t>(entry)];
          for (FactId by : em.enabled_by.empty() ? em.after_events : em.enabled_by) {
            if (entry_of_fact_[by] >= 0) {
              add(static_cast<size_t>(entry_of_fact_[by]), p.date->business_days);
            }
          }
        }
      }
    }
  }
}

const std::vector<Duration>& Checker::CalendarShifts(int entry, Time m) {
  auto key = std::make_pair(ToMicros(m), entry);
  auto found = calendar_shifts_.find(key);
  if (found != calendar_shifts_.end()) return found->second;
  const BusinessCalendar& cal = def_.calendar();
  const timezone::Zone& zone = cal.zone();
  auto delays = [&](Time x) {
    std::vector<Duration> d;
    for (int days : calendar_days_[static_cast<size_t>(entry)]) {
      d.push_back(cal.AddBusinessDays(x, days) - x);
    }
    return d;
  };
  std::vector<Duration> own = delays(m);
  std::vector<Duration> shifts;
  Time lo = m - grid_ + Duration(1), hi = m + grid_ - Duration(1);
  auto day_m = zone.LocalDay(m);
  for (auto d = zone.LocalDay(lo); d < day_m; d += std::chrono::days(1)) {
    Time last = zone.ToUtc(d + std::chrono::days(1), Duration(0)) - Duration(1);
    if (last >= lo && last < m && zone.LocalDay(last) == d && delays(last) != own) {
      shifts.push_back(last - m);
    }
  }
  for (auto d = day_m + std::chrono::days(1); d <= zone.LocalDay(hi); d += std::chrono::days(1)) {
    Time first = zone.ToUtc(d, Duration(0));
    if (first > m && first <= hi && zone.LocalDay(first) == d && delays(first) != own) {
      shifts.push_back(first - m);
    }
  }
  return calendar_shifts_.emplace(key, std::move(shifts)).first->second;
}

void Checker::CheckBusinessRule(Time x, int days, const std::string& what) {
  if (!business_checked_.insert({ToMicros(x), days}).second) return;
  Duration d = def_.calendar().AddBusinessDays(x, days) - x;
  if (d.count() % grid_.count() != 0) {
    NotExact(what + " (" + std::to_string(days) + " business days from " + FormatTime(x) +
             ") adds " + FormatDuration(d) + ", not a multiple of the grid " +
             FormatDuration(grid_));
  }
}

// The business-day rules of the definition that the state machine evaluated: the due times of
// pending timers anchored that way (date params are checked where they are judged).
void Checker::CheckCalendarRules(const Node& n) {
  for (const PendingTimer& t : n.st.timers) {
    const ActionSpec& a = def_.actions()[t.action];
    if (!a.after || a.after->business_days < 0) continue;
    const HeldFact* anchor = n.st.Fact(a.after->fact);
    if (anchor) CheckBusinessRule(anchor->at, a.after->business_days, "the timer of " + a.name);
  }
}

}  // namespace rapport::journey::check_internal

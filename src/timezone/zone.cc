// Offsets come from ICU's BasicTimeZone (the tz database compiled into libicudata), so the
// result does not depend on the host's /etc/localtime or TZ variable.
#include "timezone/zone.h"

#include <unicode/basictz.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <charconv>
#include <cstdio>
#include <optional>

namespace rapport::timezone {

struct Zone::Impl {
  std::unique_ptr<icu::BasicTimeZone> tz;
};

namespace {

using Millis = std::chrono::milliseconds;

UDate ToUDate(Time t) {
  return static_cast<UDate>(std::chrono::duration_cast<Millis>(t.time_since_epoch()).count());
}

// "+01:00" / "-05:30" → offset; nullopt if the text is not of that form.
std::optional<Duration> ParseOffset(std::string_view text) {
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') return {};
  int h = 0, m = 0;
  auto [p1, e1] = std::from_chars(text.data() + 1, text.data() + 3, h);
  auto [p2, e2] = std::from_chars(text.data() + 4, text.data() + 6, m);
  if (e1 != std::errc() || e2 != std::errc() || p1 != text.data() + 3 || p2 != text.data() + 6 ||
      h > 14 || m > 59 || (h == 14 && m != 0)) {
    return {};
  }
  std::chrono::minutes minutes(h * 60 + m);
  return std::chrono::duration_cast<Duration>(text[0] == '-' ? -minutes : minutes);
}

}  // namespace

Zone::Zone() = default;

Zone Zone::FixedOffset(Duration offset) {
  Zone z;
  z.fixed_offset_ = offset;
  auto minutes = std::chrono::duration_cast<std::chrono::minutes>(offset).count();
  if (minutes == 0) return z;
  char buf[32];
  long a = minutes < 0 ? -minutes : minutes;
  std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", minutes < 0 ? '-' : '+', a / 60, a % 60);
  z.name_ = buf;
  return z;
}

Result<Zone> Zone::Parse(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text == "Z" || text == "UTC") return Zone();
  if (text[0] == '+' || text[0] == '-') {
    auto offset = ParseOffset(text);
    if (!offset) {
      return InvalidArgument("expected a UTC offset like \"+01:00\", got \"" + std::string(text) +
                             "\"");
    }
    return FixedOffset(*offset);
  }
  // createTimeZone never fails; an unknown id comes back as the "Etc/Unknown" zone.
  std::unique_ptr<icu::TimeZone> tz(icu::TimeZone::createTimeZone(
      icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), int32_t(text.size())))));
  if (!tz || *tz == icu::TimeZone::getUnknown()) {
    return InvalidArgument("unknown time zone \"" + std::string(text) +
                           "\" (use an IANA id such as \"Europe/Berlin\" or an offset such as "
                           "\"+01:00\")");
  }
  auto* basic = dynamic_cast<icu::BasicTimeZone*>(tz.get());
  if (basic == nullptr) {
    return Internal("time zone \"" + std::string(text) + "\" has no transition rules in ICU");
  }
  tz.release();
  auto impl = std::make_shared<Impl>();
  impl->tz.reset(basic);
  Zone z;
  z.impl_ = std::move(impl);
  z.name_ = std::string(text);
  return z;
}

Duration Zone::OffsetAt(Time utc) const {
  if (!impl_) return fixed_offset_;
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  impl_->tz->getOffset(ToUDate(utc), /*local=*/false, raw, dst, status);
  if (U_FAILURE(status)) return Duration(0);  // only for dates far outside ICU's range
  return std::chrono::duration_cast<Duration>(Millis(int64_t(raw) + dst));
}

std::chrono::sys_days Zone::LocalDay(Time utc) const {
  return std::chrono::floor<std::chrono::days>(utc + OffsetAt(utc));
}

Duration Zone::LocalTimeOfDay(Time utc) const {
  Time local = utc + OffsetAt(utc);
  return local - std::chrono::floor<std::chrono::days>(local);
}

Time Zone::ToUtc(std::chrono::sys_days day, Duration time_of_day) const {
  Time local = Time(day) + time_of_day;
  if (!impl_) return local - fixed_offset_;
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  // FORMER for both: a skipped wall time is read with the offset before the jump (so it lands
  // after it), a repeated one with the offset before the repeat (its first occurrence).
  impl_->tz->getOffsetFromLocal(ToUDate(local), UCAL_TZ_LOCAL_FORMER, UCAL_TZ_LOCAL_FORMER, raw,
                                dst, status);
  if (U_FAILURE(status)) return local;
  return local - std::chrono::duration_cast<Duration>(Millis(int64_t(raw) + dst));
}

}  // namespace rapport::timezone

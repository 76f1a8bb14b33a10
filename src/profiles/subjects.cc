// Subjects to persons: the one place that knows every form a customer is named in (the
// README's table "Subjects"), over the in-memory maps that resolution keeps current anyway.
#include <algorithm>
#include <cctype>

#include "identity/normalize.h"
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::SourceKey;

namespace {

// Digits with the punctuation people write phone numbers with, and enough digits to be one:
// "C-1001" or "2026" must not reach libphonenumber as a phone number.
bool LooksLikePhone(std::string_view s) {
  size_t digits = 0;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else if (std::string_view("+ -/().").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return digits >= 6;
}

}  // namespace

std::vector<std::string> ProfileService::Impl::ContactKeys(std::string_view subject) {
  if (subject.find('@') != std::string_view::npos) {
    // The canonical form drops a plus-tag, so a recipient's alias names its person too.
    if (auto e = identity::NormalizeEmail(subject)) return {"e:" + e->canonical};
    return {};
  }
  if (LooksLikePhone(subject)) {
    if (auto n = identity::NormalizePhone(subject)) return {"n:" + *n};
  }
  return {};
}

Result<ResolvedSubject> ProfileService::Impl::ResolveSubject(std::string_view subject) const {
  const std::string s(subject);
  if (s.empty()) return InvalidArgument("the subject is empty", "subject");
  if (persons.count(s)) return ResolvedSubject{s, "person", ""};
  if (redirects.count(s)) {
    std::string survivor = ResolveId(s);
    if (persons.count(survivor)) return ResolvedSubject{survivor, "merged", ""};
  }
  if (auto it = record_person.find(s); it != record_person.end()) {
    return ResolvedSubject{it->second, "record", s};
  }
  // Several persons behind one name is no answer: the caller keeps the subject as it came.
  auto one_of = [&s](const std::set<std::string>& found, const char* what) -> Status {
    return NotFound("'" + s + "' is " + what + " of " + std::to_string(found.size()) +
                    " persons (" + *found.begin() + ", " + *found.rbegin() + ")");
  };
  if (size_t colon = s.find(':'); colon != std::string::npos) {
    std::string source = s.substr(0, colon);
    if (sources.count(source)) {
      if (auto it = source_person.find(SourceKey(source, s.substr(colon + 1)));
          it != source_person.end()) {
        return ResolvedSubject{it->second, "source_key", ""};
      }
    }
  }
  std::set<std::string> by_key;
  for (const auto& source : sources) {
    if (auto it = source_person.find(SourceKey(source, s)); it != source_person.end()) {
      by_key.insert(it->second);
    }
  }
  if (by_key.size() == 1) return ResolvedSubject{*by_key.begin(), "bare_key", ""};
  if (by_key.size() > 1) return one_of(by_key, "a source key");
  for (const auto& key : ContactKeys(s)) {
    auto it = postings.find(key);
    if (it == postings.end()) continue;
    std::set<std::string> found;
    for (uint32_t n : it->second) {
      if (auto p = record_person.find(posted[n]); p != record_person.end()) {
        found.insert(p->second);
      }
    }
    const char* by = key[0] == 'e' ? "email" : "phone";
    if (found.size() == 1) return ResolvedSubject{*found.begin(), by, ""};
    if (found.size() > 1)
      return one_of(found, key[0] == 'e' ? "an e-mail address" : "a phone number");
  }
  return NotFound("no person is named '" + s + "'");
}

Result<ResolvedSubject> ProfileService::ResolveSubject(std::string_view subject) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  return impl_->ResolveSubject(subject);
}

Result<std::vector<std::string>> ProfileService::SubjectsOf(std::string_view person) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  ASSIGN_OR_RETURN(internal::Person p, impl_->Decide([&]() -> Result<internal::Person> {
    ASSIGN_OR_RETURN(ResolvedSubject resolved, impl_->ResolveSubject(person));
    // The records' raw values: the forms a subject may name an e-mail address or phone by.
    return impl_->Hydrated(impl_->persons.at(resolved.person));
  }));
  std::vector<std::string> out = {p.id};
  for (auto& merged : impl_->MergedInto(p.id)) out.push_back(std::move(merged));
  auto if_only_hers = [&](const std::string& form) {
    if (form.empty() || std::find(out.begin(), out.end(), form) != out.end()) return;
    auto named = impl_->ResolveSubject(form);
    if (named.ok() && named->person == p.id) out.push_back(form);
  };
  for (const auto& m : p.records) {
    out.push_back(m.id);
    out.push_back(m.source + ":" + m.source_key);
    if_only_hers(m.source_key);
    for (const auto& [name, value] : m.raw) {
      if (Impl::ContactKeys(value).empty()) continue;
      if_only_hers(value);
      if (value.find('@') != std::string::npos) {
        std::string lower = value;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if_only_hers(lower);
      }
    }
  }
  return out;
}

Result<ContactPoint> ProfileService::ContactPointFor(std::string_view subject,
                                                     std::string_view channel) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  ASSIGN_OR_RETURN(ResolvedSubject resolved, impl_->ResolveSubject(subject));
  const internal::Person& p = impl_->persons.at(resolved.person);
  const auto golden = impl_->Golden(p);
  ContactPoint out{resolved.person, std::string(channel), internal::DisplayName(golden), "", ""};
  auto golden_value = [&](const char* field) {
    auto it = golden.find(field);
    if (it == golden.end() || it->second.value.empty()) return false;
    out.address = it->second.value;
    out.record = it->second.record;
    return true;
  };
  if (channel == "email") {
    if (!golden_value("email")) return NotFound("person " + p.id + " has no e-mail address");
  } else if (channel == "sms" || channel == "phone") {
    if (!golden_value("phone")) return NotFound("person " + p.id + " has no phone number");
  } else if (channel == "letter" || channel == "post" || channel == "postal") {
    // The household's address rule: the most recent record with a usable address.
    const internal::Member* m = impl_->AddressRecord(p);
    if (!m) return NotFound("person " + p.id + " has no postal address");
    auto field = [&](const char* f) {
      const auto* v = FindField(m->canon, f);
      return v ? *v : std::string();
    };
    std::string street =
        field("street") + (field("house_number").empty() ? "" : " ") + field("house_number");
    if (!field("address_extra").empty()) street += " " + field("address_extra");
    out.address =
        street + ", " + field("postcode") + (field("postcode").empty() ? "" : " ") + field("city");
    out.record = m->id;
  } else {
    return InvalidArgument("no contact point for channel '" + std::string(channel) + "'",
                           "channel");
  }
  return out;
}

Result<std::vector<UnresolvedSubject>> ProfileService::UnresolvedSubjects(size_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  RETURN_IF_ERROR(impl_->CatchUpEvents());
  std::vector<UnresolvedSubject> out;
  for (const auto& [subject, seen] : impl_->event_subjects) {
    auto resolved = impl_->ResolveSubject(subject);
    if (resolved.ok()) continue;
    if (resolved.status().code() != StatusCode::kNotFound) return resolved.status();
    out.push_back(
        {subject, resolved.status().message(), seen.events, seen.first_event, seen.last_event});
  }
  std::sort(out.begin(), out.end(), [](const UnresolvedSubject& a, const UnresolvedSubject& b) {
    return a.events != b.events ? a.events > b.events : a.subject < b.subject;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace rapport::profiles

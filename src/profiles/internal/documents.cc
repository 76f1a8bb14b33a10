// The stored form of persons and reviews, written and read side by side so that a key added
// to one direction is added to the other; and the ids of pair labels and change documents.
#include "profiles/internal/documents.h"

#include <algorithm>

namespace rapport::profiles::internal {

std::string PairKey(const std::string& a, const std::string& b) {
  return a < b ? a + "~" + b : b + "~" + a;
}

std::string SourceKey(const std::string& source, const std::string& key) {
  return source + '\x1f' + key;
}

std::string ChangeId(int64_t n) {
  std::string digits = std::to_string(n);
  return std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits;
}

std::string PersonToJsonText(const Person& p) {
  std::string out;
  out.reserve(128 + 768 * p.records.size());
  auto key = [&out](std::string_view k, std::string_view v) {
    out += k;
    AppendJsonString(out, v);
  };
  key("{\"created_at\":", FormatTime(p.created_at));
  key(",\"household\":", p.household);
  key(",\"id\":", p.id);
  out += ",\"records\":[";
  for (size_t i = 0; i < p.records.size(); ++i) {
    const Member& m = p.records[i];
    out += i ? ",{\"fields\":[" : "{\"fields\":[";
    for (size_t f = 0; f < m.raw.size(); ++f) {
      out += f ? ",[" : "[";
      AppendJsonString(out, m.raw[f].first);
      out += ',';
      AppendJsonString(out, m.raw[f].second);
      out += ']';
    }
    key("],\"id\":", m.id);
    out += ",\"link\":";
    out += m.link.empty() ? "{}" : m.link;  // Json text already (a dump)
    key(",\"received_at\":", FormatTime(m.received_at));
    key(",\"source\":", m.source);
    key(",\"source_key\":", m.source_key);
    out += '}';
  }
  key("],\"updated_at\":", FormatTime(p.updated_at));
  out += '}';
  return out;
}

void MakeCold(Person& p) {
  for (Member& m : p.records) {
    // Swapped with empty ones, so that their buffers are freed (a string assigned an empty one
    // keeps its capacity).
    Fields().swap(m.raw);
    std::string().swap(m.link);
    m.cold = true;
  }
}

Result<Person> PersonFromJson(const Json& j, int64_t revision, bool canonical) {
  try {
    Person p;
    p.id = j.at("id").get<std::string>();
    ASSIGN_OR_RETURN(p.created_at, ParseTime(j.at("created_at").get<std::string>()));
    ASSIGN_OR_RETURN(p.updated_at, ParseTime(j.at("updated_at").get<std::string>()));
    p.household = j.value("household", "");
    p.revision = revision;
    for (const auto& r : j.at("records")) {
      Member m;
      m.id = r.at("id").get<std::string>();
      m.source = r.at("source").get<std::string>();
      m.source_key = r.at("source_key").get<std::string>();
      ASSIGN_OR_RETURN(m.received_at, ParseTime(r.at("received_at").get<std::string>()));
      for (const auto& f : r.at("fields")) {
        m.raw.emplace_back(f.at(0).get<std::string>(), f.at(1).get<std::string>());
      }
      if (canonical) m.canon = CanonicalizeFields(m.raw);
      m.link = r.value("link", Json::object()).dump();
      p.records.push_back(std::move(m));
    }
    return p;
  } catch (const Json::exception& e) {
    return DataLoss(std::string("stored person is damaged: ") + e.what());
  }
}

Json ReviewToJson(const Review& r) {
  Json j = {{"id", r.id},
            {"record", r.a},
            {"candidate", r.b},
            {"probability", r.probability},
            {"explanation", r.explanation},
            {"status", r.status},
            {"created_at", r.created_at}};
  if (!r.decided_by.empty()) {
    j["decided_by"] = r.decided_by;
    j["decided_at"] = r.decided_at;
  }
  return j;
}

Review ReviewFromJson(const Json& j, int64_t revision) {
  Review r;
  r.id = j.value("id", "");
  r.a = j.value("record", "");
  r.b = j.value("candidate", "");
  r.probability = j.value("probability", 0.0);
  r.explanation = j.value("explanation", Json::object());
  r.status = j.value("status", "open");
  r.created_at = j.value("created_at", "");
  r.decided_by = j.value("decided_by", "");
  r.decided_at = j.value("decided_at", "");
  r.revision = revision;
  return r;
}

}  // namespace rapport::profiles::internal

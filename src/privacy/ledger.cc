// The privacy ledger: provenance from the source registry, consents, the disclosure register
// with its policy check, aliases and leak findings, access report, erasure and retention.
#include "privacy/ledger.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "identity/normalize.h"
#include "privacy/mail_address.h"

namespace rapport::privacy {

namespace {

constexpr char kSource[] = "privacy-source";
constexpr char kRecipient[] = "privacy-recipient";
constexpr char kConsent[] = "privacy-consent";
constexpr char kDisclosure[] = "privacy-disclosure";
constexpr char kAlias[] = "privacy-alias";
constexpr char kPersonAlias[] = "privacy-person-alias";
constexpr char kLeak[] = "privacy-leak";
constexpr char kRetention[] = "privacy-retention";
constexpr char kErasure[] = "privacy-erasure";
constexpr char kCursor[] = "privacy-cursor";
constexpr char kInboundMail[] = "mail.inbound";
constexpr char kRetentionLastRun[] = "privacy.retention.last_run";

const char* const kLegalBases[] = {"consent",         "contract",    "legal_obligation",
                                   "vital_interests", "public_task", "legitimate_interests"};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A list of non-empty strings at `key`; absent gives an empty list.
Result<std::vector<std::string>> StringList(const Json& body, const std::string& key,
                                            bool required) {
  std::vector<std::string> out;
  if (!body.contains(key)) {
    if (required) return InvalidArgument("missing list of strings", key);
    return out;
  }
  const Json& v = body[key];
  if (!v.is_array()) return InvalidArgument("must be a list of strings", key);
  for (const auto& item : v) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return InvalidArgument("must be a list of non-empty strings", key);
    }
    out.push_back(item.get<std::string>());
  }
  if (required && out.empty()) return InvalidArgument("must name at least one", key);
  return out;
}

bool Contains(const Json& list, const std::string& value) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(),
                     [&](const Json& v) { return v.is_string() && v.get<std::string>() == value; });
}

// All documents of a kind whose id starts with `prefix`.
Result<std::vector<store::Document>> AllDocuments(store::Store& store, std::string_view kind,
                                                  std::string_view prefix) {
  std::vector<store::Document> out;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto page, store.ListDocuments(kind, prefix, after, 500));
    if (page.empty()) return out;
    after = page.back().id;
    for (auto& d : page) out.push_back(std::move(d));
  }
}

// The documents of a kind kept under any of a person's ids ("<id>~…"), in id order of each.
Result<std::vector<store::Document>> PersonDocuments(store::Store& store, std::string_view kind,
                                                     const std::vector<std::string>& ids) {
  std::vector<store::Document> out;
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(auto docs, AllDocuments(store, kind, id + "~"));
    for (auto& d : docs) out.push_back(std::move(d));
  }
  return out;
}

// Documents' bodies, parsed, as a JSON array.
Result<Json> BodiesOf(const std::vector<store::Document>& docs) {
  Json out = Json::array();
  for (const auto& d : docs) {
    ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
    out.push_back(std::move(j));
  }
  return out;
}

// The bodies of the documents of a kind kept under any of a person's ids, as a JSON array.
Result<Json> PersonBodies(store::Store& store, std::string_view kind,
                          const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(auto docs, PersonDocuments(store, kind, ids));
  return BodiesOf(docs);
}

// The document "<id>~<suffix>" under the first of a person's ids that has one: a consent or an
// alias may have been given for an id merged into the person since.
Result<std::optional<store::Document>> UnderAnyId(store::Store& store, std::string_view kind,
                                                  const std::vector<std::string>& ids,
                                                  const std::string& suffix) {
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(auto doc, store.GetDocument(kind, id + "~" + suffix));
    if (doc) return doc;
  }
  return std::optional<store::Document>();
}

// The bodies of all documents of a kind whose id starts with `prefix`, as a JSON array.
Result<Json> AllBodies(store::Store& store, std::string_view kind, std::string_view prefix) {
  ASSIGN_OR_RETURN(auto docs, AllDocuments(store, kind, prefix));
  return BodiesOf(docs);
}

std::string HostOf(const std::string& url) {
  std::string rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  return Lower(rest.substr(0, rest.find(':')));
}

// The golden field names that are contact points to replace by an alias.
bool IsEmailField(const std::string& canonical) { return canonical == "email"; }

// Values of a person's records that identify them anywhere in the store: e-mail addresses
// (as given, lower-case, canonical) and phone numbers as given.
std::set<std::string> IdentifyingValues(const Json& view) {
  std::set<std::string> out;
  for (const auto& r : view.value("records", Json::array())) {
    // items() refers to its object: keep the object alive for the whole loop.
    const Json fields = r.value("fields", Json::object());
    for (const auto& [name, value] : fields.items()) {
      if (!value.is_string()) continue;
      std::string v = value.get<std::string>();
      std::string canonical = profiles::CanonicalFieldName(name);
      if (v.find('@') != std::string::npos && v.size() >= 6) {
        out.insert(v);
        out.insert(Lower(v));
        if (auto e = identity::NormalizeEmail(v)) out.insert(e->canonical);
      } else if (canonical == "phone" && v.size() >= 6) {
        out.insert(v);
        if (auto n = identity::NormalizePhone(v)) out.insert(*n);
      }
    }
  }
  return out;
}

// An address without its sub-address, lower-case: "Anna+x@Example.org" and the aliases made
// from it ("anna+3f9c0e12ab@example.org") have the base "anna@example.org".
std::string EmailBase(const std::string& address) {
  size_t at = address.find('@');
  if (at == std::string::npos) return "";
  std::string local = address.substr(0, at);
  return Lower(local.substr(0, local.find('+')) + address.substr(at));
}

Fields FieldsOf(const Json& record_view) {
  Fields fields;
  const Json given = record_view.value("fields", Json::object());
  for (const auto& [name, value] : given.items()) {
    fields.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return fields;
}

}  // namespace

bool IsLegalBasis(std::string_view name) {
  return std::any_of(std::begin(kLegalBases), std::end(kLegalBases),
                     [&](const char* b) { return name == b; });
}

auth::Principal LocalActor(std::string_view name) {
  auth::Principal p;
  p.token_id = std::string(name);
  p.role = auth::Role::kAdmin;
  p.name = std::string(name);
  return p;
}

namespace {
AuditEntry Entry(const auth::Principal& by, std::string action, std::string subject, Json detail) {
  if (by.token_id == "system") {
    return AuditEntry{"system",          "system",           "",
                      std::move(action), std::move(subject), std::move(detail)};
  }
  return AuditLog::By(by, std::move(action), std::move(subject), std::move(detail));
}
}  // namespace

Ledger::Ledger(store::Store& store, const Clock& clock, IdSource& ids, AuditLog& audit,
               profiles::ProfileService& profiles)
    : store_(store), clock_(clock), ids_(ids), audit_(audit), profiles_(profiles) {}

// --- Registries -------------------------------------------------------------------------------

Result<Json> Ledger::PutSource(const std::string& name, const Json& body,
                               const auth::Principal& by) {
  if (name.empty()) return InvalidArgument("a source needs a name", "name");
  if (!body.is_object()) return InvalidArgument("expected a JSON object", "body");
  ASSIGN_OR_RETURN(auto purposes, StringList(body, "purposes", true));
  ASSIGN_OR_RETURN(std::string basis, RequiredString(body, "legal_basis"));
  if (!IsLegalBasis(basis)) {
    return InvalidArgument("unknown legal basis '" + basis +
                               "' (consent, contract, legal_obligation, vital_interests, "
                               "public_task, legitimate_interests)",
                           "legal_basis");
  }
  Json version = {{"from", FormatTime(clock_.Now())},
                  {"registered", true},
                  {"purposes", purposes},
                  {"legal_basis", basis}};
  for (const char* key : {"system", "channel", "organisation", "consent_ref"}) {
    ASSIGN_OR_RETURN(auto v, OptionalString(body, key));
    version[key] = v.value_or(key == std::string("system") ? name : "");
  }
  if (basis == "consent" && version["consent_ref"] == "") {
    return InvalidArgument("a source collecting on consent names the consent text", "consent_ref");
  }
  std::lock_guard<std::mutex> lock(sources_mu_);
  ASSIGN_OR_RETURN(auto existing, store_.GetDocument(kSource, name));
  Json doc = {{"name", name}, {"versions", Json::array()}};
  int64_t revision = 0;
  if (existing) {
    ASSIGN_OR_RETURN(doc, ParseJson(existing->body));
    revision = existing->revision;
  }
  doc["versions"].push_back(version);
  store::WriteBatch batch;
  batch.puts.push_back({{kSource, name, doc.dump(), 0}, revision});
  RETURN_IF_ERROR(audit_.Append(
      {Entry(by, "source.registered", name, {{"purposes", purposes}, {"legal_basis", basis}})},
      std::move(batch)));
  sources_.erase(name);
  return doc;
}

Result<Json> Ledger::ListSources() {
  ASSIGN_OR_RETURN(Json out, AllBodies(store_, kSource, ""));
  return Json{{"sources", out}};
}

Result<Json> Ledger::PutRecipient(const std::string& name, const Json& body,
                                  const auth::Principal& by) {
  if (name.empty()) return InvalidArgument("a recipient needs a name", "name");
  if (!body.is_object()) return InvalidArgument("expected a JSON object", "body");
  Json doc = {{"name", name}};
  ASSIGN_OR_RETURN(auto org, OptionalString(body, "organisation"));
  doc["organisation"] = org.value_or(name);
  ASSIGN_OR_RETURN(auto basis, OptionalString(body, "legal_basis"));
  ASSIGN_OR_RETURN(auto purposes, StringList(body, "purposes", false));
  if (basis) {
    if (!IsLegalBasis(*basis)) {
      return InvalidArgument("unknown legal basis '" + *basis + "'", "legal_basis");
    }
    if (*basis == "consent") {
      return InvalidArgument(
          "consent is given by each person (POST /v1/persons/{id}/consents), not registered "
          "for a recipient",
          "legal_basis");
    }
    if (purposes.empty()) {
      return InvalidArgument("name the purposes the legal basis covers", "purposes");
    }
    doc["legal_basis"] = *basis;
  } else {
    doc["legal_basis"] = nullptr;
  }
  doc["purposes"] = purposes;
  Json endpoints = Json::array();
  if (body.contains("endpoints")) {
    if (!body["endpoints"].is_array()) {
      return InvalidArgument("must be a list of URL prefixes", "endpoints");
    }
    for (const auto& e : body["endpoints"]) {
      if (e.is_string() && !e.get<std::string>().empty()) {
        endpoints.push_back({{"url", e}, {"purpose", ""}});
      } else if (e.is_object() && e.contains("url") && e["url"].is_string() &&
                 (!e.contains("purpose") || e["purpose"].is_string())) {
        endpoints.push_back({{"url", e["url"]}, {"purpose", e.value("purpose", "")}});
      } else {
        return InvalidArgument("each endpoint is a URL prefix or {\"url\",\"purpose\"}",
                               "endpoints");
      }
    }
  }
  doc["endpoints"] = endpoints;
  ASSIGN_OR_RETURN(auto domains, StringList(body, "mail_domains", false));
  for (auto& d : domains) d = Lower(d);
  doc["mail_domains"] = domains;
  doc["updated_at"] = FormatTime(clock_.Now());
  store::WriteBatch batch;
  batch.puts.push_back({{kRecipient, name, doc.dump(), 0}, -1});
  RETURN_IF_ERROR(
      audit_.Append({Entry(by, "recipient.registered", name,
                           {{"legal_basis", doc["legal_basis"]}, {"purposes", purposes}})},
                    std::move(batch)));
  return doc;
}

Result<Json> Ledger::ListRecipients() {
  ASSIGN_OR_RETURN(Json out, AllBodies(store_, kRecipient, ""));
  return Json{{"recipients", out}};
}

Result<std::optional<Json>> Ledger::Recipient(const std::string& name) {
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kRecipient, name));
  if (!doc) return std::optional<Json>();
  ASSIGN_OR_RETURN(Json j, ParseJson(doc->body));
  return std::optional<Json>(std::move(j));
}

Result<Json> Ledger::PutRetention(const std::string& purpose, const Json& body,
                                  const auth::Principal& by) {
  if (purpose.empty()) return InvalidArgument("a retention rule needs a purpose", "purpose");
  if (!body.is_object() || !body.contains("days") || !body["days"].is_number_integer() ||
      body["days"].get<int64_t>() < 1) {
    return InvalidArgument("days must be a whole number of at least 1", "days");
  }
  Json doc = {{"purpose", purpose},
              {"days", body["days"].get<int64_t>()},
              {"updated_at", FormatTime(clock_.Now())}};
  store::WriteBatch batch;
  batch.puts.push_back({{kRetention, purpose, doc.dump(), 0}, -1});
  RETURN_IF_ERROR(audit_.Append({Entry(by, "retention.set", purpose, {{"days", doc["days"]}})},
                                std::move(batch)));
  return doc;
}

Result<Json> Ledger::ListRetention() {
  ASSIGN_OR_RETURN(Json out, AllBodies(store_, kRetention, ""));
  return Json{{"rules", out}};
}

Result<std::map<std::string, int64_t>> Ledger::RetentionDays() {
  ASSIGN_OR_RETURN(auto docs, AllDocuments(store_, kRetention, ""));
  std::map<std::string, int64_t> days;
  for (const auto& d : docs) {
    ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
    days[d.id] = j.value("days", int64_t{0});
  }
  return days;
}

// --- Provenance -------------------------------------------------------------------------------

Result<const Ledger::SourceVersions*> Ledger::Source(const std::string& name) {
  // Caller holds sources_mu_.
  if (auto it = sources_.find(name); it != sources_.end()) return &it->second;
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kSource, name));
  SourceVersions v;
  if (doc) {
    ASSIGN_OR_RETURN(Json j, ParseJson(doc->body));
    for (const auto& version : j.value("versions", Json::array())) {
      ASSIGN_OR_RETURN(Time from, ParseTime(version.value("from", "")));
      v.versions.emplace_back(from, version);
    }
  }
  return &sources_.emplace(name, std::move(v)).first->second;
}

Result<Json> Ledger::Provenance(const std::string& source, Time received_at, const Fields& fields) {
  Json version;
  {
    std::lock_guard<std::mutex> lock(sources_mu_);
    ASSIGN_OR_RETURN(const SourceVersions* v, Source(source));
    for (const auto& [from, j] : v->versions) {
      if (from <= received_at || version.is_null()) version = j;
    }
  }
  bool registered = version.is_object() && version.value("registered", false);
  Json p = {{"source", source},
            {"system", registered ? version.value("system", source) : source},
            {"channel", registered ? version.value("channel", "") : ""},
            {"organisation", registered ? version.value("organisation", "") : ""},
            {"purposes", registered ? version.value("purposes", Json::array()) : Json::array()},
            {"legal_basis", registered ? Json(version.value("legal_basis", "")) : Json(nullptr)},
            {"consent_ref", registered ? version.value("consent_ref", "") : ""},
            {"collected_at", FormatTime(received_at)},
            {"registered", registered}};
  // What the record itself says about how it was collected wins over the source's defaults.
  for (const auto& [name, value] : fields) {
    if (name.rfind("provenance.", 0) != 0) continue;
    std::string key = name.substr(11);
    if (key == "purpose" || key == "purposes") {
      Json purposes = Json::array();
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        std::string item = value.substr(start, end - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) purposes.push_back(item);
        start = end + 1;
      }
      p["purposes"] = purposes;
    } else if (key == "legal_basis" || key == "consent_ref" || key == "channel" ||
               key == "organisation" || key == "system") {
      p[key] = value;
    } else if (key == "collected_at") {
      if (auto t = ParseTime(value); t.ok()) p["collected_at"] = FormatTime(*t);
    }
  }
  return p;
}

Status Ledger::OnRecordsStored(const std::vector<SourceRecord>& records) {
  std::lock_guard<std::mutex> lock(sources_mu_);
  for (const auto& r : records) {
    if (sources_.count(r.source)) continue;
    ASSIGN_OR_RETURN(const SourceVersions* v, Source(r.source));
    if (!v->versions.empty()) continue;
    // First record from a source nobody registered: listed so that an admin completes it.
    Json version = {{"from", FormatTime(r.received_at)}, {"registered", false}};
    Json doc = {{"name", r.source}, {"versions", Json::array({version})}};
    store::WriteBatch batch;
    batch.puts.push_back({{kSource, r.source, doc.dump(), 0}, 0});
    Status s = store_.Write(batch);
    if (!s.ok() && s.code() != StatusCode::kAborted) return s;
    sources_.erase(r.source);
    ASSIGN_OR_RETURN(v, Source(r.source));
  }
  return OkStatus();
}

// --- Consents ---------------------------------------------------------------------------------

Result<std::string> Ledger::PersonOf(const std::string& subject) {
  ASSIGN_OR_RETURN(profiles::ResolvedSubject resolved, profiles_.ResolveSubject(subject));
  return resolved.person;
}

Result<Json> Ledger::GiveConsent(const std::string& person, const Json& body,
                                 const auth::Principal& by) {
  if (!body.is_object()) return InvalidArgument("expected a JSON object", "body");
  ASSIGN_OR_RETURN(Json view, profiles_.GetPerson(person, 0));
  std::string id = view.value("id", person);
  ASSIGN_OR_RETURN(auto purposes, StringList(body, "purposes", true));
  ASSIGN_OR_RETURN(auto recipients, StringList(body, "recipients", true));
  if (!body.contains("proof") || !body["proof"].is_object()) {
    return InvalidArgument("give the proof: {\"text_version\",\"channel\",\"reference\"}", "proof");
  }
  ASSIGN_OR_RETURN(std::string text_version,
                   RequiredString(body["proof"], "text_version", "proof"));
  ASSIGN_OR_RETURN(std::string channel, RequiredString(body["proof"], "channel", "proof"));
  ASSIGN_OR_RETURN(auto reference, OptionalString(body["proof"], "reference", "proof"));
  ASSIGN_OR_RETURN(auto given_at, OptionalTime(body, "given_at"));
  Time now = clock_.Now();
  if (given_at && *given_at > now) return InvalidArgument("lies in the future", "given_at");
  std::string consent_id = ids_.Next("con");
  Json records = Json::array();
  for (const auto& r : view.value("records", Json::array())) records.push_back(r["id"]);
  Json doc = {{"id", consent_id},
              {"person", id},
              {"records", records},
              {"purposes", purposes},
              {"recipients", recipients},
              {"given_at", FormatTime(given_at.value_or(now))},
              {"proof",
               {{"text_version", text_version},
                {"channel", channel},
                {"reference", reference.value_or("")}}},
              {"withdrawn_at", nullptr},
              {"history", Json::array({{{"at", FormatTime(now)},
                                        {"action", "given"},
                                        {"by", by.name.empty() ? by.token_id : by.name}}})}};
  store::WriteBatch batch;
  batch.puts.push_back({{kConsent, id + "~" + consent_id, doc.dump(), 0}, 0});
  RETURN_IF_ERROR(audit_.Append({Entry(by, "consent.given", id,
                                       {{"consent", consent_id},
                                        {"purposes", purposes},
                                        {"recipients", recipients},
                                        {"text_version", text_version}})},
                                std::move(batch)));
  return doc;
}

Result<Json> Ledger::WithdrawConsent(const std::string& person, const std::string& consent_id,
                                     const auth::Principal& by) {
  ASSIGN_OR_RETURN(Json view, profiles_.GetPerson(person, 0));
  std::string id = view.value("id", person);
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(id));
  ASSIGN_OR_RETURN(auto doc, UnderAnyId(store_, kConsent, ids, consent_id));
  if (!doc) return NotFound("no consent " + consent_id + " of person " + id, "consent");
  ASSIGN_OR_RETURN(Json j, ParseJson(doc->body));
  if (!j["withdrawn_at"].is_null()) {
    return FailedPrecondition("consent " + consent_id + " was withdrawn at " +
                              j["withdrawn_at"].get<std::string>());
  }
  std::string now = FormatTime(clock_.Now());
  j["withdrawn_at"] = now;
  j["history"].push_back(
      {{"at", now}, {"action", "withdrawn"}, {"by", by.name.empty() ? by.token_id : by.name}});
  store::WriteBatch batch;
  batch.puts.push_back({{kConsent, doc->id, j.dump(), 0}, doc->revision});
  RETURN_IF_ERROR(audit_.Append({Entry(by, "consent.withdrawn", id, {{"consent", consent_id}})},
                                std::move(batch)));
  return j;
}

Result<Json> Ledger::ListConsents(const std::string& person) {
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person));
  ASSIGN_OR_RETURN(Json out, PersonBodies(store_, kConsent, ids));
  return Json{{"person", person}, {"consents", out}};
}

Result<std::vector<Json>> Ledger::ActiveConsents(const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(Json all, PersonBodies(store_, kConsent, ids));
  std::vector<Json> out;
  for (auto& j : all) {
    if (j["withdrawn_at"].is_null()) out.push_back(std::move(j));
  }
  return out;
}

// --- Splits ----------------------------------------------------------------------------------

Result<Json> Ledger::Split(const std::string& person_id, const std::vector<std::string>& records,
                           const auth::Principal& by) {
  // No disclosure decides on the person's consents while they are being moved.
  std::lock_guard<std::mutex> lock(disclose_mu_);
  // Read before: which records carried which address, and every id the documents are under.
  ASSIGN_OR_RETURN(Json before, profiles_.GetPerson(person_id, 0));
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person_id));
  profiles::Actor actor{"user", by.name.empty() ? by.token_id : by.name};
  ASSIGN_OR_RETURN(Json split, profiles_.Split(person_id, records, actor));
  auto followed = FollowSplit(before, ids, split, by);
  if (!followed.ok()) {
    return Status(followed.status().code(),
                  "records were split off into " + split.value("new_person", "") +
                      ", but its consents, aliases and disclosures did not follow: " +
                      followed.status().message());
  }
  split["privacy"] = std::move(*followed);
  return split;
}

Result<Json> Ledger::FollowSplit(const Json& before, const std::vector<std::string>& ids,
                                 const Json& split, const auth::Principal& by) {
  const std::string from = split.value("person", "");
  const std::string to = split.value("new_person", "");
  std::set<std::string> moving;
  for (const auto& r : split.value("records", Json::array())) moving.insert(r.get<std::string>());
  std::set<std::string> had, moved_addresses, kept_addresses;
  for (const auto& r : before.value("records", Json::array())) {
    std::string id = r.value("id", "");
    had.insert(id);
    const Json fields = r.value("fields", Json::object());
    for (const auto& [name, value] : fields.items()) {
      if (!value.is_string()) continue;
      std::string base = EmailBase(value.get<std::string>());
      if (!base.empty()) (moving.count(id) ? moved_addresses : kept_addresses).insert(base);
    }
  }
  const std::string now = FormatTime(clock_.Now());
  store::WriteBatch batch;
  Json consents_moved = Json::array(), consents_kept = Json::array();
  ASSIGN_OR_RETURN(auto consents, PersonDocuments(store_, kConsent, ids));
  for (const auto& d : consents) {
    ASSIGN_OR_RETURN(Json c, ParseJson(d.body));
    size_t known = 0, moved = 0;
    for (const auto& r : c.value("records", Json::array())) {
      if (!r.is_string() || !had.count(r.get<std::string>())) continue;  // gone before
      ++known;
      moved += moving.count(r.get<std::string>());
    }
    if (moved == 0) continue;
    std::string consent = c.value("id", "");
    if (moved < known) {
      consents_kept.push_back(
          {{"consent", consent},
           {"why",
            "given while the moved and the staying records were one person: it stays "
            "with " +
                from + "; withdraw it there or have " + to + " give one if it was " + to + "'s"}});
      continue;
    }
    c["person"] = to;
    c["history"].push_back({{"at", now},
                            {"action", "moved"},
                            {"by", by.name.empty() ? by.token_id : by.name},
                            {"from", d.id.substr(0, d.id.find('~'))},
                            {"to", to},
                            {"why", "every record it was given with was split off into " + to}});
    batch.deletes.emplace_back(kConsent, d.id);
    batch.puts.push_back({{kConsent, to + "~" + consent, c.dump(), 0}, 0});
    consents_moved.push_back(consent);
  }
  Json aliases_moved = Json::array();
  std::set<std::string> moved_aliases;
  ASSIGN_OR_RETURN(auto aliases, PersonDocuments(store_, kPersonAlias, ids));
  for (const auto& d : aliases) {
    ASSIGN_OR_RETURN(Json a, ParseJson(d.body));
    std::string base = EmailBase(a.value("alias", ""));
    if (!moved_addresses.count(base) || kept_addresses.count(base)) continue;
    a["person"] = to;
    batch.deletes.emplace_back(kPersonAlias, d.id);
    batch.puts.push_back({{kPersonAlias, to + "~" + a.value("recipient", ""), a.dump(), 0}, 0});
    batch.puts.push_back({{kAlias, a.value("alias", ""), a.dump(), 0}, -1});
    moved_aliases.insert(a.value("alias", ""));
    aliases_moved.push_back(a.value("recipient", ""));
  }
  if (!moved_aliases.empty()) {
    ASSIGN_OR_RETURN(auto leaks, AllDocuments(store_, kLeak, ""));
    for (const auto& d : leaks) {
      ASSIGN_OR_RETURN(Json l, ParseJson(d.body));
      if (!moved_aliases.count(l.value("alias", ""))) continue;
      l["person"] = to;
      batch.puts.push_back({{kLeak, d.id, l.dump(), 0}, d.revision});
    }
  }
  int64_t copied = 0;
  ASSIGN_OR_RETURN(auto disclosures, PersonDocuments(store_, kDisclosure, ids));
  for (const auto& d : disclosures) {
    ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
    j["split_from"] = from;
    batch.puts.push_back({{kDisclosure, to + "~" + j.value("id", ""), j.dump(), 0}, 0});
    ++copied;
  }
  Json followed = {{"consents_moved", consents_moved},
                   {"consents_kept", consents_kept},
                   {"aliases_moved", aliases_moved},
                   {"disclosures_copied", copied}};
  Json detail = {{"from", from}, {"to", to}, {"records", split["records"]}};
  detail.update(followed);
  RETURN_IF_ERROR(audit_.Append(
      {Entry(by, "privacy.split", from, detail), Entry(by, "privacy.split", to, detail)},
      std::move(batch)));
  return followed;
}

// --- Disclosures ------------------------------------------------------------------------------

Result<Json> Ledger::PayloadFor(const Json& view, const std::vector<std::string>& ids,
                                const std::string& recipient,
                                const std::vector<std::string>& fields, store::WriteBatch& batch,
                                std::vector<std::string>* disclosed_fields) {
  Json out = {{"person", view["id"]}};
  Json values = Json::object();
  const Json& golden = view["golden"];
  for (const auto& [name, g] : golden.items()) {
    if (!fields.empty() && std::find(fields.begin(), fields.end(), name) == fields.end()) {
      continue;
    }
    std::string value = g.value("value", "");
    if (IsEmailField(name)) {
      // The recipient gets its own alias, issued once (invariant 4).
      std::string person = view["id"];
      std::string key = person + "~" + recipient;
      // An alias issued under an id merged into this person since stays the recipient's one.
      ASSIGN_OR_RETURN(auto existing, UnderAnyId(store_, kPersonAlias, ids, recipient));
      std::string alias;
      if (existing) {
        ASSIGN_OR_RETURN(Json a, ParseJson(existing->body));
        alias = a.value("alias", "");
      } else {
        size_t at = value.find('@');
        if (at == std::string::npos || at == 0) continue;  // not an address: nothing to hand out
        std::string local = value.substr(0, at);
        local = local.substr(0, local.find('+'));
        // Hashed: ULIDs made within one millisecond differ only in their last digits, and one
        // recipient's alias must not hint at another's.
        std::string tag = Hex64(Hash64(ids_.Next("alias") + key)).substr(0, 10);
        alias = Lower(local + "+" + tag + value.substr(at));
        Json a = {{"alias", alias},
                  {"person", person},
                  {"recipient", recipient},
                  {"issued_at", FormatTime(clock_.Now())}};
        batch.puts.push_back({{kAlias, alias, a.dump(), 0}, 0});
        batch.puts.push_back({{kPersonAlias, key, a.dump(), 0}, 0});
      }
      value = alias;
    }
    values[name] = value;
    if (disclosed_fields) disclosed_fields->push_back(name);
  }
  out["fields"] = values;
  return out;
}

Status Ledger::CheckOwnMessage(const std::string& person, const std::string& purpose) {
  if (purpose.empty()) return OkStatus();
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person));
  ASSIGN_OR_RETURN(auto consents, ActiveConsents(ids));
  for (const auto& c : consents) {
    if (Contains(c["purposes"], purpose) &&
        (Contains(c["recipients"], "self") || Contains(c["recipients"], "*"))) {
      return OkStatus();
    }
  }
  return FailedPrecondition("no active consent of " + person + " names purpose '" + purpose +
                            "' for the company's own messages (recipients \"self\" or \"*\")");
}

Result<DisclosureDecision> Ledger::Decide(const DisclosureRequest& request,
                                          const auth::Principal& by, Json* payload) {
  if (request.recipient.empty()) return InvalidArgument("name the recipient", "recipient");
  if (request.purpose.empty()) return InvalidArgument("name the purpose", "purpose");
  ASSIGN_OR_RETURN(Json view, profiles_.GetPerson(request.person, 0));
  std::string person = view["id"];
  std::lock_guard<std::mutex> lock(disclose_mu_);
  DisclosureDecision d;
  // Once per decision: the consents and the alias are looked up under the same ids.
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person));
  ASSIGN_OR_RETURN(auto consents, ActiveConsents(ids));
  for (const auto& c : consents) {
    if (Contains(c["purposes"], request.purpose) &&
        (Contains(c["recipients"], request.recipient) || Contains(c["recipients"], "*"))) {
      d.allowed = true;
      d.basis = "consent:" + c.value("id", "");
      break;
    }
  }
  if (!d.allowed) {
    ASSIGN_OR_RETURN(auto recipient, Recipient(request.recipient));
    if (recipient && (*recipient)["legal_basis"].is_string() &&
        Contains((*recipient)["purposes"], request.purpose)) {
      d.allowed = true;
      d.basis = (*recipient)["legal_basis"].get<std::string>();
    }
  }
  if (!d.allowed) {
    d.reason = "no consent of " + person + " covers purpose '" + request.purpose +
               "' for recipient '" + request.recipient + "', and '" + request.recipient +
               "' has no legal basis for it";
  }
  return Record(request, view, ids, std::move(d), by, payload);
}

Result<DisclosureDecision> Ledger::Record(const DisclosureRequest& request, const Json& view,
                                          const std::vector<std::string>& ids, DisclosureDecision d,
                                          const auth::Principal& by, Json* payload) {
  const std::string person = view["id"];
  d.id = ids_.Next("dis");
  store::WriteBatch batch;
  std::vector<std::string> fields = request.fields;
  if (d.allowed && payload) {
    fields.clear();
    ASSIGN_OR_RETURN(*payload,
                     PayloadFor(view, ids, request.recipient, request.fields, batch, &fields));
  }
  fields.insert(fields.end(), request.data.begin(), request.data.end());
  Json doc = {{"id", d.id},
              {"person", person},
              {"recipient", request.recipient},
              {"purpose", request.purpose},
              {"fields", fields},
              {"via", request.via},
              {"allowed", d.allowed},
              {"basis", d.allowed ? Json(d.basis) : Json(nullptr)},
              {"reason", d.reason},
              {"at", FormatTime(clock_.Now())},
              {"by", by.name.empty() ? by.token_id : by.name}};
  batch.puts.push_back({{kDisclosure, person + "~" + d.id, doc.dump(), 0}, 0});
  Json detail = {{"disclosure", d.id},
                 {"recipient", request.recipient},
                 {"purpose", request.purpose},
                 {"fields", fields},
                 {"via", request.via}};
  if (d.allowed) {
    detail["basis"] = d.basis;
  } else {
    detail["reason"] = d.reason;
  }
  RETURN_IF_ERROR(
      audit_.Append({Entry(by, d.allowed ? "disclosure" : "disclosure.refused", person, detail)},
                    std::move(batch)));
  return d;
}

Result<Json> Ledger::Disclose(const DisclosureRequest& request, const auth::Principal& by) {
  Json payload;
  ASSIGN_OR_RETURN(auto d, Decide(request, by, &payload));
  if (!d.allowed) return PermissionDenied("disclosure refused (" + d.id + "): " + d.reason);
  payload["disclosure"] = d.id;
  payload["basis"] = d.basis;
  return payload;
}

Result<Json> Ledger::PartnerRead(DisclosureRequest request, const auth::Principal& partner) {
  if (partner.org.empty()) {
    return PermissionDenied(
        "this partner token names no organisation, so nothing can be "
        "disclosed to it");
  }
  request.recipient = partner.org;
  if (!request.fields.empty() || request.data.empty()) return Disclose(request, partner);
  // Only data the ledger does not hold (a service history): no golden value is handed over,
  // so none is read out and no alias is issued.
  ASSIGN_OR_RETURN(auto d, Decide(request, partner));
  if (!d.allowed) return PermissionDenied("disclosure refused (" + d.id + "): " + d.reason);
  return Json{{"person", request.person},
              {"fields", Json::object()},
              {"disclosure", d.id},
              {"basis", d.basis}};
}

Result<Json> Ledger::PartnerReadPerson(DisclosureRequest request, const auth::Principal& partner) {
  if (partner.org.empty()) return PartnerRead(std::move(request), partner);  // refuses it
  ASSIGN_OR_RETURN(Json view, profiles_.GetPerson(request.person, 0));
  const std::string person = view["id"];
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person));
  // Invariant 7. A consent naming this organisation is the customer's own choice of it; "*"
  // (anyone) is not a relationship with this partner, so it does not count here.
  bool related = false;
  ASSIGN_OR_RETURN(auto consents, ActiveConsents(ids));
  for (const auto& c : consents) {
    if (Contains(c["purposes"], request.purpose) && Contains(c["recipients"], partner.org)) {
      related = true;
      break;
    }
  }
  for (const auto& [name, relationship] : partner_relationships_) {
    if (related) break;
    ASSIGN_OR_RETURN(related, relationship(ids, partner));
  }
  if (!related) {
    // Recorded in the register as any refused read is (the customer learns that someone
    // asked), and answered as an unknown person (the partner learns nothing).
    request.recipient = partner.org;
    DisclosureDecision d;
    d.reason = "no consent of " + person + " names '" + partner.org + "' for purpose '" +
               request.purpose + "', and '" + partner.org + "' holds no work order or case of it";
    std::lock_guard<std::mutex> lock(disclose_mu_);
    RETURN_IF_ERROR(Record(request, view, ids, std::move(d), partner, nullptr).status());
    return NotFound("no person " + request.person, "id");
  }
  return PartnerRead(std::move(request), partner);
}

void Ledger::AddPartnerRelationship(std::string name, PartnerRelationship relationship) {
  partner_relationships_.emplace_back(std::move(name), std::move(relationship));
}

Result<Json> Ledger::Export(const std::string& recipient, const std::string& purpose,
                            const std::vector<std::string>& fields,
                            const std::vector<std::string>& persons, const auth::Principal& by) {
  if (recipient.empty()) return InvalidArgument("name the recipient", "recipient");
  if (purpose.empty()) return InvalidArgument("name the purpose", "purpose");
  std::vector<std::string> ids = persons;
  if (ids.empty()) {
    ASSIGN_OR_RETURN(auto docs, AllDocuments(store_, "person", ""));
    for (const auto& d : docs) ids.push_back(d.id);
  } else {
    // Every id is checked before the first decision is recorded: an export that fails on an
    // unknown id leaves no disclosure in the register for a hand-over that never happened.
    for (const auto& id : ids) {
      auto view = profiles_.GetPerson(id, 0);
      if (!view.ok() && view.status().code() == StatusCode::kNotFound) {
        return NotFound("no person " + id + " (nothing was exported or recorded)", "person");
      }
      RETURN_IF_ERROR(view.status());
    }
  }
  Json exported = Json::array();
  Json refused = Json::array();
  for (const auto& id : ids) {
    Json payload;
    ASSIGN_OR_RETURN(auto d, Decide({id, recipient, purpose, fields, "export"}, by, &payload));
    if (d.allowed) {
      payload["disclosure"] = d.id;
      payload["basis"] = d.basis;
      exported.push_back(std::move(payload));
    } else {
      if (persons.size() == 1) {
        return PermissionDenied("export refused (" + d.id + "): " + d.reason);
      }
      refused.push_back({{"person", id}, {"disclosure", d.id}, {"reason", d.reason}});
    }
  }
  return Json{
      {"recipient", recipient}, {"purpose", purpose}, {"persons", exported}, {"refused", refused}};
}

Status Ledger::CheckWebhook(const Json& action) {
  std::string url = action.value("url", "");
  // Whom the webhook is about: the instance's subject (the person id its events name, carried
  // on every outbox action), else the instance key when the journey is keyed by person. An
  // order-keyed journey about a known person is checked as that person's disclosure.
  Result<Json> view = NotFound("no person", "subject");
  for (const char* key : {"subject", "instance_key"}) {
    auto it = action.find(key);
    if (it == action.end() || !it->is_string() || it->get<std::string>().empty()) continue;
    // "shop:C-1001" or an e-mail address names a person as much as a person id does: a
    // webhook about her is a disclosure of her data whatever form its subject has.
    auto person = PersonOf(it->get<std::string>());
    if (!person.ok() && person.status().code() != StatusCode::kNotFound) return person.status();
    view = person.ok() ? profiles_.GetPerson(*person, 0) : Result<Json>(person.status());
    if (view.ok()) break;
    if (view.status().code() != StatusCode::kNotFound) return view.status();
  }
  // Neither names a person the ledger knows (an order number, a customer key no profile has):
  // there is no personal data it holds to check, and no register to record it in.
  if (!view.ok()) return OkStatus();
  std::string recipient = HostOf(url);
  std::string purpose = "journey:" + action.value("journey", "") + "/" + action.value("action", "");
  ASSIGN_OR_RETURN(auto recipients, AllDocuments(store_, kRecipient, ""));
  size_t best = 0;
  for (const auto& doc : recipients) {
    ASSIGN_OR_RETURN(Json r, ParseJson(doc.body));
    for (const auto& e : r.value("endpoints", Json::array())) {
      std::string prefix = e.value("url", "");
      if (!prefix.empty() && url.rfind(prefix, 0) == 0 && prefix.size() > best) {
        best = prefix.size();
        recipient = doc.id;
        if (!e.value("purpose", "").empty()) purpose = e.value("purpose", "");
      }
    }
  }
  std::vector<std::string> fields = {"instance_key"};
  const Json params = action.value("params", Json::object());
  for (const auto& [name, v] : params.items()) {
    fields.push_back(name);
  }
  ASSIGN_OR_RETURN(auto d,
                   Decide({(*view)["id"], recipient, purpose, fields, "webhook"}, SystemActor()));
  if (!d.allowed) return PermissionDenied("disclosure refused (" + d.id + "): " + d.reason);
  return OkStatus();
}

Result<Json> Ledger::ListDisclosures(const std::string& person) {
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person));
  ASSIGN_OR_RETURN(Json entries, PersonBodies(store_, kDisclosure, ids));
  // Oldest first across the ids (a "dis_" id is a ULID: its order is its time).
  std::stable_sort(entries.begin(), entries.end(), [](const Json& a, const Json& b) {
    return a.value("id", "") < b.value("id", "");
  });
  Json out = Json::array();
  for (auto& j : entries) {
    // A split copies the register to the new person; merged back, both copies are read.
    if (!out.empty() && out.back().value("id", "") == j.value("id", "")) continue;
    out.push_back(std::move(j));
  }
  return Json{{"person", person}, {"disclosures", out}};
}

// --- Aliases and leaks ------------------------------------------------------------------------

Result<size_t> Ledger::ScanInboundMail() {
  std::lock_guard<std::mutex> lock(scan_mu_);
  size_t found = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto cursor, store_.GetDocument(kCursor, kInboundMail));
    int64_t after = 0;
    if (cursor) {
      ASSIGN_OR_RETURN(Json c, ParseJson(cursor->body));
      after = c.value("after", int64_t{0});
    }
    // All new events, not only mail: the cursor then moves past everything read, so a log
    // without any mail is not searched again from its start every round.
    ASSIGN_OR_RETURN(auto page, store_.ListEvents({.after = after, .limit = 1000}));
    if (page.events.empty()) return found;
    store::WriteBatch batch;
    std::vector<AuditEntry> entries;
    for (const Event& e : page.events) {
      after = std::max(after, e.seq);
      if (e.type != kInboundMail) continue;
      // The sender's payload may have any shape; only strings count, and they are header
      // values as mailers write them ("Max Leser <alias@…>", several recipients, comments).
      auto text = [&e](const char* key) {
        auto it = e.payload.find(key);
        return it != e.payload.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      std::string from_header = text("from");
      std::string recipients_header = text("to");
      if (std::string cc = text("cc"); !cc.empty()) {
        recipients_header += recipients_header.empty() ? cc : ", " + cc;
      }
      if (from_header.empty() || recipients_header.empty()) continue;
      auto senders = ParseAddressList(from_header);
      auto recipients = ParseAddressList(recipients_header);
      if (!senders.ok() || !recipients.ok()) {
        // Outside input: a header we cannot read attributes nothing, and must not stop the
        // scan of every later mail; the log says which one and why.
        spdlog::warn("leak scan: mail.inbound {} skipped: {}", e.id,
                     (!senders.ok() ? senders.status() : recipients.status()).ToString());
        continue;
      }
      std::set<std::string> seen_aliases;
      int finding_in_mail = 0;
      for (const MailAddress& to : *recipients) {
        std::string alias_key = to.Key();
        if (!seen_aliases.insert(alias_key).second) continue;
        ASSIGN_OR_RETURN(auto alias_doc, store_.GetDocument(kAlias, alias_key));
        if (!alias_doc) continue;  // not an alias we issued: nothing to attribute
        ASSIGN_OR_RETURN(Json alias, ParseJson(alias_doc->body));
        std::string recipient = alias.value("recipient", "");
        ASSIGN_OR_RETURN(auto r, Recipient(recipient));
        std::vector<std::string> domains = {Lower(recipient)};
        if (r) {
          for (const auto& d : (*r).value("mail_domains", Json::array())) domains.push_back(d);
        }
        auto own = [&domains](const std::string& sender_domain) {
          return std::any_of(domains.begin(), domains.end(), [&](const std::string& d) {
            return sender_domain == d ||
                   (sender_domain.size() > d.size() &&
                    sender_domain.compare(sender_domain.size() - d.size(), d.size(), d) == 0 &&
                    sender_domain[sender_domain.size() - d.size() - 1] == '.');
          });
        };
        // Mail naming several senders is the recipient's own only if all of them are: one
        // outside address among them means the alias reached someone else.
        auto outsider = std::find_if(senders->begin(), senders->end(),
                                     [&](const MailAddress& a) { return !own(a.domain); });
        if (outsider == senders->end()) continue;
        std::string sender_domain = outsider->domain;
        std::string person = alias.value("person", "");
        // The first finding of a mail keeps the id "leak~<event>" that single-recipient mail
        // always had; further aliases in the same mail are numbered in header order.
        std::string leak_id = "leak~" + e.id;
        if (++finding_in_mail > 1) leak_id += "~" + std::to_string(finding_in_mail);
        Json leak = {
            {"id", leak_id},
            {"person", person},
            {"recipient", recipient},
            {"alias", alias_key},
            {"sender", outsider->Key()},
            {"sender_domain", sender_domain},
            {"event", e.id},
            {"received_at", FormatTime(e.occurred_at)},
            {"found_at", FormatTime(clock_.Now())},
            {"finding", "the address given only to '" + recipient + "' received mail from '" +
                            sender_domain + "', which never received it from us"}};
        batch.puts.push_back({{kLeak, leak_id, leak.dump(), 0}, -1});
        entries.push_back(
            Entry(SystemActor(), "leak.found", person,
                  {{"recipient", recipient}, {"event", e.id}, {"sender_domain", sender_domain}}));
        ++found;
      }
    }
    batch.puts.push_back(
        {{kCursor, kInboundMail, Json{{"after", after}}.dump(), 0}, cursor ? cursor->revision : 0});
    if (entries.empty()) {
      RETURN_IF_ERROR(store_.Write(batch));
    } else {
      RETURN_IF_ERROR(audit_.Append(std::move(entries), std::move(batch)));
    }
    if (page.next_after == 0) return found;
  }
}

Result<Json> Ledger::ListLeaks() {
  ASSIGN_OR_RETURN(Json out, AllBodies(store_, kLeak, ""));
  return Json{{"leaks", out}};
}

// --- Data subject requests --------------------------------------------------------------------

Result<Json> Ledger::AccessReport(const std::string& subject, const auth::Principal& by) {
  ASSIGN_OR_RETURN(std::string person_id, PersonOf(subject));
  ASSIGN_OR_RETURN(Json view, profiles_.GetPerson(person_id, 200));
  std::string person = view["id"];
  ASSIGN_OR_RETURN(auto retention, RetentionDays());
  ASSIGN_OR_RETURN(Json consents, ListConsents(person));
  ASSIGN_OR_RETURN(Json disclosures, ListDisclosures(person));
  // Recipients per field, from the allowed disclosures.
  std::map<std::string, std::set<std::string>> recipients_of_field;
  Json recipients = Json::object();
  for (const auto& d : disclosures["disclosures"]) {
    if (!d.value("allowed", false)) continue;
    std::string r = d.value("recipient", "");
    for (const auto& f : d["fields"]) recipients_of_field[f.get<std::string>()].insert(r);
    Json& entry = recipients[r];
    if (entry.is_null()) {
      entry = {{"recipient", r},         {"fields", Json::array()}, {"purposes", Json::array()},
               {"bases", Json::array()}, {"first_at", d["at"]},     {"times", 0}};
    }
    for (const auto& f : d["fields"]) {
      if (!Contains(entry["fields"], f.get<std::string>())) entry["fields"].push_back(f);
    }
    if (!Contains(entry["purposes"], d.value("purpose", ""))) {
      entry["purposes"].push_back(d["purpose"]);
    }
    if (!Contains(entry["bases"], d.value("basis", ""))) entry["bases"].push_back(d["basis"]);
    entry["last_at"] = d["at"];
    entry["times"] = entry["times"].get<int>() + 1;
  }
  std::map<std::string, Json> provenance_of_record;
  Json data = Json::array();
  for (const auto& r : view["records"]) {
    Fields fields = FieldsOf(r);
    ASSIGN_OR_RETURN(Time received, ParseTime(r.value("received_at", "")));
    ASSIGN_OR_RETURN(Json prov, Provenance(r.value("source", ""), received, fields));
    // Kept until the longest retention of its purposes; a purpose without a rule keeps it
    // until erasure is asked for.
    ASSIGN_OR_RETURN(Time collected, ParseTime(prov["collected_at"].get<std::string>()));
    Json until = nullptr;
    std::string rule = "no retention rule for its purposes: kept until erasure is requested";
    bool all_ruled = !prov["purposes"].empty();
    Time latest = collected;
    for (const auto& p : prov["purposes"]) {
      auto it = retention.find(p.get<std::string>());
      if (it == retention.end()) {
        all_ruled = false;
        continue;
      }
      latest = std::max(latest, collected + std::chrono::hours(24 * it->second));
    }
    if (all_ruled) {
      until = FormatTime(latest);
      rule = "kept until the longest retention of its purposes ends";
    }
    Json record_fields = Json::array();
    for (const auto& [name, value] : fields) {
      if (name.rfind("provenance.", 0) == 0) continue;
      std::string canonical = profiles::CanonicalFieldName(name);
      Json to = Json::array();
      if (auto it = recipients_of_field.find(canonical); it != recipients_of_field.end()) {
        for (const auto& x : it->second) to.push_back(x);
      }
      record_fields.push_back(
          {{"field", name}, {"canonical", canonical}, {"value", value}, {"recipients", to}});
    }
    provenance_of_record[r.value("id", "")] = prov;
    data.push_back({{"record", r["id"]},
                    {"source", r["source"]},
                    {"source_key", r["source_key"]},
                    {"provenance", prov},
                    {"retention", {{"until", until}, {"rule", rule}}},
                    {"fields", record_fields}});
  }
  Json golden = Json::object();
  for (const auto& [name, g] : view["golden"].items()) {
    Json to = Json::array();
    if (auto it = recipients_of_field.find(name); it != recipients_of_field.end()) {
      for (const auto& x : it->second) to.push_back(x);
    }
    golden[name] = {{"value", g["value"]},
                    {"record", g["record"]},
                    {"source", g["source"]},
                    {"provenance", provenance_of_record[g.value("record", "")]},
                    {"recipients", to}};
  }
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person));
  ASSIGN_OR_RETURN(Json aliases, PersonBodies(store_, kPersonAlias, ids));
  ASSIGN_OR_RETURN(Json leaks_all, ListLeaks());
  Json leaks = Json::array();
  for (const auto& l : leaks_all["leaks"]) {
    if (std::find(ids.begin(), ids.end(), l.value("person", "")) != ids.end()) leaks.push_back(l);
  }
  Json events = Json::array();
  for (const auto& e : view.value("events", Json::array())) {
    events.push_back({{"id", e["id"]}, {"type", e["type"]}, {"occurred_at", e["occurred_at"]}});
  }
  Json recipient_list = Json::array();
  for (auto& [name, entry] : recipients.items()) recipient_list.push_back(entry);
  Json report = {{"person", person},
                 {"generated_at", FormatTime(clock_.Now())},
                 {"golden", golden},
                 {"records", data},
                 {"recipients", recipient_list},
                 {"consents", consents["consents"]},
                 {"disclosures", disclosures["disclosures"]},
                 {"aliases", aliases},
                 {"leaks", leaks},
                 {"events", events}};
  for (const auto& [name, part] : access_report_parts_) {
    ASSIGN_OR_RETURN(report[name], part(person));
  }
  RETURN_IF_ERROR(audit_.Append(Entry(
      by, "person.access_report", person,
      {{"records", view["records"].size()}, {"disclosures", disclosures["disclosures"].size()}})));
  return report;
}

Result<Json> Ledger::Erase(const std::string& person, const auth::Principal& by,
                           const std::string& reason) {
  std::lock_guard<std::mutex> lock(disclose_mu_);
  return EraseLocked(person, by, reason);
}

void Ledger::AddAccessReportPart(std::string name, AccessReportPart part) {
  access_report_parts_.emplace_back(std::move(name), std::move(part));
}

void Ledger::AddErasureStep(std::string name, ErasureStep step) {
  erasure_steps_.emplace_back(std::move(name), std::move(step));
}

Result<Json> Ledger::EraseLocked(const std::string& subject, const auth::Principal& by,
                                 const std::string& reason) {
  Json erasure;
  profiles::Actor actor{"user", by.name.empty() ? by.token_id : by.name};
  ASSIGN_OR_RETURN(std::string person_id, PersonOf(subject));
  // Read before: the callback runs under the profiles lock. The ids merged into the person
  // keep ledger data of it (aliases, disclosures) too.
  ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person_id));
  // Every form that names her and no one else (a bare key or an e-mail address two persons
  // share names neither): the events, cases and preferences kept under it are hers.
  ASSIGN_OR_RETURN(auto subjects, profiles_.SubjectsOf(person_id));
  auto erased = profiles_.ErasePerson(person_id, actor, [&](const Json& view) -> Status {
    // The person document is gone now and cannot be erased again: from here on every part is
    // tried even when another failed, and the erasure record says what happened.
    std::string person = view["id"];
    std::string id = ids_.Next("era");
    Json steps = Json::object();       // part -> what it did
    Json incomplete = Json::object();  // part -> why it failed (its data may be left)
    Json warnings = Json::array();     // clean-up after the data was committed that failed
    store::Erasure e;
    for (const auto& r : view["records"]) e.record_ids.push_back(r["id"]);
    for (const auto& ev : view["events"]) e.event_ids.push_back(ev["id"]);
    // The view lists the latest events only: every event that names the person in a subject
    // form profiles resolves (README "Subjects") is emptied in the log — its ids, its records'
    // ids, "source:key" and bare keys, and its contact points.
    e.event_links = subjects;  // its ids first (SubjectsOf), then the other forms
    std::set<std::string> needles = IdentifyingValues(view);
    // Aliases go with the address they stand for; the register keeps who got one.
    Status aliases = [&]() -> Status {
      ASSIGN_OR_RETURN(auto alias_docs, PersonDocuments(store_, kPersonAlias, ids));
      store::WriteBatch forget;
      for (const auto& d : alias_docs) {
        ASSIGN_OR_RETURN(Json a, ParseJson(d.body));
        std::string alias = a.value("alias", "");
        if (alias.size() >= 3) needles.insert(alias);
        forget.deletes.emplace_back(kAlias, alias);
        forget.deletes.emplace_back(kPersonAlias, d.id);
      }
      steps["aliases"] = alias_docs.size();
      return store_.Write(forget);
    }();
    if (!aliases.ok()) incomplete["aliases"] = aliases.ToString();
    for (const auto& n : needles) {
      if (n.size() >= 3) e.needles.push_back(n);
    }
    // The steps get every event about the person, not only the view's latest (a case keeps an
    // annotation per order): those whose subject is one of its ids or source keys.
    std::vector<std::string> events = e.event_ids;
    Status all_events = [&]() -> Status {
      for (const auto& subject : e.event_links) {
        if (subject.empty()) continue;
        int64_t after = 0;
        do {
          ASSIGN_OR_RETURN(auto page,
                           store_.ListEvents({.subject = subject, .after = after, .limit = 1000}));
          for (const auto& ev : page.events) events.push_back(ev.id);
          after = page.next_after;
        } while (after != 0);
      }
      return OkStatus();
    }();
    if (!all_events.ok()) incomplete["events"] = all_events.ToString();  // the steps get the view's
    std::sort(events.begin(), events.end());
    events.erase(std::unique(events.begin(), events.end()), events.end());
    ErasureScope scope{id, person, ids, subjects, e.needles, std::move(events), clock_.Now()};
    for (const auto& [name, step] : erasure_steps_) {
      Result<Json> done = step(scope, e);
      if (done.ok()) {
        steps[name] = std::move(*done);
      } else {
        incomplete[name] = done.status().ToString();
      }
    }
    Json changed = nullptr;
    if (auto counts = store_.Erase(e); counts.ok()) {
      changed = {{"records", counts->records},
                 {"events", counts->events},
                 {"documents", counts->documents},
                 {"queue_items", counts->queue_items},
                 {"log_lines", counts->log_lines}};
      for (const auto& w : counts->warnings) warnings.push_back(w);
    } else {
      incomplete["store"] = counts.status().ToString();
    }
    // Recipients the erasure must be passed on to (Art. 19).
    std::set<std::string> notify;
    Status listed = [&]() -> Status {
      ASSIGN_OR_RETURN(auto disclosures, PersonDocuments(store_, kDisclosure, ids));
      for (const auto& doc : disclosures) {
        ASSIGN_OR_RETURN(Json d, ParseJson(doc.body));
        if (d.value("allowed", false)) notify.insert(d.value("recipient", ""));
      }
      return OkStatus();
    }();
    if (!listed.ok()) incomplete["notify_recipients"] = listed.ToString();
    erasure = {{"id", id},
               {"person", person},
               {"at", FormatTime(scope.at)},
               {"by", by.name.empty() ? by.token_id : by.name},
               {"reason", reason},
               {"records", e.record_ids},
               {"events", e.event_ids.size()},
               {"changed", changed},
               {"steps", steps},
               {"notify_recipients", notify},
               {"kept",
                "this record, the consents and the disclosure register (ids, purposes, "
                "recipients, field names) and the audit log, as proof of lawful processing; of "
                "cases and service documents what shows that they existed (type, team, states, "
                "dates, SLAs, field names; the appliance, its region and its repairs), their "
                "texts and values blanked"}};
    if (!warnings.empty()) erasure["warnings"] = warnings;
    if (!incomplete.empty()) erasure["incomplete"] = incomplete;
    for (const auto& w : warnings) {
      spdlog::warn("erasure {} of {}: {}", id, person, w.get<std::string>());
    }
    for (const auto& [part, why] : incomplete.items()) {
      spdlog::error("erasure {} of {}: {} failed: {}", id, person, part, why.get<std::string>());
    }
    store::WriteBatch batch;
    batch.puts.push_back({{kErasure, id, erasure.dump(), 0}, 0});
    Json detail = {{"erasure", id},
                   {"reason", reason},
                   {"records", e.record_ids.size()},
                   {"events", e.event_ids.size()}};
    if (!incomplete.empty()) detail["incomplete"] = incomplete;
    RETURN_IF_ERROR(
        audit_.Append({Entry(by, "erasure", person, std::move(detail))}, std::move(batch)));
    if (!incomplete.empty()) {
      std::string parts;
      for (const auto& [part, why] : incomplete.items()) {
        parts += (parts.empty() ? "" : "; ") + part + ": " + why.get<std::string>();
      }
      return Internal("erasure " + id + " of " + person + " is recorded but incomplete: " + parts);
    }
    return OkStatus();
  });
  if (!erased.ok()) return erased.status();
  return erasure;
}

Result<Json> Ledger::RunRetention(const auth::Principal& by) {
  ASSIGN_OR_RETURN(auto retention, RetentionDays());
  Json erased = Json::array();
  if (retention.empty()) return Json{{"checked", 0}, {"erased", erased}};
  ASSIGN_OR_RETURN(auto docs, AllDocuments(store_, "person", ""));
  Time now = clock_.Now();
  size_t checked = 0;
  for (const auto& doc : docs) {
    auto view = profiles_.GetPerson(doc.id, 0);
    if (!view.ok()) continue;  // erased or merged meanwhile
    ++checked;
    std::string person = (*view)["id"];
    ASSIGN_OR_RETURN(auto ids, profiles_.AllIds(person));
    ASSIGN_OR_RETURN(auto consents, ActiveConsents(ids));
    bool all_expired = !(*view)["records"].empty();
    for (const auto& r : (*view)["records"]) {
      ASSIGN_OR_RETURN(Time received, ParseTime(r.value("received_at", "")));
      ASSIGN_OR_RETURN(Json prov, Provenance(r.value("source", ""), received, FieldsOf(r)));
      ASSIGN_OR_RETURN(Time collected, ParseTime(prov["collected_at"].get<std::string>()));
      bool expired = !prov["purposes"].empty();
      for (const auto& p : prov["purposes"]) {
        auto rule = retention.find(p.get<std::string>());
        if (rule == retention.end()) {
          expired = false;
          break;
        }
        // A later consent for the purpose starts its period again.
        Time from = collected;
        for (const auto& c : consents) {
          if (Contains(c["purposes"], p.get<std::string>())) {
            if (auto t = ParseTime(c.value("given_at", "")); t.ok()) from = std::max(from, *t);
          }
        }
        if (from + std::chrono::hours(24 * rule->second) > now) expired = false;
      }
      all_expired = all_expired && expired;
    }
    if (!all_expired) continue;
    std::lock_guard<std::mutex> lock(disclose_mu_);
    Result<Json> e = EraseLocked(person, by, "retention");
    // Erased meanwhile (by hand, or by another server's run of the same day): done.
    if (!e.ok() && e.status().code() == StatusCode::kNotFound) continue;
    RETURN_IF_ERROR(e.status());
    erased.push_back({{"person", person}, {"erasure", (*e)["id"]}});
  }
  return Json{{"checked", checked}, {"erased", erased}};
}

Result<Json> Ledger::RunRetentionIfDue() {
  std::lock_guard<std::mutex> lock(retention_mu_);
  Time now = clock_.Now();
  if (retention_due_ && now < *retention_due_) return Json(nullptr);
  ASSIGN_OR_RETURN(auto last, store_.GetSetting(kRetentionLastRun));
  if (last) {
    ASSIGN_OR_RETURN(Time at, ParseTime(*last));
    retention_due_ = at + std::chrono::hours(24);
    if (now < *retention_due_) return Json(nullptr);
  }
  Result<Json> run = RunRetention(SystemActor());
  if (!run.ok()) {
    // Not marked as run, so another server or a restart tries again at once; this server
    // pauses instead of failing on every round of its worker.
    retention_due_ = now + std::chrono::minutes(10);
    return run.status();
  }
  RETURN_IF_ERROR(store_.PutSetting(kRetentionLastRun, FormatTime(now)));
  retention_due_ = now + std::chrono::hours(24);
  return run;
}

}  // namespace rapport::privacy

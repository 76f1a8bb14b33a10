// Assets, partners, work orders, service records and briefings on the store's documents.
// Access is decided from the asset document alone (its work-order list), so a read costs one
// document fetch before anything is disclosed, and every refusal looks like "does not exist".
#include "service/service.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_set>

namespace rapport::service {

namespace {

constexpr char kModel[] = "svc-model";
constexpr char kPartner[] = "svc-partner";
constexpr char kAsset[] = "svc-asset";
constexpr char kSerial[] = "svc-serial";
constexpr char kAssetByOwner[] = "svc-asset-by-owner";
constexpr char kWorkOrder[] = "svc-wo";
constexpr char kWorkOrderByOrg[] = "svc-wo-by-org";
constexpr char kRecord[] = "svc-record";
constexpr char kParts[] = "svc-parts";
constexpr int kMaxRetries = 20;
constexpr int kPage = 1000;

// The owner's data a technician needs for the visit, and nothing more.
const char* const kContactFields[] = {"given_name",   "surname",       "street",
                                      "house_number", "address_extra", "postcode",
                                      "city",         "phone",         "email"};

bool IsPartner(const auth::Principal& p) { return p.role == store::Role::kPartner; }

// One text for "does not exist" and "not yours", so a refusal reveals nothing.
Status NoAsset(const std::string& id) { return NotFound("no asset " + id, "id"); }
Status NoWorkOrder(const std::string& id) { return NotFound("no work order " + id, "id"); }

struct Loaded {
  Json body;
  int64_t revision = 0;
};

Result<std::optional<Loaded>> Load(store::Store& store, std::string_view kind,
                                   std::string_view id) {
  ASSIGN_OR_RETURN(auto doc, store.GetDocument(kind, id));
  if (!doc) return std::optional<Loaded>();
  auto j = ParseJson(doc->body);
  if (!j.ok())
    return DataLoss("stored " + std::string(kind) + " " + std::string(id) + " is not JSON");
  return std::optional<Loaded>(Loaded{std::move(*j), doc->revision});
}

store::WriteBatch::Put PutOf(std::string kind, std::string id, const Json& body, int64_t expected) {
  return {store::Document{std::move(kind), std::move(id), body.dump(), 0}, expected};
}

Result<std::vector<std::string>> StringList(const Json& body, const std::string& key,
                                            bool required) {
  std::vector<std::string> out;
  if (!body.contains(key)) {
    if (required) return InvalidArgument(key + " is required (a list of strings)", key);
    return out;
  }
  if (!body[key].is_array()) return InvalidArgument(key + " must be a list of strings", key);
  for (const auto& v : body[key]) {
    if (!v.is_string() || v.get<std::string>().empty()) {
      return InvalidArgument(key + " must be a list of non-empty strings", key);
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::string> NonEmpty(const Json& body, const std::string& key) {
  ASSIGN_OR_RETURN(std::string v, RequiredString(body, key));
  if (v.empty()) return InvalidArgument(key + " must not be empty", key);
  return v;
}

std::string Opt(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

bool Contains(const Json& list, const std::string& v) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(), [&](const Json& x) { return x == v; });
}

}  // namespace

struct ServiceNetwork::Impl {
  store::Store& store;
  const Clock& clock;
  IdSource& ids;
  privacy::AuditLog& audit;
  profiles::ProfileService* profiles;
  Options options;
  // Every repair updates the same "global" count document: writers of one process take turns
  // instead of failing each other's revision checks (other processes still retry).
  std::mutex repair_mu;

  privacy::AuditEntry Entry(const auth::Principal& caller, std::string action, std::string subject,
                            Json detail) {
    privacy::AuditEntry e;
    e.actor = caller.token_id.empty() ? "system" : caller.token_id;
    e.actor_role = caller.token_id.empty() ? "system" : std::string(store::RoleName(caller.role));
    e.actor_org = caller.org;
    e.action = std::move(action);
    e.subject = std::move(subject);
    e.detail = std::move(detail);
    return e;
  }

  // Invariant 1: an open work order of the caller's organisation, or one closed within the
  // access window.
  bool MaySee(const Json& asset, const auth::Principal& caller) const {
    if (!IsPartner(caller)) return true;
    if (caller.org.empty() || !asset.contains("work_orders")) return false;
    Time now = clock.Now();
    for (const auto& wo : asset["work_orders"]) {
      if (Opt(wo, "partner") != caller.org) continue;
      if (Opt(wo, "status") == "open") return true;
      auto closed = ParseTime(Opt(wo, "closed_at"));
      if (closed.ok() && now - *closed <= options.access_window) return true;
    }
    return false;
  }

  // The asset if the caller may see it; NoAsset otherwise. A refused partner read is audited.
  Result<Loaded> AssetFor(const std::string& id, const auth::Principal& caller,
                          const char* action) {
    ASSIGN_OR_RETURN(auto asset, Load(store, kAsset, id));
    if (asset && MaySee(asset->body, caller)) return std::move(*asset);
    if (IsPartner(caller)) {
      RETURN_IF_ERROR(audit.Append(
          Entry(caller, std::string(action) + ".refused", id, {{"reason", "no work order"}})));
    }
    return NoAsset(id);
  }

  // The asset as shown: staff see its work-order list, partners do not (other partners').
  Json AssetView(const Json& asset, const auth::Principal& caller) const {
    Json out = asset;
    if (IsPartner(caller)) out.erase("work_orders");
    return out;
  }

  // {"id", "contact": {...}} with the fields a visit needs; the names of the fields given
  // go to `disclosed` for the audit entry.
  Json OwnerContact(const std::string& owner, std::vector<std::string>* disclosed) {
    if (owner.empty()) return nullptr;
    Json out = {{"id", owner}, {"contact", nullptr}};
    if (!profiles) return out;
    auto person = profiles->GetPerson(owner, 0);
    if (!person.ok()) return out;
    Json contact = Json::object();
    const Json& golden = (*person)["golden"];
    for (const char* f : kContactFields) {
      if (golden.contains(f) && golden[f].is_object() && golden[f].contains("value")) {
        contact[f] = golden[f]["value"];
        disclosed->push_back(f);
      }
    }
    out["id"] = (*person)["id"];
    out["contact"] = contact;
    return out;
  }

  // The owner as shown to `caller`, with `data` (what else of the owner's the read hands
  // over) and, when `with_contact`, the contact data a visit needs. Staff: OwnerContact.
  // A partner: invariant 5, through the ledger's gate, which refuses with kPermissionDenied.
  // Null for an asset without an owner (nothing personal to disclose).
  Result<Json> OwnerFor(const Json& asset, const auth::Principal& caller, bool with_contact,
                        std::vector<std::string> data, const char* via,
                        std::vector<std::string>* disclosed) {
    std::string owner = Opt(asset, "owner");
    if (!IsPartner(caller)) {
      return with_contact ? OwnerContact(owner, disclosed) : Json(nullptr);
    }
    if (owner.empty()) return Json(nullptr);
    if (!options.partner_gate) {
      return PermissionDenied(
          "no disclosure gate is configured, so no owner's data goes to a partner");
    }
    privacy::DisclosureRequest request;
    request.person = owner;
    request.purpose = privacy::kServiceVisitPurpose;
    if (with_contact) request.fields.assign(std::begin(kContactFields), std::end(kContactFields));
    request.via = via;
    request.data = std::move(data);
    auto granted = options.partner_gate(std::move(request), caller);
    if (!granted.ok() && granted.status().code() == StatusCode::kNotFound) {
      // The owner was erased: no personal data left to hand over.
      return Json{{"id", owner}, {"contact", nullptr}};
    }
    RETURN_IF_ERROR(granted.status());
    Json contact = granted->value("fields", Json::object());
    for (const auto& [name, _] : contact.items()) disclosed->push_back(name);
    Json out = {{"id", (*granted)["person"]}, {"disclosure", (*granted)["disclosure"]}};
    if (with_contact) out["contact"] = std::move(contact);
    return out;
  }

  Result<Json> Records(const std::string& asset_id) {
    Json out = Json::array();
    std::string after;
    for (;;) {
      ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kRecord, asset_id + "|", after, kPage));
      for (const auto& d : docs) {
        auto j = ParseJson(d.body);
        if (!j.ok()) return DataLoss("stored service record " + d.id + " is not JSON");
        out.push_back(std::move(*j));
      }
      if (docs.size() < static_cast<size_t>(kPage)) break;
      after = docs.back().id;
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Json& a, const Json& b) { return Opt(a, "date") < Opt(b, "date"); });
    return out;
  }

  Result<std::array<Loaded, kLevels>> LoadCounts(const std::array<std::string, kLevels>& keys) {
    std::array<Loaded, kLevels> out;
    for (int k = 0; k < kLevels; ++k) {
      ASSIGN_OR_RETURN(auto doc, Load(store, kParts, keys[k]));
      if (doc) {
        out[k] = std::move(*doc);
      } else {
        out[k] = {LevelCounts().ToJson(), 0};
      }
    }
    return out;
  }

  Result<RepairContext> ContextOf(const Json& asset, const std::string& category, Time at) {
    RepairContext c;
    c.model = Opt(asset, "model");
    ASSIGN_OR_RETURN(auto model, Load(store, kModel, c.model));
    c.family = model ? Opt(model->body, "family") : std::string();
    c.symptom = SymptomKey(category);
    auto purchased = ParseTime(Opt(asset, "purchased"));
    c.age_band = purchased.ok() ? AgeBand(*purchased, at) : "unknown";
    return c;
  }

  Result<Loaded> Partner(const std::string& org) {
    ASSIGN_OR_RETURN(auto p, Load(store, kPartner, org));
    if (!p) return InvalidArgument("unknown partner " + org, "partner");
    return std::move(*p);
  }
};

ServiceNetwork::ServiceNetwork(store::Store& store, const Clock& clock, IdSource& ids,
                               privacy::AuditLog& audit, profiles::ProfileService* profiles,
                               Options options)
    : impl_(new Impl{store, clock, ids, audit, profiles, std::move(options)}) {}

ServiceNetwork::~ServiceNetwork() = default;

// --- Catalogue and partners -----------------------------------------------------------------

Result<Json> ServiceNetwork::PutModel(const Json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  ASSIGN_OR_RETURN(std::string model, NonEmpty(body, "model"));
  ASSIGN_OR_RETURN(std::string family, NonEmpty(body, "family"));
  ASSIGN_OR_RETURN(std::string line, NonEmpty(body, "product_line"));
  ASSIGN_OR_RETURN(auto parts, StringList(body, "parts", true));
  Json out = {{"model", model}, {"family", family}, {"product_line", line}, {"parts", parts}};
  store::WriteBatch batch;
  batch.puts.push_back(PutOf(kModel, model, out, -1));
  RETURN_IF_ERROR(impl_->store.Write(batch));
  return out;
}

Result<Json> ServiceNetwork::GetModel(const std::string& model) {
  ASSIGN_OR_RETURN(auto m, Load(impl_->store, kModel, model));
  if (!m) return NotFound("no model " + model, "model");
  return m->body;
}

Result<Json> ServiceNetwork::PutPartner(const Json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  ASSIGN_OR_RETURN(std::string org, NonEmpty(body, "org"));
  ASSIGN_OR_RETURN(auto name, OptionalString(body, "name"));
  ASSIGN_OR_RETURN(auto lines, StringList(body, "product_lines", true));
  ASSIGN_OR_RETURN(auto regions, StringList(body, "regions", true));
  Json technicians = Json::array();
  if (body.contains("technicians")) {
    if (!body["technicians"].is_array()) {
      return InvalidArgument("technicians must be a list of {id, name}", "technicians");
    }
    for (const auto& t : body["technicians"]) {
      if (!t.is_object())
        return InvalidArgument("technicians must be a list of {id, name}", "technicians");
      ASSIGN_OR_RETURN(std::string id, NonEmpty(t, "id"));
      ASSIGN_OR_RETURN(auto tname, OptionalString(t, "name"));
      technicians.push_back({{"id", id}, {"name", tname.value_or("")}});
    }
  }
  Json out = {{"org", org},
              {"name", name.value_or(org)},
              {"product_lines", lines},
              {"regions", regions},
              {"technicians", technicians}};
  store::WriteBatch batch;
  batch.puts.push_back(PutOf(kPartner, org, out, -1));
  RETURN_IF_ERROR(impl_->store.Write(batch));
  return out;
}

Result<Json> ServiceNetwork::ListPartners() {
  Json out = Json::array();
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto docs, impl_->store.ListDocuments(kPartner, "", after, kPage));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
      out.push_back(std::move(j));
    }
    if (docs.size() < static_cast<size_t>(kPage)) break;
    after = docs.back().id;
  }
  return Json{{"partners", out}};
}

// --- Assets -----------------------------------------------------------------------------------

Result<Json> ServiceNetwork::CreateAsset(const Json& body, const auth::Principal& caller) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  ASSIGN_OR_RETURN(std::string model, NonEmpty(body, "model"));
  ASSIGN_OR_RETURN(std::string serial, NonEmpty(body, "serial"));
  ASSIGN_OR_RETURN(Time purchased, RequiredTime(body, "purchased"));
  ASSIGN_OR_RETURN(auto installed, OptionalTime(body, "installed"));
  ASSIGN_OR_RETURN(auto owner, OptionalString(body, "owner"));
  if (!body.contains("location") || !body["location"].is_object()) {
    return InvalidArgument("location is required: {region, postcode, city}", "location");
  }
  const Json& loc = body["location"];
  ASSIGN_OR_RETURN(std::string region, NonEmpty(loc, "region"));
  Json location = {{"region", region}};
  for (const char* f : {"postcode", "city", "street"}) {
    ASSIGN_OR_RETURN(auto v, OptionalString(loc, f, "location"));
    if (v) location[f] = *v;
  }
  ASSIGN_OR_RETURN(auto m, Load(impl_->store, kModel, model));
  if (!m) return InvalidArgument("unknown model " + model + " (add it to the catalogue)", "model");
  if (owner && !owner->empty() && impl_->profiles) {
    auto person = impl_->profiles->GetPerson(*owner, 0);
    if (!person.ok()) {
      if (person.status().code() == StatusCode::kNotFound) {
        return InvalidArgument("unknown person " + *owner, "owner");
      }
      return person.status();
    }
  }
  std::string id = impl_->ids.Next("ast");
  Json asset = {{"id", id},
                {"model", model},
                {"family", m->body["family"]},
                {"product_line", m->body["product_line"]},
                {"serial", serial},
                {"purchased", FormatTime(purchased)},
                {"owner", owner.value_or("")},
                {"location", location},
                {"created_at", FormatTime(impl_->clock.Now())},
                {"work_orders", Json::array()}};
  if (installed) asset["installed"] = FormatTime(*installed);
  store::WriteBatch batch;
  batch.puts.push_back(PutOf(kAsset, id, asset, 0));
  batch.puts.push_back(PutOf(kSerial, serial, {{"asset", id}}, 0));
  if (owner && !owner->empty()) {
    batch.puts.push_back(PutOf(kAssetByOwner, *owner + "|" + id, Json::object(), 0));
  }
  Status s = impl_->store.Write(batch);
  if (s.code() == StatusCode::kAborted) {
    return AlreadyExists("an asset with serial " + serial + " is already registered", "serial");
  }
  RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(
      impl_->audit.Append(impl_->Entry(caller, "asset.create", id, {{"model", model}})));
  return impl_->AssetView(asset, caller);
}

Result<Json> ServiceNetwork::GetAsset(const std::string& id, const auth::Principal& caller) {
  ASSIGN_OR_RETURN(Loaded asset, impl_->AssetFor(id, caller, "asset.read"));
  std::vector<std::string> disclosed;
  Json out = impl_->AssetView(asset.body, caller);
  ASSIGN_OR_RETURN(out["owner"],
                   impl_->OwnerFor(asset.body, caller, /*with_contact=*/true, {"asset.location"},
                                   "GET /v1/assets/{id}", &disclosed));
  RETURN_IF_ERROR(
      impl_->audit.Append(impl_->Entry(caller, "asset.read", id, {{"owner_fields", disclosed}})));
  return out;
}

Result<Json> ServiceNetwork::FindAssets(const std::string& serial, const std::string& owner,
                                        const auth::Principal& caller) {
  if (serial.empty() && owner.empty()) {
    return InvalidArgument("give ?serial= or ?owner=", "serial");
  }
  std::vector<std::string> ids;
  if (!serial.empty()) {
    ASSIGN_OR_RETURN(auto s, Load(impl_->store, kSerial, serial));
    if (s) ids.push_back(Opt(s->body, "asset"));
  } else {
    std::string after;
    for (;;) {
      ASSIGN_OR_RETURN(auto docs,
                       impl_->store.ListDocuments(kAssetByOwner, owner + "|", after, kPage));
      for (const auto& d : docs) ids.push_back(d.id.substr(owner.size() + 1));
      if (docs.size() < static_cast<size_t>(kPage)) break;
      after = docs.back().id;
    }
  }
  Json results = Json::array();
  std::vector<privacy::AuditEntry> entries;
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(auto asset, Load(impl_->store, kAsset, id));
    // Invariant 1: a search must not reveal an asset the caller may not see, not even by count.
    if (!asset || !impl_->MaySee(asset->body, caller)) continue;
    // Invariant 5: the asset's location is its owner's address. A refused hand-over is
    // recorded by the gate and leaves the asset out, as an export leaves a refused person out.
    std::vector<std::string> none;
    auto owner =
        impl_->OwnerFor(asset->body, caller, false, {"asset.location"}, "GET /v1/assets", &none);
    if (!owner.ok() && owner.status().code() == StatusCode::kPermissionDenied) continue;
    RETURN_IF_ERROR(owner.status());
    results.push_back(impl_->AssetView(asset->body, caller));
    entries.push_back(
        impl_->Entry(caller, "asset.search", id, {{"by", serial.empty() ? "owner" : "serial"}}));
  }
  if (!entries.empty()) RETURN_IF_ERROR(impl_->audit.Append(std::move(entries)));
  return Json{{"assets", results}};
}

Result<bool> ServiceNetwork::ServesOwner(const std::vector<std::string>& person_ids,
                                         const auth::Principal& partner) {
  if (!IsPartner(partner)) return true;
  for (const auto& person : person_ids) {
    std::string after;
    for (;;) {
      ASSIGN_OR_RETURN(auto docs,
                       impl_->store.ListDocuments(kAssetByOwner, person + "|", after, kPage));
      for (const auto& d : docs) {
        ASSIGN_OR_RETURN(auto asset, Load(impl_->store, kAsset, d.id.substr(person.size() + 1)));
        if (asset && impl_->MaySee(asset->body, partner)) return true;
      }
      if (docs.size() < static_cast<size_t>(kPage)) break;
      after = docs.back().id;
    }
  }
  return false;
}

Result<Json> ServiceNetwork::History(const std::string& asset_id, const auth::Principal& caller) {
  ASSIGN_OR_RETURN(Loaded asset, impl_->AssetFor(asset_id, caller, "asset.history.read"));
  std::vector<std::string> none;
  RETURN_IF_ERROR(impl_
                      ->OwnerFor(asset.body, caller, false, {"service.history"},
                                 "GET /v1/assets/{id}/history", &none)
                      .status());
  ASSIGN_OR_RETURN(Json records, impl_->Records(asset_id));
  RETURN_IF_ERROR(impl_->audit.Append(
      impl_->Entry(caller, "asset.history.read", asset_id, {{"records", records.size()}})));
  return Json{{"asset", asset_id}, {"records", records}};
}

// --- Work orders ------------------------------------------------------------------------------

Result<Json> ServiceNetwork::CreateWorkOrder(const Json& body, const auth::Principal& caller) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  ASSIGN_OR_RETURN(std::string asset_id, NonEmpty(body, "asset"));
  ASSIGN_OR_RETURN(std::string symptom, NonEmpty(body, "symptom"));
  ASSIGN_OR_RETURN(auto category, OptionalString(body, "category"));
  ASSIGN_OR_RETURN(auto source, OptionalString(body, "source"));
  ASSIGN_OR_RETURN(auto partner, OptionalString(body, "partner"));
  std::string src = source.value_or("agent");
  if (src != "online" && src != "agent") {
    return InvalidArgument("source must be \"online\" or \"agent\"", "source");
  }
  std::string id = impl_->ids.Next("wo");
  for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
    ASSIGN_OR_RETURN(auto asset, Load(impl_->store, kAsset, asset_id));
    if (!asset) return InvalidArgument("no asset " + asset_id, "asset");
    std::string line = Opt(asset->body, "product_line");
    std::string region = Opt(asset->body["location"], "region");
    std::string org = partner.value_or("");
    if (org.empty()) {
      // An online report names no partner: the first certified one (by org id) gets it.
      ASSIGN_OR_RETURN(Json all, ListPartners());
      for (const auto& p : all["partners"]) {
        if (Contains(p["product_lines"], line) && Contains(p["regions"], region)) {
          org = p["org"];
          break;
        }
      }
      if (org.empty()) {
        return FailedPrecondition("no partner is certified for " + line + " in region " + region,
                                  "partner");
      }
    } else {
      ASSIGN_OR_RETURN(Loaded p, impl_->Partner(org));
      if (!Contains(p.body["product_lines"], line) || !Contains(p.body["regions"], region)) {
        return FailedPrecondition(
            "partner " + org + " is not certified for " + line + " in region " + region, "partner");
      }
    }
    Time now = impl_->clock.Now();
    Json wo = {{"id", id},
               {"asset", asset_id},
               {"partner", org},
               {"status", "open"},
               {"source", src},
               {"symptom", symptom},
               {"category",
                SymptomKey(category && !category->empty() ? *category : SymptomFromText(symptom))},
               {"category_from", category && !category->empty() ? "report" : "symptom text"},
               {"created_at", FormatTime(now)},
               {"created_by", caller.name.empty() ? caller.token_id : caller.name}};
    Json updated = asset->body;
    updated["work_orders"].push_back({{"id", id}, {"partner", org}, {"status", "open"}});
    store::WriteBatch batch;
    batch.puts.push_back(PutOf(kWorkOrder, id, wo, 0));
    batch.puts.push_back(PutOf(kWorkOrderByOrg, org + "|" + id, Json::object(), 0));
    batch.puts.push_back(PutOf(kAsset, asset_id, updated, asset->revision));
    Status s = impl_->audit.Append({impl_->Entry(caller, "work_order.create", asset_id,
                                                 {{"work_order", id}, {"partner", org}})},
                                   std::move(batch));
    if (s.code() == StatusCode::kAborted) continue;  // the asset changed meanwhile
    RETURN_IF_ERROR(s);
    return wo;
  }
  return Aborted("asset " + asset_id + " kept changing; try again");
}

Result<Json> ServiceNetwork::GetWorkOrder(const std::string& id, const auth::Principal& caller) {
  ASSIGN_OR_RETURN(auto wo, Load(impl_->store, kWorkOrder, id));
  if (!IsPartner(caller)) {
    if (!wo) return NoWorkOrder(id);
    RETURN_IF_ERROR(impl_->audit.Append(impl_->Entry(caller, "work_order.read", id, {})));
    return wo->body;
  }
  // The symptom is the customer's own words: a partner reads it under the same rule as the
  // asset (its order, open or within the window), and every attempt is audited.
  bool visible = wo && Opt(wo->body, "partner") == caller.org;
  std::optional<Loaded> asset;
  if (visible) {
    ASSIGN_OR_RETURN(asset, Load(impl_->store, kAsset, Opt(wo->body, "asset")));
    visible = asset && impl_->MaySee(asset->body, caller);
  }
  if (!visible) {
    RETURN_IF_ERROR(impl_->audit.Append(impl_->Entry(caller, "work_order.read.refused", id, {})));
    return NoWorkOrder(id);
  }
  // The gate first: a read it refuses is audited as refused, not as read.
  std::vector<std::string> none;
  Status granted = impl_
                       ->OwnerFor(asset->body, caller, false, {"work_order.symptom"},
                                  "GET /v1/work-orders/{id}", &none)
                       .status();
  if (granted.code() == StatusCode::kPermissionDenied) {
    RETURN_IF_ERROR(impl_->audit.Append(
        impl_->Entry(caller, "work_order.read.refused", id, {{"reason", "disclosure refused"}})));
  }
  RETURN_IF_ERROR(granted);
  RETURN_IF_ERROR(impl_->audit.Append(impl_->Entry(caller, "work_order.read", id, {})));
  return wo->body;
}

Result<Json> ServiceNetwork::ListWorkOrders(const std::string& status, int limit,
                                            const auth::Principal& caller) {
  if (!status.empty() && status != "open" && status != "closed") {
    return InvalidArgument("status must be open or closed", "status");
  }
  Json out = Json::array();
  std::string after;
  const bool partner = IsPartner(caller);
  const std::string prefix = partner ? caller.org + "|" : "";
  if (partner && caller.org.empty()) return Json{{"work_orders", out}};
  while (out.size() < static_cast<size_t>(limit)) {
    ASSIGN_OR_RETURN(auto docs, impl_->store.ListDocuments(partner ? kWorkOrderByOrg : kWorkOrder,
                                                           prefix, after, kPage));
    for (const auto& d : docs) {
      Json wo;
      if (partner) {
        ASSIGN_OR_RETURN(auto w, Load(impl_->store, kWorkOrder, d.id.substr(prefix.size())));
        if (!w) continue;
        wo = std::move(w->body);
      } else {
        ASSIGN_OR_RETURN(wo, ParseJson(d.body));
      }
      if (!status.empty() && Opt(wo, "status") != status) continue;
      // The customer's words are read one order at a time, through the disclosure gate
      // (GetWorkOrder); a partner's list carries none of them.
      if (partner) wo.erase("symptom");
      out.push_back(std::move(wo));
      if (out.size() >= static_cast<size_t>(limit)) break;
    }
    if (docs.size() < static_cast<size_t>(kPage)) break;
    after = docs.back().id;
  }
  return Json{{"work_orders", out}};
}

Result<Json> ServiceNetwork::CloseWorkOrder(const std::string& id, const Json& body,
                                            const auth::Principal& caller) {
  ASSIGN_OR_RETURN(auto outcome,
                   OptionalString(body.is_object() ? body : Json::object(), "outcome"));
  for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
    ASSIGN_OR_RETURN(auto wo, Load(impl_->store, kWorkOrder, id));
    if (!wo || (IsPartner(caller) && Opt(wo->body, "partner") != caller.org))
      return NoWorkOrder(id);
    if (Opt(wo->body, "status") != "open") {
      return FailedPrecondition("work order " + id + " is already closed");
    }
    std::string asset_id = Opt(wo->body, "asset");
    ASSIGN_OR_RETURN(auto asset, Load(impl_->store, kAsset, asset_id));
    if (!asset) return DataLoss("work order " + id + " names a missing asset " + asset_id);
    std::string now = FormatTime(impl_->clock.Now());
    wo->body["status"] = "closed";
    wo->body["closed_at"] = now;
    if (outcome) wo->body["outcome"] = *outcome;
    for (auto& entry : asset->body["work_orders"]) {
      if (Opt(entry, "id") == id) {
        entry["status"] = "closed";
        entry["closed_at"] = now;
      }
    }
    store::WriteBatch batch;
    batch.puts.push_back(PutOf(kWorkOrder, id, wo->body, wo->revision));
    batch.puts.push_back(PutOf(kAsset, asset_id, asset->body, asset->revision));
    Status s = impl_->store.Write(batch);
    if (s.code() == StatusCode::kAborted) continue;
    RETURN_IF_ERROR(s);
    if (IsPartner(caller)) wo->body.erase("symptom");  // as in the list (invariant 5)
    return wo->body;
  }
  return Aborted("work order " + id + " kept changing; try again");
}

// --- Erasure ---------------------------------------------------------------------------------

namespace {
constexpr char kErased[] = "[erased]";

// Replaces the texts at `keys` by kErased; returns whether anything changed.
bool BlankTexts(Json& doc, std::initializer_list<const char*> keys) {
  bool changed = false;
  for (const char* k : keys) {
    if (doc.contains(k) && doc[k].is_string() && doc[k] != kErased) {
      doc[k] = kErased;
      changed = true;
    }
  }
  return changed;
}
}  // namespace

Result<Json> ServiceNetwork::ErasePerson(const std::vector<std::string>& person_ids,
                                         std::string_view erasure_id) {
  store::Store& store = impl_->store;
  int64_t assets = 0, work_orders = 0, records = 0;
  // Changes one document by `fn` (false: nothing to change), retried on a concurrent change.
  auto rewrite = [&](std::string_view kind, const std::string& id,
                     const std::function<bool(Json&)>& fn) -> Result<bool> {
    for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
      ASSIGN_OR_RETURN(auto doc, Load(store, kind, id));
      if (!doc || !fn(doc->body)) return false;
      store::WriteBatch batch;
      batch.puts.push_back(PutOf(std::string(kind), id, doc->body, doc->revision));
      Status s = store.Write(batch);
      if (s.ok()) return true;
      if (s.code() != StatusCode::kAborted) return s;
    }
    return Aborted(std::string(kind) + " " + id + " kept changing during an erasure; erase again");
  };
  for (const auto& person : person_ids) {
    std::vector<std::string> owned;
    std::string after;
    for (;;) {
      ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kAssetByOwner, person + "|", after, kPage));
      for (const auto& d : docs) owned.push_back(d.id.substr(person.size() + 1));
      if (docs.size() < static_cast<size_t>(kPage)) break;
      after = docs.back().id;
    }
    for (const auto& asset_id : owned) {
      std::vector<std::string> orders;
      ASSIGN_OR_RETURN(bool changed, rewrite(kAsset, asset_id, [&](Json& a) {
                         orders.clear();
                         for (const auto& wo : a.value("work_orders", Json::array())) {
                           orders.push_back(Opt(wo, "id"));
                         }
                         Json location = {{"region", Opt(a["location"], "region")}};
                         if (a["location"] == location && a.contains("owner_erased")) return false;
                         a["location"] = std::move(location);
                         a["owner_erased"] = {{"erasure", erasure_id}};
                         return true;
                       }));
      assets += changed;
      for (const auto& wo : orders) {
        ASSIGN_OR_RETURN(
            changed, rewrite(kWorkOrder, wo, [](Json& w) { return BlankTexts(w, {"symptom"}); }));
        work_orders += changed;
      }
      std::string from;
      for (;;) {
        ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kRecord, asset_id + "|", from, kPage));
        for (const auto& d : docs) {
          ASSIGN_OR_RETURN(changed, rewrite(kRecord, d.id, [](Json& r) {
                             return BlankTexts(r, {"findings", "symptom"});
                           }));
          records += changed;
        }
        if (docs.size() < static_cast<size_t>(kPage)) break;
        from = docs.back().id;
      }
      store::WriteBatch unindex;
      unindex.deletes.emplace_back(kAssetByOwner, person + "|" + asset_id);
      RETURN_IF_ERROR(store.Write(unindex));
    }
  }
  return Json{{"assets", assets}, {"work_orders", work_orders}, {"service_records", records}};
}

// --- Service records and briefing --------------------------------------------------------------

Result<Json> ServiceNetwork::AddServiceRecord(const Json& body, const auth::Principal& caller) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  ASSIGN_OR_RETURN(std::string asset_id, NonEmpty(body, "asset"));
  ASSIGN_OR_RETURN(Time date, RequiredTime(body, "date"));
  ASSIGN_OR_RETURN(std::string kind, NonEmpty(body, "kind"));
  if (kind != "repair" && kind != "maintenance") {
    return InvalidArgument("kind must be \"repair\" or \"maintenance\"", "kind");
  }
  ASSIGN_OR_RETURN(std::string outcome, NonEmpty(body, "outcome"));
  ASSIGN_OR_RETURN(auto parts, StringList(body, "parts_used", false));
  ASSIGN_OR_RETURN(auto work_order, OptionalString(body, "work_order"));
  int64_t labour = 0;
  if (body.contains("labour_minutes")) {
    if (!body["labour_minutes"].is_number_integer() || body["labour_minutes"].get<int64_t>() < 0) {
      return InvalidArgument("labour_minutes must be a whole number of minutes >= 0",
                             "labour_minutes");
    }
    labour = body["labour_minutes"].get<int64_t>();
  }
  Json record = {{"asset", asset_id},  {"date", FormatTime(date)}, {"kind", kind},
                 {"outcome", outcome}, {"parts_used", parts},      {"labour_minutes", labour}};
  for (const char* f : {"findings", "symptom", "category", "technician"}) {
    ASSIGN_OR_RETURN(auto v, OptionalString(body, f));
    if (v) record[f] = *v;
  }
  if (IsPartner(caller)) {
    record["partner"] = caller.org;
  } else {
    ASSIGN_OR_RETURN(auto p, OptionalString(body, "partner"));
    record["partner"] = p.value_or("");
  }
  if (date > impl_->clock.Now()) return InvalidArgument("date lies in the future", "date");
  if (IsPartner(caller) && record.contains("technician")) {
    // A partner names its own technicians (when it has registered any).
    ASSIGN_OR_RETURN(auto partner, Load(impl_->store, kPartner, caller.org));
    if (partner && !partner->body["technicians"].empty()) {
      const Json& techs = partner->body["technicians"];
      bool known = std::any_of(techs.begin(), techs.end(),
                               [&](const Json& t) { return t["id"] == record["technician"]; });
      if (!known) {
        return InvalidArgument("technician " + record["technician"].get<std::string>() +
                                   " is not registered for partner " + caller.org,
                               "technician");
      }
    }
  }

  std::string id = impl_->ids.Next("svr");
  record["id"] = id;
  record["recorded_at"] = FormatTime(impl_->clock.Now());
  std::unique_lock<std::mutex> serialized(impl_->repair_mu, std::defer_lock);
  if (kind == "repair") serialized.lock();
  for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
    ASSIGN_OR_RETURN(Loaded asset, impl_->AssetFor(asset_id, caller, "service_record.create"));
    std::string category = Opt(record, "category");
    if (work_order) {
      ASSIGN_OR_RETURN(auto wo, Load(impl_->store, kWorkOrder, *work_order));
      // Same answer for a missing order and another partner's, as everywhere.
      if (!wo || Opt(wo->body, "asset") != asset_id ||
          (IsPartner(caller) && Opt(wo->body, "partner") != caller.org)) {
        return InvalidArgument("no work order " + *work_order + " for asset " + asset_id,
                               "work_order");
      }
      record["work_order"] = *work_order;
      if (category.empty()) category = Opt(wo->body, "category");
    }
    store::WriteBatch batch;
    batch.puts.push_back(PutOf(kRecord, asset_id + "|" + id, record, 0));
    if (kind == "repair") {
      // Invariant 4: the counts change in the same transaction as the record.
      ASSIGN_OR_RETURN(RepairContext context, impl_->ContextOf(asset.body, category, date));
      auto keys = LevelKeys(context);
      ASSIGN_OR_RETURN(auto levels, impl_->LoadCounts(keys));
      for (int k = 0; k < kLevels; ++k) {
        ASSIGN_OR_RETURN(LevelCounts c, LevelCounts::FromJson(levels[k].body));
        c.Add(parts);
        batch.puts.push_back(PutOf(kParts, keys[k], c.ToJson(), levels[k].revision));
      }
    }
    Status s = impl_->audit.Append(
        {impl_->Entry(caller, "service_record.create", asset_id, {{"record", id}, {"kind", kind}})},
        std::move(batch));
    if (s.code() == StatusCode::kAborted) continue;  // another repair updated the counts
    RETURN_IF_ERROR(s);
    return record;
  }
  return Aborted("the parts counts kept changing; try again");
}

Result<Json> ServiceNetwork::Briefing(const std::string& work_order_id,
                                      const auth::Principal& caller) {
  ASSIGN_OR_RETURN(auto wo, Load(impl_->store, kWorkOrder, work_order_id));
  if (!wo || (IsPartner(caller) && Opt(wo->body, "partner") != caller.org)) {
    if (IsPartner(caller)) {
      RETURN_IF_ERROR(
          impl_->audit.Append(impl_->Entry(caller, "work_order.briefing.read.refused",
                                           work_order_id, {{"reason", "not assigned"}})));
    }
    return NoWorkOrder(work_order_id);
  }
  std::string asset_id = Opt(wo->body, "asset");
  ASSIGN_OR_RETURN(auto asset, Load(impl_->store, kAsset, asset_id));
  // A closed order past the access window is as absent as any other.
  if (!asset || !impl_->MaySee(asset->body, caller)) {
    RETURN_IF_ERROR(
        impl_->audit.Append(impl_->Entry(caller, "work_order.briefing.read.refused", work_order_id,
                                         {{"reason", "outside access window"}})));
    return NoWorkOrder(work_order_id);
  }

  ASSIGN_OR_RETURN(Json history, impl_->Records(asset_id));
  Time now = impl_->clock.Now();
  ASSIGN_OR_RETURN(RepairContext context,
                   impl_->ContextOf(asset->body, Opt(wo->body, "category"), now));
  ASSIGN_OR_RETURN(auto model, Load(impl_->store, kModel, context.model));
  std::vector<std::string> candidates;
  if (model) {
    for (const auto& p : model->body["parts"]) candidates.push_back(p.get<std::string>());
  }
  auto keys = LevelKeys(context);
  ASSIGN_OR_RETURN(auto stored, impl_->LoadCounts(keys));
  std::array<LevelCounts, kLevels> levels;
  for (int k = 0; k < kLevels; ++k) {
    ASSIGN_OR_RETURN(levels[k], LevelCounts::FromJson(stored[k].body));
  }
  Json predicted = Json::array();
  int rank = 1;
  for (const auto& p : PredictParts(keys, levels, candidates, impl_->options.forecast)) {
    Json j = p.ToJson();
    j["rank"] = rank++;
    predicted.push_back(std::move(j));
  }
  std::vector<std::string> disclosed;
  ASSIGN_OR_RETURN(Json owner,
                   impl_->OwnerFor(asset->body, caller, /*with_contact=*/true,
                                   {"asset.location", "service.history", "work_order.symptom"},
                                   "GET /v1/work-orders/{id}/briefing", &disclosed));
  Json out = {
      {"work_order", wo->body},
      {"asset", impl_->AssetView(asset->body, caller)},
      {"owner", std::move(owner)},
      {"reported_symptom", {{"text", wo->body["symptom"]}, {"category", wo->body["category"]}}},
      {"context",
       {{"model", context.model},
        {"family", context.family},
        {"symptom", context.symptom},
        {"age_band", context.age_band}}},
      {"history", history},
      {"predicted_parts", predicted},
      {"generated_at", FormatTime(now)}};
  RETURN_IF_ERROR(impl_->audit.Append(impl_->Entry(
      caller, "work_order.briefing.read", asset_id,
      {{"work_order", work_order_id}, {"records", history.size()}, {"owner_fields", disclosed}})));
  return out;
}

// --- Bulk data and evaluation -----------------------------------------------------------------

Result<Json> ServiceNetwork::ImportGenerated(const GeneratorOptions& options,
                                             size_t batch_records) {
  // The same seed twice would count its repairs twice (invariant 4).
  std::string first = "ast_g" + std::to_string(options.seed) + "_0";
  ASSIGN_OR_RETURN(auto existing, impl_->store.GetDocument(kAsset, first));
  if (existing) {
    return AlreadyExists("the history of seed " + std::to_string(options.seed) +
                             " is already stored; use another seed",
                         "seed");
  }
  std::unordered_map<std::string, std::string> family_of, line_of;
  for (const auto& m : GeneratedCatalog()) {
    Json body = {{"model", m.model},
                 {"family", m.family},
                 {"product_line", m.product_line},
                 {"parts", m.parts}};
    RETURN_IF_ERROR(PutModel(body).status());
    family_of[m.model] = m.family;
    line_of[m.model] = m.product_line;
  }
  CountsTable counts;
  store::WriteBatch batch;
  size_t in_batch = 0, assets = 0, records = 0, repairs = 0;
  Status failed;
  auto flush = [&]() -> Status {
    if (batch.empty()) return OkStatus();
    Status s = impl_->store.Write(batch);
    batch = store::WriteBatch();
    in_batch = 0;
    return s;
  };
  const std::string created = FormatTime(impl_->clock.Now());
  GenerateHistory(options, [&](const GeneratedAsset& a, const std::vector<GeneratedRecord>& rs) {
    if (!failed.ok()) return;
    Json asset = {{"id", a.id},
                  {"model", a.model},
                  {"family", family_of[a.model]},
                  {"product_line", line_of[a.model]},
                  {"serial", a.serial},
                  {"purchased", FormatTime(a.purchased)},
                  {"owner", a.owner},
                  {"location", {{"region", a.region}, {"postcode", a.postcode}, {"city", a.city}}},
                  {"created_at", created},
                  {"work_orders", Json::array()}};
    batch.puts.push_back(PutOf(kAsset, a.id, asset, -1));
    batch.puts.push_back(PutOf(kSerial, a.serial, {{"asset", a.id}}, -1));
    batch.puts.push_back(PutOf(kAssetByOwner, a.owner + "|" + a.id, Json::object(), -1));
    ++assets;
    size_t n = 0;
    for (const auto& r : rs) {
      std::string id = "svr_" + a.id.substr(4) + "_" + std::to_string(n++);
      Json rec = {{"id", id},
                  {"asset", a.id},
                  {"date", FormatTime(r.date)},
                  {"kind", r.kind},
                  {"outcome", r.outcome},
                  {"parts_used", r.parts},
                  {"partner", r.partner},
                  {"labour_minutes", r.labour_minutes},
                  {"findings", r.findings}};
      if (!r.category.empty()) {
        rec["category"] = r.category;
        rec["symptom"] = r.symptom;
      }
      batch.puts.push_back(PutOf(kRecord, a.id + "|" + id, rec, -1));
      if (r.kind == "repair") {
        counts.Add(
            {a.model, family_of[a.model], SymptomKey(r.category), AgeBand(a.purchased, r.date)},
            r.parts);
        ++repairs;
      }
      ++records;
      ++in_batch;
    }
    if (in_batch >= batch_records) failed = flush();
  });
  RETURN_IF_ERROR(failed);
  RETURN_IF_ERROR(flush());
  // Add the generated counts to the stored ones, revision-checked like a live repair.
  std::vector<std::pair<std::string, LevelCounts>> all(counts.all().begin(), counts.all().end());
  for (size_t i = 0; i < all.size(); i += 500) {
    for (int attempt = 0;; ++attempt) {
      store::WriteBatch b;
      for (size_t j = i; j < std::min(all.size(), i + 500); ++j) {
        ASSIGN_OR_RETURN(auto doc, Load(impl_->store, kParts, all[j].first));
        LevelCounts c;
        if (doc) {
          ASSIGN_OR_RETURN(c, LevelCounts::FromJson(doc->body));
        }
        c.repairs += all[j].second.repairs;
        for (const auto& [p, n] : all[j].second.parts) c.parts[p] += n;
        b.puts.push_back(PutOf(kParts, all[j].first, c.ToJson(), doc ? doc->revision : 0));
      }
      Status s = impl_->store.Write(b);
      if (s.code() == StatusCode::kAborted && attempt < kMaxRetries) continue;
      RETURN_IF_ERROR(s);
      break;
    }
  }
  return Json{{"models", family_of.size()},
              {"assets", assets},
              {"records", records},
              {"repairs", repairs},
              {"count_keys", all.size()}};
}

Result<Evaluation> ServiceNetwork::EvaluateStored(Time before) {
  std::unordered_map<std::string, std::vector<std::string>> catalog;
  std::unordered_map<std::string, std::string> family_of;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto docs, impl_->store.ListDocuments(kModel, "", after, kPage));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json m, ParseJson(d.body));
      family_of[d.id] = Opt(m, "family");
      for (const auto& p : m["parts"]) catalog[d.id].push_back(p.get<std::string>());
    }
    if (docs.size() < static_cast<size_t>(kPage)) break;
    after = docs.back().id;
  }
  struct AssetInfo {
    std::string model;
    Time purchased;
  };
  std::unordered_map<std::string, AssetInfo> assets;
  after.clear();
  for (;;) {
    ASSIGN_OR_RETURN(auto docs, impl_->store.ListDocuments(kAsset, "", after, kPage));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json a, ParseJson(d.body));
      auto purchased = ParseTime(Opt(a, "purchased"));
      assets[d.id] = {Opt(a, "model"), purchased.ok() ? *purchased : Time{}};
    }
    if (docs.size() < static_cast<size_t>(kPage)) break;
    after = docs.back().id;
  }
  std::vector<Repair> repairs;
  after.clear();
  for (;;) {
    ASSIGN_OR_RETURN(auto docs, impl_->store.ListDocuments(kRecord, "", after, kPage));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json r, ParseJson(d.body));
      if (Opt(r, "kind") != "repair") continue;
      auto a = assets.find(Opt(r, "asset"));
      auto at = ParseTime(Opt(r, "date"));
      if (a == assets.end() || !at.ok()) continue;
      Repair rep;
      rep.at = *at;
      rep.context = {a->second.model, family_of[a->second.model], SymptomKey(Opt(r, "category")),
                     AgeBand(a->second.purchased, *at)};
      for (const auto& p : r["parts_used"]) rep.parts.push_back(p.get<std::string>());
      repairs.push_back(std::move(rep));
    }
    if (docs.size() < static_cast<size_t>(kPage)) break;
    after = docs.back().id;
  }
  return Evaluate(repairs, before, catalog, impl_->options.forecast);
}

}  // namespace rapport::service

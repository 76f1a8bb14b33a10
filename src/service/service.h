// The service network: appliances (assets) and their owners, the manufacturer's model
// catalogue, certified partner organisations, work orders, service records from every
// partner, per-partner access, and the technician briefing with its parts forecast.
//
// Invariants (each checked by a test in service_test.cc or tests/service_http_test.cc):
//  1. A partner sees an asset, its owner's contact data and its history only while it holds
//     a work order for the asset that is open or was closed less than `access_window` ago.
//     Otherwise every read answers kNotFound with exactly the text used for an asset that
//     does not exist, and lists and searches leave the asset out.
//  2. Every read of an asset, its history or a briefing is written to the audit log before
//     the answer is returned (no audit entry, no answer); refused partner reads are audited.
//  3. A work order is assigned only to a partner certified for the model's product line and
//     the asset's region.
//  4. The parts counts of all five forecast levels include every stored repair exactly once:
//     a repair record and its count updates are one Store::Write with revision checks.
//  5. Whatever a partner reads about an asset's owner (contact data, the appliance's location,
//     its history, the customer's symptom text) passes the privacy ledger's gate first
//     (Options::partner_gate, purpose "service-visit", recipient the partner organisation):
//     the hand-over is recorded in the disclosure register, and a read that no consent or
//     legal basis covers is refused (kPermissionDenied) and recorded as refused. Staff reads
//     are not disclosures to a third party; assets without an owner carry no personal data.
//
// Stored documents: "svc-model" (id: model), "svc-partner" (id: org), "svc-asset" (id) with
// the asset's work-order list (who may see it), "svc-serial" (serial -> asset),
// "svc-asset-by-owner" ("<owner>|<asset>"), "svc-wo" (id), "svc-wo-by-org" ("<org>|<wo>"),
// "svc-record" ("<asset>|<record id>", so one asset's history is one range read) and
// "svc-parts" (one per forecast level key, see forecast.h).
//
// Thread safety: all methods may be called from many threads and by several servers on one
// store; writes use document revisions and retry on conflicts.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/tokens.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "privacy/audit.h"
#include "privacy/ledger.h"
#include "profiles/profiles.h"
#include "service/forecast.h"
#include "service/generator.h"
#include "store/store.h"

namespace rapport::service {

// The disclosure gate (privacy::Ledger::PartnerRead): decides and records one hand-over to
// the partner; the answer's "fields" holds the golden values asked for (e-mail as the
// partner's alias); kPermissionDenied when refused.
using PartnerGate =
    std::function<Result<Json>(privacy::DisclosureRequest, const auth::Principal& partner)>;

struct Options {
  // How long after its work order closes a partner still sees the asset (for the report).
  Duration access_window = std::chrono::hours(24 * 14);
  ForecastOptions forecast;
  // Invariant 5; App sets it to the ledger. Unset, a partner's read of an asset that has an
  // owner is refused: nothing about a person leaves without the ledger's decision.
  PartnerGate partner_gate;
};

class ServiceNetwork {
 public:
  // `profiles` may be null: briefings then name the owner id without contact data.
  ServiceNetwork(store::Store& store, const Clock& clock, IdSource& ids, privacy::AuditLog& audit,
                 profiles::ProfileService* profiles, Options options = {});

  // --- Catalogue and partners (staff) -----------------------------------------------------
  // {"model","family","product_line","parts":[part ids]}; replaces a stored model.
  Result<Json> PutModel(const Json& body);
  Result<Json> GetModel(const std::string& model);
  // {"org","name","product_lines":[..],"regions":[..],"technicians":[{"id","name"}]};
  // `org` is the organisation of the partner's tokens. Replaces a stored partner.
  Result<Json> PutPartner(const Json& body);
  Result<Json> ListPartners();

  // --- Assets -------------------------------------------------------------------------------
  // {"model","serial","purchased","installed"?,"owner"?,"location":{"region","postcode",
  //  "city","street"?}}. kAlreadyExists for a known serial; kInvalidArgument naming the field.
  Result<Json> CreateAsset(const Json& body, const auth::Principal& caller);
  // The asset with its owner's contact data (for staff and partners with access). Audited.
  Result<Json> GetAsset(const std::string& id, const auth::Principal& caller);
  // Assets by ?serial= or ?owner=; a partner gets only assets it may see (invariant 1).
  Result<Json> FindAssets(const std::string& serial, const std::string& owner,
                          const auth::Principal& caller);
  // Service records of all partners, oldest first. Audited.
  Result<Json> History(const std::string& asset_id, const auth::Principal& caller);

  // --- Work orders --------------------------------------------------------------------------
  // {"asset","symptom","category","source":"online"|"agent","partner"?}. Without a partner,
  // the first certified partner for the asset (by org id) gets it. Staff only.
  Result<Json> CreateWorkOrder(const Json& body, const auth::Principal& caller);
  Result<Json> GetWorkOrder(const std::string& id, const auth::Principal& caller);
  // Staff: all (optionally ?status=open|closed); partners: their own.
  Result<Json> ListWorkOrders(const std::string& status, int limit, const auth::Principal& caller);
  // {"outcome"?}; by the assigned partner or staff. kFailedPrecondition if already closed.
  Result<Json> CloseWorkOrder(const std::string& id, const Json& body,
                              const auth::Principal& caller);

  // --- Service records and the briefing --------------------------------------------------------
  // {"asset","work_order"?,"date","kind":"repair"|"maintenance","findings"?,"symptom"?,
  //  "category"?,"parts_used":[..],"labour_minutes"?,"outcome","technician"?}.
  // A partner needs access to the asset (invariant 1). Repairs update the parts counts.
  Result<Json> AddServiceRecord(const Json& body, const auth::Principal& caller);
  // History of all partners, reported symptom, ranked parts with their evidence. Audited.
  Result<Json> Briefing(const std::string& work_order_id, const auth::Principal& caller);

  // --- Partner relationships -----------------------------------------------------------------
  // True when `partner` may see (invariant 1) an appliance owned by one of `person_ids` (a
  // person's id and the ids merged into it): the relationship through which it may read the
  // owner itself (privacy::Ledger::PartnerReadPerson). Staff: always true. Not audited.
  Result<bool> ServesOwner(const std::vector<std::string>& person_ids,
                           const auth::Principal& partner);

  // --- Erasure -------------------------------------------------------------------------------
  // Erasure (GDPR Art. 17) of the owner known by `person_ids` (its id and every id merged into
  // it). Its appliances stay, with their model, serial, dates, work orders and repairs (the
  // manufacturer's product history and the parts counts), but nothing that is about the
  // person: the location keeps only its region (postcode, city and street were the owner's
  // address), the work orders' symptom texts (the customer's words) and the service records'
  // findings and symptom texts become "[erased]", the owner index goes. The owner id stays on
  // the asset as a reference to a person that no longer exists (reads show no contact data).
  // Revision-checked; running it again changes nothing more.
  // Returns {"assets","work_orders","service_records"}: how many were changed.
  Result<Json> ErasePerson(const std::vector<std::string>& person_ids, std::string_view erasure_id);

  // --- Bulk data and evaluation --------------------------------------------------------------
  // Stores a generated history (catalogue, assets, records, parts counts) in batches of
  // `batch_records` records, without audit or access checks: for tests, demos, benchmarks.
  // The counts are added to stored ones, so it may be called repeatedly with new seeds;
  // kAlreadyExists for a seed already imported.
  Result<Json> ImportGenerated(const GeneratorOptions& options, size_t batch_records = 20000);
  // Trains on the stored repairs before `before` and measures recall after it (forecast.h).
  Result<Evaluation> EvaluateStored(Time before);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;

 public:
  ~ServiceNetwork();
};

}  // namespace rapport::service

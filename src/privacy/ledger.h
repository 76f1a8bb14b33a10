// The privacy ledger: where every personal datum came from (provenance), what the person
// agreed to (consents), where it went (the disclosure register, with a policy check on every
// hand-over to a third party), per-recipient e-mail aliases that tell who leaked an address,
// the access report (GDPR Art. 15), erasure (Art. 17) and retention per purpose.
//
// Invariants (each checked by a test in ledger_test.cc or tests/privacy_http_test.cc):
//  1. Provenance costs nothing per record: a source record's provenance is the version of its
//     source's registry entry in effect when the record was received, overridden by the
//     "provenance.*" fields the record itself carries. Registry versions are only ever added,
//     so changing a source's defaults never rewrites the provenance of what it sent before.
//  2. Every disclosure decision, allowed or refused, is stored in the register and in the
//     audit log in one transaction, before anything is handed over; a refused hand-over is
//     never carried out.
//  3. A disclosure is allowed only when an active consent of the person names its purpose
//     and its recipient (or "*"), or the recipient is registered with a legal basis other
//     than consent for that purpose.
//  4. An e-mail address handed to a recipient is replaced by that recipient's alias (one
//     alias per person and recipient), so mail to it tells who passed the address on.
//  5. After an erasure the store and the outbox file hold none of the person's addresses or
//     aliases, and its cases and appliances none of its values or texts (the erasure steps);
//     what is kept (erasure record, consents, disclosure register, audit log) names only ids,
//     field names, purposes and recipients. The erasure record is written whatever part fails
//     once the person is gone from profiles, and names the parts that failed.
//  6. Consents, aliases and the disclosure register are read under every id merged into a
//     person (ProfileService::AllIds), so they follow a merge and go back with an undone one;
//     through a split they follow the records (Split).
//  7. A partner that names a person itself (PartnerReadPerson) reads it only through a
//     relationship it holds: the person's consent naming its organisation, its work order for
//     the person's appliance within the access window, or its organisation's case about the
//     person. A registered legal basis alone never lets it read a person it does not serve,
//     and "not yours" answers exactly as "does not exist".
//
// Stored documents: "privacy-source" (source name), "privacy-recipient" (recipient name),
// "privacy-consent" (person~con_…), "privacy-disclosure" (person~dis_…), "privacy-alias"
// (the alias address), "privacy-person-alias" (person~recipient), "privacy-leak"
// (leak~<event id>), "privacy-retention" (purpose), "privacy-erasure" (era_…),
// "privacy-cursor" ("mail.inbound").
//
// Thread safety: every method may be called from many threads. Disclosures and the inbound
// mail scan are serialized per process; between servers the documents' revisions keep
// writers from overwriting each other (kAborted, retry).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/tokens.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/model.h"
#include "privacy/audit.h"
#include "profiles/profiles.h"
#include "store/store.h"

namespace rapport::privacy {

// The legal bases of GDPR Art. 6(1): "consent", "contract", "legal_obligation",
// "vital_interests", "public_task", "legitimate_interests".
bool IsLegalBasis(std::string_view name);

// The actor of work done without a token: by the server itself ("system": webhook checks,
// retention, leak scans; audited as the system) or by an operator at the command line ("cli":
// `rapport export`, `rapport retention run`; audited as an admin of that name).
auth::Principal LocalActor(std::string_view name);
inline auth::Principal SystemActor() { return LocalActor("system"); }

struct DisclosureRequest {
  std::string person;
  std::string recipient;
  std::string purpose;
  std::vector<std::string> fields;  // golden-record field names; empty: all
  std::string via;                  // "export", "api", "webhook", or the partner route
  // Other personal data handed over with the fields, named by the caller ("asset.location",
  // "service.history", "work_order.symptom", "case.fields"): recorded in the register as
  // given, since the ledger does not hold it and cannot read it out itself.
  std::vector<std::string> data = {};
};

// The purposes under which partner tokens read personal data outside the ledger's own route
// (each partner organisation needs a consent of the person or a registered legal basis for
// it, PUT /v1/privacy/recipients/{org}):
//   "service-visit"  assets, their history, work orders and briefings of the service network
//   "case-handling"  cases handed to a partner's team
inline constexpr char kServiceVisitPurpose[] = "service-visit";
inline constexpr char kCaseHandlingPurpose[] = "case-handling";

// What an erasure hands to the modules that keep copies of a person's data beside profiles and
// the ledger (cases, the service network, the outbox sink file), so that each erases its own.
struct ErasureScope {
  std::string erasure;           // the erasure record's id ("era_…")
  std::string person;            // the erased person's id
  std::vector<std::string> ids;  // it and every id merged into it
  // Every subject naming it only (SubjectResolver::SubjectsOf: ids, record ids, "source:key",
  // unshared bare keys and contact points): data kept under a subject that had not resolved.
  std::vector<std::string> subjects;
  std::vector<std::string> needles;  // its e-mail addresses, phone numbers and aliases
  std::vector<std::string> events;   // ids of its events
  Time at{};
};

// One module's part of an erasure. It changes its documents itself (Store::Write) and may add
// to `erasure` what only Store::Erase can change (a log line's body); both happen before
// Store::Erase, which then rebuilds the database files, so no old text stays in free space.
// Returns what it did, kept in the erasure record under the step's name. Runs under the
// profiles lock: it must not call ProfileService.
using ErasureStep = std::function<Result<Json>(const ErasureScope& scope, store::Erasure& erasure)>;

// One module's part of an access report (GDPR Art. 15): what it keeps about the person with id
// `person`, as JSON under the part's name. Runs outside the profiles lock.
using AccessReportPart = std::function<Result<Json>(const std::string& person)>;

// Whether `partner` holds a relationship of its own with the person known by `person_ids` (its
// id and every id merged into it): a work order for the person's appliance within the access
// window, a case of its organisation. Added by the modules that keep them (App wires them).
using PartnerRelationship = std::function<Result<bool>(const std::vector<std::string>& person_ids,
                                                       const auth::Principal& partner)>;

struct DisclosureDecision {
  bool allowed = false;
  std::string id;      // the register entry ("dis_…")
  std::string basis;   // "consent:<consent id>" or the recipient's legal basis
  std::string reason;  // why it was refused
};

class Ledger {
 public:
  Ledger(store::Store& store, const Clock& clock, IdSource& ids, AuditLog& audit,
         profiles::ProfileService& profiles);

  // --- Registries (admin) ------------------------------------------------------------------
  // A source's defaults: {"system","channel","organisation","purposes":[..],"legal_basis",
  // "consent_ref"}; purposes and legal_basis are required. Adds a version valid from now.
  Result<Json> PutSource(const std::string& name, const Json& body, const auth::Principal& by);
  Result<Json> ListSources();
  // A third party: {"organisation","legal_basis","purposes":[..],"endpoints":[url prefix or
  // {"url","purpose"}],"mail_domains":[..]}. A legal basis other than consent covers the
  // listed purposes without a consent; endpoints name its webhooks; mail_domains are where
  // its own mail comes from (not a leak).
  Result<Json> PutRecipient(const std::string& name, const Json& body, const auth::Principal& by);
  Result<Json> ListRecipients();
  // {"days": n}: data collected for `purpose` is kept n days after collection (or after the
  // latest consent for it), then erased by RunRetention.
  Result<Json> PutRetention(const std::string& purpose, const Json& body,
                            const auth::Principal& by);
  Result<Json> ListRetention();

  // --- Provenance ----------------------------------------------------------------------------
  // The provenance of a record's fields (invariant 1).
  Result<Json> Provenance(const std::string& source, Time received_at, const Fields& fields);
  // Ingest hook: registers sources never seen before as unregistered (no purpose, no legal
  // basis) so that the registry lists them for an admin to complete. Costs one hash lookup
  // per record once the source is known.
  Status OnRecordsStored(const std::vector<SourceRecord>& records);

  // --- Consents -------------------------------------------------------------------------------
  // {"purposes":[..],"recipients":[.. or "*"],"proof":{"text_version","channel","reference"},
  //  "given_at"}; kNotFound for an unknown person.
  Result<Json> GiveConsent(const std::string& person, const Json& body, const auth::Principal& by);
  // The consent keeps the ids of the person's records when it was given ("records"): the data
  // the person who gave it was known by, which decides where it goes when the person is split.
  // kFailedPrecondition when already withdrawn; history keeps both steps.
  Result<Json> WithdrawConsent(const std::string& person, const std::string& consent_id,
                               const auth::Principal& by);
  Result<Json> ListConsents(const std::string& person);

  // --- Splits ----------------------------------------------------------------------------------
  // ProfileService::Split, then the ledger's documents follow the records that moved to the new
  // person (invariant 6): a consent whose records all moved goes with them (given while those
  // records were the whole of the person it was given for, so by whoever they describe); one
  // given when moved and staying records were one person stays, and is named in the answer's
  // "privacy.consents_kept" for an agent to review; an alias goes with the records of the
  // address it stands for (and the leak findings about it); the disclosures made before the
  // split are copied to the new person (its data was part of what was handed over; Art. 15
  // and 19). Returns the split's answer with "privacy": what followed. An error after the
  // split itself succeeded names the new person (the split is not undone).
  Result<Json> Split(const std::string& person, const std::vector<std::string>& records,
                     const auth::Principal& by);

  // --- Disclosures ---------------------------------------------------------------------------
  // Decides and records one disclosure (invariant 2); `payload` gets the golden values of
  // the requested fields, e-mail replaced by the recipient's alias, when it is allowed.
  Result<DisclosureDecision> Decide(const DisclosureRequest& request, const auth::Principal& by,
                                    Json* payload = nullptr);
  // A message of the company's own that names a purpose (a journey message's `purpose` param,
  // e.g. "newsletter"): allowed under an active consent of the person naming that purpose for
  // the company itself (recipients "self" or "*"); kFailedPrecondition with the reason
  // otherwise (the outbox holds the message). Messages without a purpose serve the customer's
  // own order (contract) and are not asked about.
  Status CheckOwnMessage(const std::string& person, const std::string& purpose);
  // One person's data for a recipient: kPermissionDenied with the reason when refused.
  Result<Json> Disclose(const DisclosureRequest& request, const auth::Principal& by);
  // The one gate for every read of personal data by a partner token: the partner persons
  // route, the service network (service::Options::partner_gate) and cases. The recipient is
  // the token's organisation (whatever `request.recipient` says); decided and recorded as
  // Decide does, before anything is handed over. Returns {"person","fields":{golden values of
  // request.fields, e-mail as the partner's alias},"disclosure","basis"}; kPermissionDenied
  // with the reason when refused (or when the token names no organisation). Empty `fields`
  // with named `data` hands over no golden value; empty `fields` alone means all of them.
  Result<Json> PartnerRead(DisclosureRequest request, const auth::Principal& partner);
  // The partner persons route (GET /v1/partner/persons/{id}): a partner names a person id
  // itself, so a legal basis registered for its organisation would let it read any customer.
  // It reads a person only through a relationship it holds (invariant 7): a consent of the
  // person that names its organisation (not "*") for the purpose, or one of the relationships
  // added by AddPartnerRelationship. Without one the refusal is recorded (register and audit
  // log, as Decide records one) and the answer is kNotFound with the text of an unknown
  // person; with one it is PartnerRead.
  Result<Json> PartnerReadPerson(DisclosureRequest request, const auth::Principal& partner);
  // Adds a kind of relationship PartnerReadPerson accepts. Called while wiring, before the
  // ledger is used from several threads.
  void AddPartnerRelationship(std::string name, PartnerRelationship relationship);
  // Every person (or those in `persons`) for a recipient and purpose: the allowed ones with
  // their data, the refused ones with the reason. kPermissionDenied when exactly one person
  // was asked for and refused.
  Result<Json> Export(const std::string& recipient, const std::string& purpose,
                      const std::vector<std::string>& fields,
                      const std::vector<std::string>& persons, const auth::Principal& by);
  // The outbox's check before a webhook leaves: recipient from the registered endpoints (else
  // the URL's host), person from the action's subject, else its instance key; neither naming
  // a known person leaves nothing to check. kPermissionDenied when refused.
  Status CheckWebhook(const Json& action);
  Result<Json> ListDisclosures(const std::string& person);

  // --- Aliases and leaks -----------------------------------------------------------------------
  // Reads new "mail.inbound" events ({"payload":{"from","to"}}); mail to an alias from a
  // sender outside its recipient's mail domains becomes a leak finding naming the recipient.
  // Returns the number of findings made.
  Result<size_t> ScanInboundMail();
  Result<Json> ListLeaks();

  // --- Data subject requests -------------------------------------------------------------------
  // Every datum with its source, purposes, legal basis, collection time, recipients and
  // retention; consents, disclosures (and refusals), aliases, leaks. Audited.
  Result<Json> AccessReport(const std::string& person, const auth::Principal& by);
  // Erases the person (invariant 5) and returns the erasure record. Once the person is gone
  // from profiles, every part runs even when one fails, and the erasure record is written in
  // any case: a part that failed is named under "incomplete" (and the call answers an error
  // naming the record), clean-up of the database files that failed after the data was
  // committed is a "warnings" entry (and the call succeeds).
  Result<Json> Erase(const std::string& person, const auth::Principal& by,
                     const std::string& reason);
  // Adds a module's part of every access report ({"parts": {name: …}}, in the order added).
  // Called while wiring, before the ledger is used from several threads.
  void AddAccessReportPart(std::string name, AccessReportPart part);
  // Adds a module's part of every erasure (run in the order added, before Store::Erase).
  // Called while wiring, before the ledger is used from several threads.
  void AddErasureStep(std::string name, ErasureStep step);
  // Erases every person all of whose records are past their retention.
  Result<Json> RunRetention(const auth::Principal& by);
  // The retention job: RunRetention as the system once a day by the clock, counted from the
  // last run on this database (setting "privacy.retention.last_run", written when a run
  // succeeded, so a restart or another server does not run it again, and a failed run is
  // tried again: by this server after 10 minutes). Returns the run's result, or null when it
  // was not due.
  Result<Json> RunRetentionIfDue();

 private:
  // The person id `subject` names (any form of README "Subjects": "shop:C-1001", an e-mail
  // address, a merged-away id), kNotFound when it names none or several.
  Result<std::string> PersonOf(const std::string& subject);
  struct SourceVersions {
    std::vector<std::pair<Time, Json>> versions;  // oldest first
  };
  Result<const SourceVersions*> Source(const std::string& name);
  // The active consents kept under any of a person's ids (ProfileService::AllIds).
  Result<std::vector<Json>> ActiveConsents(const std::vector<std::string>& ids);
  Result<std::optional<Json>> Recipient(const std::string& name);
  // Stores decision `d` about the person of `view` (under `ids`) in the register and the
  // audit log (invariant 2), with the payload when allowed and `payload` is given. Called
  // under disclose_mu_.
  Result<DisclosureDecision> Record(const DisclosureRequest& request, const Json& view,
                                    const std::vector<std::string>& ids, DisclosureDecision d,
                                    const auth::Principal& by, Json* payload);
  Result<std::map<std::string, int64_t>> RetentionDays();
  Result<Json> PayloadFor(const Json& person_view, const std::vector<std::string>& ids,
                          const std::string& recipient, const std::vector<std::string>& fields,
                          store::WriteBatch& batch, std::vector<std::string>* disclosed_fields);
  Result<Json> EraseLocked(const std::string& person, const auth::Principal& by,
                           const std::string& reason);
  // Moves and copies the ledger's documents of a split (see Split); `before` is the person's
  // view before it, `ids` its ids and the ids merged into it.
  Result<Json> FollowSplit(const Json& before, const std::vector<std::string>& ids,
                           const Json& split, const auth::Principal& by);

  store::Store& store_;
  const Clock& clock_;
  IdSource& ids_;
  AuditLog& audit_;
  profiles::ProfileService& profiles_;

  std::mutex sources_mu_;
  std::map<std::string, SourceVersions> sources_;
  std::mutex disclose_mu_;
  std::mutex scan_mu_;
  std::mutex retention_mu_;
  std::optional<Time> retention_due_;  // cached from the setting
  std::vector<std::pair<std::string, ErasureStep>> erasure_steps_;
  std::vector<std::pair<std::string, AccessReportPart>> access_report_parts_;
  std::vector<std::pair<std::string, PartnerRelationship>> partner_relationships_;
};

// The access report as a printable HTML page (for the person, or a PDF printer).
std::string AccessReportHtml(const Json& report);

}  // namespace rapport::privacy

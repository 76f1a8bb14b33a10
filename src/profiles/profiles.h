// Persons and households as stored entities, kept current as source records arrive.
//
// Invariants (each checked by a test in profiles_test.cc):
//  1. Every stored source record that passed through Resolve belongs to exactly one person.
//     Source records are never changed: a person only lists record ids and copies of fields.
//  2. A person id never changes while records join or leave it. When two persons merge, the
//     older id (the smaller ULID) survives and the other answers as a redirect to it.
//  3. Automatic linking happens only at or above `upper`; pairs in [lower, upper) become
//     reviews. A pair labelled "distinct" (rejected review, split, undone merge) is never
//     joined automatically again, not even through a third record.
//  4. Every decision (link, merge, split, undo, review) is one atomic Store::Write of all the
//     documents it changes, with optimistic revisions, plus an audit line in the log stream
//     "profiles" under the person id.
//  5. Household membership follows the person's golden address: same normalized address
//     (with unit) and a shared surname.
//
// Stored documents: "person" (members with their link evidence), "person-redirect",
// "household", "review", "match-label", "merge", and "profiles-head"/"profiles-change" that
// keep servers in step. The matching index is a cache: it is rebuilt in memory from the stored
// persons on first use and kept current from the change documents (persistent truth = store).
//
// Thread safety: all methods may be called from many threads; decisions are serialized by
// one mutex per service, so two clients posting records of one person at once end with one
// person. Several processes on one store keep their memory in step: every call first applies
// the changes other processes committed, and a decision that raced one is made again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/model.h"
#include "identity/match_index.h"
#include "profiles/fields.h"
#include "profiles/subjects.h"
#include "store/store.h"

namespace rapport::profiles {

struct Options {
  double upper = 0.9;  // link automatically at or above
  double lower = 0.5;  // review between lower and upper
  GoldenRules golden;
  size_t max_reviews_per_record = 3;

  // {"link_threshold":0.9,"review_threshold":0.5,"golden":{...GoldenRules...}}; absent keys
  // keep the defaults. Errors name the key.
  static Result<Options> FromJson(const Json& j);
  Json ToJson() const;
};

// The store setting that holds Options::ToJson(). When present, it replaces the options a
// ProfileService was built with (read on first use), so `rapport serve` and `rapport import`
// on one database resolve with the same thresholds and rules.
inline constexpr char kOptionsSetting[] = "profiles.options";

// The store setting that holds the match model fitted to the stored records,
// {"records":N,"model":MatchModel::ToJson()}, so every process on one database matches alike.
inline constexpr char kModelSetting[] = "profiles.match-model";

// Who made a decision: "engine" or a user/token name.
struct Actor {
  std::string kind = "user";  // "user" or "engine"
  std::string name;
};

struct ResolveSummary {
  size_t resolved = 0;  // records placed on a person now
  size_t already = 0;   // records that were resolved before (idempotent re-delivery)
  size_t new_persons = 0;
  size_t linked = 0;                 // joined an existing person
  size_t merged = 0;                 // persons merged into another because a record matched both
  size_t reviews = 0;                // review items opened
  std::vector<std::string> persons;  // per record of the batch: the person it is on now
};

// Where one stored record was placed: the resolved customer base as a warehouse reads it.
struct RecordPlacement {
  std::string source, source_key, record_id, person_id, household_id;
};

struct MailingSummary {
  Json entries = Json::array();  // one per household
  size_t records = 0;            // one mailing per source customer (source, key) without profiles
  size_t persons = 0;            // persons in the segment with an address
  size_t households = 0;         // entries
  size_t without_address = 0;
};

// The mailing as CSV: household, salutation, street, house_number, address_extra, postcode,
// city, persons (ids separated by spaces); RFC 4180 quoting.
std::string MailingToCsv(const MailingSummary& mailing);
// {"entries":[...],"counts":{"source_customers","persons","households","without_address",
//  "avoided":{"duplicates","same_household","total"}}}
Json MailingToJson(const MailingSummary& mailing);

class ProfileService : public SubjectResolver {
 public:
  ProfileService(store::Store& store, const Clock& clock, IdSource& ids, Options options = {});
  ~ProfileService() override;

  // Reads the stored persons, households, reviews and labels and builds the in-memory match
  // index. Every other method does this on first use; a server calls it before listening so
  // that no request waits for it.
  Status Load();

  // Places stored records on persons. `records[i]` was stored under `puts[i].id`; a record
  // already placed is skipped, so re-delivery changes nothing. One Write for the whole batch.
  Result<ResolveSummary> Resolve(const std::vector<SourceRecord>& records,
                                 const std::vector<store::RecordPut>& puts);

  // Customer 360: golden record, source records with link evidence, household, recent
  // events, audit trail. An id that was merged away answers with the survivor and
  // "redirected_from". kNotFound for unknown ids.
  Result<Json> GetPerson(const std::string& id, int events_limit = 20);
  // Fuzzy search by name, e-mail, phone or address; best first.
  Result<Json> Search(const std::string& query, int limit = 20);

  // Merges `other` into `id` (or the reverse: the older id survives). Returns the merge
  // document (with its "id" for undo). kFailedPrecondition when both are one person.
  Result<Json> Merge(const std::string& id, const std::string& other, const Actor& by);
  // Moves `records` of person `id` to a new person and labels them distinct from the rest.
  Result<Json> Split(const std::string& id, const std::vector<std::string>& records,
                     const Actor& by);
  // Restores the person a merge absorbed (same id, its records at merge time) and labels the
  // two distinct. kFailedPrecondition if already undone.
  Result<Json> UndoMerge(const std::string& merge_id, const Actor& by);

  // Open reviews (status "open"), oldest first; `all` includes decided ones.
  Result<Json> ListReviews(bool all = false, int limit = 100);
  // "accept" merges the two persons, "reject" labels the pair distinct.
  Result<Json> DecideReview(const std::string& review_id, const std::string& decision,
                            const Actor& by);

  Result<Json> GetHousehold(const std::string& id);
  // One entry per household with a person in the segment. Segment: "" or "all", or
  // conditions "field=value" joined by ',' (golden-record fields, or "source"); a value
  // ending in '*' is a prefix.
  Result<MailingSummary> Mailing(const std::string& segment);

  // Erasure (GDPR Art. 17) of person `id`: deletes its document, takes it out of its
  // household and blanks the explanations of reviews of its records, in one write; then calls
  // `erase_data` with the person's view as it was (records, up to 1000 events), under the
  // service's lock, so the caller erases the source data before any other decision is made;
  // then rebuilds memory (match index, search postings) from the store. Returns that view.
  // kNotFound for an unknown id.
  Result<Json> ErasePerson(const std::string& id, const Actor& by,
                           const std::function<Status(const Json&)>& erase_data);

  // The current id of the person `id` names, then the ids merged into it (directly or through
  // a chain) that now answer as redirects to it; an undone merge's id is no longer among
  // them. For data other modules keep by person id (the privacy ledger's consents, aliases,
  // disclosures). Costs one pass over the redirects. An unknown id gives just itself.
  Result<std::vector<std::string>> AllIds(const std::string& id);

  // SubjectResolver (subjects.h): the person a subject names, by the README's rules.
  Result<ResolvedSubject> ResolveSubject(std::string_view subject) override;
  Result<std::vector<std::string>> SubjectsOf(std::string_view person) override;
  // The golden record's contact point of the person `subject` names, for `channel` ("email";
  // "sms" or "phone"; "letter", "post" or "postal"). kNotFound naming why when the subject names
  // nobody or the person has no such contact point; kInvalidArgument for another channel. No
  // consent check: the caller decides whether the message may go (see README, outbox).
  Result<ContactPoint> ContactPointFor(std::string_view subject, std::string_view channel);
  // Event subjects that resolve to no person now, most events first, at most `limit`.
  // Reads the events stored since the last call (the event index is a cache, like the 360's).
  Result<std::vector<UnresolvedSubject>> UnresolvedSubjects(size_t limit = 1000);

  // The person a record belongs to ("" if none); for tests and tools.
  Result<std::string> PersonOfRecord(const std::string& record_id);
  Result<size_t> PersonCount();
  // Every record of every person, ordered by person id then record id.
  Result<std::vector<RecordPlacement>> Placements();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapport::profiles

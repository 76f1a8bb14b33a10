// ProfileService::Impl: incremental identity resolution over the store. Every decision is staged
// in a Txn (copies of the persons, households, reviews it touches), written with one
// Store::Write, and only then applied to the in-memory state, so a failed write leaves
// memory as the store has it.
//
// Private to src/profiles. The methods are defined one file per section below (named at each
// section); the public ProfileService methods lock `mu` and call them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/status.h"
#include "identity/match_index.h"
#include "identity/model.h"
#include "profiles/fields.h"
#include "profiles/internal/documents.h"
#include "profiles/profiles.h"
#include "store/store.h"

namespace rapport::profiles {

namespace internal {

// Posting keys of a record: exact words, their Kölner Phonetik code and 4-letter prefix,
// the canonical e-mail and the E.164 phone number.
std::vector<std::string> SearchKeys(const Fields& canon);
// Defined in views.cc; Search names its results with it too.
std::string DisplayName(const std::map<std::string, GoldenValue>& g);

}  // namespace internal

struct ProfileService::Impl {
  using Household = internal::Household;
  using Label = internal::Label;
  using Member = internal::Member;
  using Person = internal::Person;
  using Review = internal::Review;

  Impl(store::Store& s, const Clock& c, IdSource& i, Options o)
      : store(s), clock(c), ids(i), options(std::move(o)) {}

  store::Store& store;
  const Clock& clock;
  IdSource& ids;
  Options options;

  std::mutex mu;
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool loaded = false;
  std::unique_ptr<identity::MatchIndex> index;
  size_t model_records = 0;  // how many records the index's model was fitted to (0: defaults)
  std::optional<identity::RecordNormalizer> normalizer;

  std::unordered_map<std::string, Person> persons;
  std::unordered_map<std::string, std::string> record_person;
  std::unordered_map<std::string, std::string> source_person;
  // Every source a record came from (a handful): a bare key is looked up under each.
  std::set<std::string> sources;
  std::unordered_map<std::string, std::string> redirects;
  // The reverse of `redirects`: which ids were merged directly into an id.
  std::unordered_map<std::string, std::vector<std::string>> merged_into;
  std::unordered_map<std::string, Household> households;
  std::unordered_map<std::string, std::vector<std::string>> households_at;
  std::map<std::string, Review> reviews;
  std::unordered_map<std::string, std::string> review_by_pair;
  std::unordered_map<std::string, std::vector<std::string>> reviews_of_record;
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> labels;
  // Search postings hold record numbers, each record's id stored once in `posted` (ids in
  // every posting list were ~0.9 KB per record). A record is posted once, when it is indexed.
  std::unordered_map<std::string, std::vector<uint32_t>> postings;
  std::vector<std::string> posted;

  int64_t head_revision = 0;  // of kHead: the last change this memory reflects

  int64_t event_cursor = 0;
  // Events by the values that may name a person: subject, key values, and the contact keys
  // ("e:…", "n:…") of a subject that is an e-mail address or phone number.
  std::unordered_map<std::string, std::deque<std::pair<int64_t, std::string>>> events_by_value;
  // Every distinct event subject, for the list of those that resolve to nobody.
  struct SubjectSeen {
    int64_t events = 0;
    std::string first_event, last_event;
  };
  std::unordered_map<std::string, SubjectSeen> event_subjects;

  // Everything one decision changes, applied to memory only after the store took it.
  struct Txn {
    std::map<std::string, Person> persons;
    std::set<std::string> deleted_persons;
    std::map<std::string, Household> households;
    std::set<std::string> deleted_households;
    std::map<std::string, std::string> redirects;
    std::set<std::string> deleted_redirects;
    std::map<std::string, Review> reviews;
    std::vector<Label> labels;
    std::vector<store::WriteBatch::Put> extra_puts;
    std::vector<store::LogLine> logs;
    std::vector<std::string> indexed;
    // Search keys of the records resolved, posted once the store has them.
    std::vector<std::pair<std::string, std::vector<std::string>>> new_records;
    std::unordered_map<std::string, std::string> record_person;
    std::unordered_map<std::string, std::string> source_person;
    bool reload_everywhere = false;  // other servers must reload all (after an erasure)
  };

  // --- Loading (loading.cc) ------------------------------------------------------------------

  Status Setup();
  template <typename Fn>
  Status ForEachDocument(const char* kind, Fn&& fn);
  Status LoadPersons();
  Status EnsureLoaded();
  // Forgets everything in memory and loads it again from the store (after an erasure changed
  // stored documents underneath the caches).
  Status Reload();
  Status AddToIndex(const std::string& id, const Fields& canon);
  Status AddToIndex(const std::string& id, identity::NormalizedRecord n);
  void EraseRedirect(const std::string& from);
  void SetRedirect(const std::string& from, const std::string& to);

  // --- Keeping in step with other servers on the same store (sync.cc) ------------------------

  // Brings memory up to the store's head: applies the documents that other servers' decisions
  // wrote since this memory's head revision. One document read when nothing changed.
  Status Sync();
  // Replaces the cached copy of one document with what the store holds (nullopt: deleted).
  Status ApplyStored(const std::string& kind, const std::string& id,
                     const std::optional<store::Document>& d);
  // Runs one decision on current state: syncs, decides, commits; when another server
  // committed in between (kAborted), syncs again and decides anew, after a short random
  // pause once it lost twice, so that servers racing for the head take turns.
  template <typename Fn>
  auto Decide(Fn&& decide) -> decltype(decide());
  static constexpr int kMaxAttempts = 50;

  // --- Search postings (search.cc) ------------------------------------------------------------

  void AddPostings(const std::string& record_id, const Fields& canon);
  void AddPostings(const std::string& record_id, const std::vector<std::string>& keys);

  // --- Lookups through the open transaction (lookups.cc) ---------------------------------------

  std::string ResolveId(std::string id) const;
  // The ids merged into `current`, directly or through a chain of merges, sorted.
  std::vector<std::string> MergedInto(const std::string& current) const;
  const Person* Peek(const Txn& t, const std::string& id) const;
  Person& Touch(Txn& t, const std::string& id);
  std::string PersonOf(const Txn& t, const std::string& record) const;
  const Household* PeekHousehold(const Txn& t, const std::string& id) const;
  Household& TouchHousehold(Txn& t, const std::string& id);
  std::string LabelOf(const Txn& t, const std::string& a, const std::string& b) const;
  // True if some record of person p is labelled distinct from some record of person q.
  bool Distinct(const Txn& t, const std::string& p, const std::string& q) const;
  std::string Now() const;
  std::string RecordOwner(const std::string& record) const;
  void Audit(Txn& t, const std::string& person, Json body);
  void AddLabel(Txn& t, const std::string& a, const std::string& b, const std::string& decision,
                const Actor& by, const std::string& reason);

  // --- Households (households.cc) ---------------------------------------------------------------

  // The address the person lives at: the most recent record with a usable address.
  const Member* AddressRecord(const Person& p) const;
  std::set<std::string> Surnames(const Person& p) const;
  void LeaveHousehold(Txn& t, Person& p);
  std::vector<std::string> HouseholdsAt(const Txn& t, const std::string& key) const;
  void AssignHousehold(Txn& t, const std::string& person_id);

  // --- Commit (commit.cc) -----------------------------------------------------------------------

  Status Commit(Txn& t);
  // Gives the cold members of `persons` (Member::cold) their raw fields and links back, from the
  // stored documents of the persons their records belong to before this decision (one read per
  // such person). kDataLoss if a document lacks a record memory says it holds.
  Status Hydrate(const std::vector<Person*>& persons);
  // A copy of `p` with every member hydrated, for views.
  Result<Person> Hydrated(const Person& p);

  // --- Resolution (resolution.cc) ---------------------------------------------------------------

  void OpenReview(Txn& t, const std::string& a, const identity::MatchCandidate& c,
                  ResolveSummary* summary);

  // What resolving a record needs that depends only on the record and on what was stored
  // before its batch. Computed for a whole batch on several threads; the decisions that use it
  // then go one by one. Matching, normalizing and search keys were 60% of a 1M import, on one
  // of two cores.
  struct Prepared {
    bool fresh = false;  // neither resolved before nor earlier in its batch
    Fields canon;
    identity::NormalizedRecord normalized;
    std::vector<identity::MatchCandidate> candidates;  // as Match gives them at its turn
    std::vector<Json> link_explanations;  // per candidate that may be linked to, else null
    std::vector<std::string> search_keys;
  };

  std::vector<Prepared> Prepare(const std::vector<SourceRecord>& records,
                                const std::vector<store::RecordPut>& puts);
  // Fits the match model to the stored records and `batch` (as dedupe fits it to a file) once
  // they are at least twice as many as it was last fitted to, re-indexes the stored records
  // under it and stores it (kModelSetting). A few refits over a customer base's life, so the
  // live path weighs names by their frequency and knows a file's placeholder values as a batch
  // run does. On failure the current model stays.
  Status RefitModel(const std::vector<identity::NormalizedRecord>& batch);
  // Whether `record` fits every record of `person` by the rule the batch clustering applies,
  // not only the record it matched best: one similar record never joins two people.
  bool FitsPerson(const Txn& t, const std::string& person,
                  const identity::NormalizedRecord& record) const;
  // Whether two persons' records, all indexed, form one coherent person by the same rule: a
  // record that matches both is what the batch clustering merges them by.
  bool PersonsCohere(const Txn& t, const std::string& x, const std::string& y) const;
  Status ResolveOne(Txn& t, const SourceRecord& rec, const std::string& id, Prepared& prepared,
                    ResolveSummary& summary);

  // --- Merge, split, undo (merge_split.cc) ------------------------------------------------------

  Result<Json> MergePersons(Txn& t, const std::string& x, const std::string& y, const Actor& by,
                            const std::string& reason);
  // Moves `records` out of person `from` into person `to` (created with `to_created_at` if
  // it does not exist) and labels every moved record distinct from the ones that stay.
  Status MoveOut(Txn& t, const std::string& from, const std::set<std::string>& records,
                 const std::string& to, Time to_created_at, const Actor& by,
                 const std::string& reason);

  // --- Views (views.cc) -------------------------------------------------------------------------

  std::map<std::string, GoldenValue> Golden(const Person& p) const;
  Addressee AddresseeOf(const Person& p) const;
  Json AddressJson(const Person& p) const;
  Json HouseholdJson(const Household& h) const;
  Status CatchUpEvents();

  // --- Subjects (subjects.cc) -------------------------------------------------------------------

  // "e:<canonical e-mail>" or "n:<E.164>" when `subject` is a contact point (the search
  // postings' keys, so a record's contact points are found without another index); else none.
  static std::vector<std::string> ContactKeys(std::string_view subject);
  Result<ResolvedSubject> ResolveSubject(std::string_view subject) const;
  Result<Json> PersonView(const Person& p, int events_limit);
};

template <typename Fn>
auto ProfileService::Impl::Decide(Fn&& decide) -> decltype(decide()) {
  thread_local std::minstd_rand jitter(
      static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  for (int attempt = 1;; ++attempt) {
    RETURN_IF_ERROR(Sync());
    auto result = decide();
    if (result.ok() || result.status().code() != StatusCode::kAborted || attempt == kMaxAttempts) {
      return result;
    }
    if (attempt >= 2) {
      int most = std::min(attempt, 20) * 500;
      std::this_thread::sleep_for(std::chrono::microseconds(jitter() % most));
    }
  }
}

}  // namespace rapport::profiles

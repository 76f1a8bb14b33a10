// Resolution: places arriving records on persons. A batch is prepared on every core (fields,
// normalization, matching), then each record is linked, reviewed or made a new person in turn.
#include <unordered_set>

#include "core/parallel.h"
#include "identity/cluster.h"
#include "identity/pipeline.h"
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::PairKey;
using internal::SearchKeys;
using internal::SourceKey;

void ProfileService::Impl::OpenReview(Txn& t, const std::string& a,
                                      const identity::MatchCandidate& c, ResolveSummary* summary) {
  std::string key = PairKey(a, c.id);
  if (review_by_pair.count(key) || !LabelOf(t, a, c.id).empty()) return;
  for (const auto& [id, r] : t.reviews) {
    if (PairKey(r.a, r.b) == key) return;
  }
  Review r;
  r.id = ids.Next("rev");
  r.a = a;
  r.b = c.id;
  r.probability = c.probability;
  r.explanation = c.explanation.ToJson();
  r.created_at = Now();
  Audit(t, PersonOf(t, a),
        {{"action", "review.opened"},
         {"review", r.id},
         {"record", a},
         {"candidate", c.id},
         {"probability", c.probability}});
  t.reviews.emplace(r.id, std::move(r));
  if (summary) summary->reviews++;
}

std::vector<ProfileService::Impl::Prepared> ProfileService::Impl::Prepare(
    const std::vector<SourceRecord>& records, const std::vector<store::RecordPut>& puts) {
  std::vector<Prepared> out(records.size());
  std::vector<size_t> fresh;
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < records.size(); ++i) {
    if (record_person.count(puts[i].id) || !seen.insert(puts[i].id).second) continue;
    out[i].fresh = true;
    fresh.push_back(i);
  }
  ParallelFor(fresh.size(), threads, [&](size_t k, unsigned) {
    Prepared& p = out[fresh[k]];
    p.canon = CanonicalizeFields(records[fresh[k]].fields);
    p.normalized = normalizer->Normalize(p.canon);
    p.normalized.id = puts[fresh[k]].id;
    p.search_keys = SearchKeys(p.canon);
  });
  {
    std::vector<identity::NormalizedRecord> normalized;
    normalized.reserve(fresh.size());
    for (size_t i : fresh) normalized.push_back(out[i].normalized);
    // A refit that fails leaves the model as it was: records are still placed, as before.
    (void)RefitModel(normalized);
  }
  // Every fresh record is added to the index in this order (ResolveOne), so matching each
  // against the index and the fresh records before it is what one-by-one matching gives.
  std::vector<identity::NormalizedRecord> batch(fresh.size());
  for (size_t k = 0; k < fresh.size(); ++k) batch[k] = std::move(out[fresh[k]].normalized);
  auto candidates = index->MatchInOrder(
      batch, {.min_probability = options.lower, .limit = 10, .explain = true}, threads);
  ParallelFor(fresh.size(), threads, [&](size_t k, unsigned) {
    Prepared& p = out[fresh[k]];
    p.normalized = std::move(batch[k]);
    p.candidates = std::move(candidates[k]);
    p.link_explanations.resize(p.candidates.size());
    for (size_t c = 0; c < p.candidates.size(); ++c) {
      if (p.candidates[c].probability >= options.upper) {
        p.link_explanations[c] = p.candidates[c].explanation.ToJson();
      }
    }
  });
  return out;
}

Status ProfileService::Impl::RefitModel(const std::vector<identity::NormalizedRecord>& batch) {
  const identity::MatchConfig& config = index->model().config();
  size_t total = index->size() + batch.size();
  if (total < config.min_records_to_train || total < 2 * model_records) return OkStatus();
  ASSIGN_OR_RETURN(identity::MatchModel model, index->Fit(batch, threads));
  Json setting = {{"records", total}, {"model", model.ToJson()}};
  RETURN_IF_ERROR(store.PutSetting(kModelSetting, setting.dump()));
  RETURN_IF_ERROR(index->UseModel(std::move(model)));
  model_records = total;
  return OkStatus();
}

namespace {

// The indexed records of a person (an erased record is no longer indexed).
std::vector<std::string_view> IndexedRecords(const internal::Person& p,
                                             const identity::MatchIndex& index) {
  std::vector<std::string_view> ids;
  ids.reserve(p.records.size());
  for (const internal::Member& m : p.records) {
    if (index.Contains(m.id)) ids.push_back(m.id);
  }
  return ids;
}

// The batch clustering's coherence rule, at its threshold.
identity::ClusterOptions Coherence(const identity::MatchIndex& index) {
  identity::ClusterOptions options;
  options.threshold = index.model().config().threshold;
  return options;
}

}  // namespace

bool ProfileService::Impl::FitsPerson(const Txn& t, const std::string& person,
                                      const identity::NormalizedRecord& record) const {
  const Person* p = Peek(t, person);
  if (!p) return false;
  const identity::ClusterOptions coherence = Coherence(*index);
  if (p->records.size() > coherence.max_cross_pairs) return false;
  std::vector<std::string_view> ids = IndexedRecords(*p, *index);
  std::vector<identity::PairScore> with_record = index->ScoreAgainst(record, ids);
  if (with_record.size() != ids.size()) return false;  // the index changed under us: no link
  // The record is the last of the group; pairs of members are scored only when a conflict
  // needs explaining.
  auto score = [&](size_t i, size_t j) {
    if (i > j) std::swap(i, j);
    if (j == ids.size()) return with_record[i];
    auto s = index->ScoreStored(ids[i], ids[j]);
    return s.ok() ? *s : identity::PairScore{};
  };
  return identity::JoinsCoherently(ids.size(), 1, score, coherence);
}

bool ProfileService::Impl::PersonsCohere(const Txn& t, const std::string& x,
                                         const std::string& y) const {
  const Person* a = Peek(t, x);
  const Person* b = Peek(t, y);
  if (!a || !b) return false;
  const identity::ClusterOptions coherence = Coherence(*index);
  if (a->records.size() * b->records.size() > coherence.max_cross_pairs) return false;
  std::vector<std::string_view> ids = IndexedRecords(*a, *index);
  const size_t a_size = ids.size();
  for (std::string_view id : IndexedRecords(*b, *index)) ids.push_back(id);
  auto score = [&](size_t i, size_t j) {
    auto s = index->ScoreStored(ids[i], ids[j]);
    return s.ok() ? *s : identity::PairScore{};
  };
  return identity::JoinsCoherently(a_size, ids.size() - a_size, score, coherence);
}

Status ProfileService::Impl::ResolveOne(Txn& t, const SourceRecord& rec, const std::string& id,
                                        Prepared& prepared, ResolveSummary& summary) {
  if (!prepared.fresh) {
    summary.already++;
    return OkStatus();
  }
  Member m{id, rec.source, rec.source_key, rec.received_at, rec.fields, std::move(prepared.canon),
           ""};
  Json link;
  std::string target;
  std::vector<identity::MatchCandidate> others;
  std::string sk = SourceKey(rec.source, rec.source_key);
  identity::NormalizedRecord& n = prepared.normalized;
  std::string by_source = t.source_person.count(sk) ? t.source_person[sk]
                          : source_person.count(sk) ? source_person[sk]
                                                    : std::string();
  if (!by_source.empty() && Peek(t, ResolveId(by_source))) {
    target = ResolveId(by_source);
    link = {{"by", "source_key"},
            {"note", "a newer version of a record from the same source and key"},
            {"at", Now()}};
  } else {
    // Best candidate per person, best first (Match returns best first).
    std::set<std::string> seen;
    for (size_t k = 0; k < prepared.candidates.size(); ++k) {
      identity::MatchCandidate& c = prepared.candidates[k];
      std::string p = PersonOf(t, c.id);
      if (p.empty() || !seen.insert(p).second) continue;
      if (target.empty() && c.probability >= options.upper && !c.conflict && FitsPerson(t, p, n)) {
        target = p;
        link = {{"by", "engine"},
                {"score", c.probability},
                {"to", c.id},
                {"at", Now()},
                {"explanation", std::move(prepared.link_explanations[k])}};
      } else {
        others.push_back(std::move(c));
      }
    }
  }
  bool is_new = target.empty();
  if (is_new) {
    target = ids.Next("per");
    Person p;
    p.id = target;
    p.created_at = p.updated_at = clock.Now();
    link = {{"by", "engine"}, {"note", "first record of a new person"}, {"at", Now()}};
    t.persons.emplace(target, std::move(p));
    summary.new_persons++;
  } else {
    summary.linked++;
  }
  Person& p = Touch(t, target);
  p.updated_at = clock.Now();
  Json audit = {
      {"action", is_new ? "person.created" : "record.linked"}, {"record", id}, {"by", "engine"}};
  if (link.contains("score")) audit["score"] = link["score"];
  m.link = link.dump();
  t.record_person[id] = target;
  t.source_person[sk] = target;
  t.new_records.emplace_back(id, std::move(prepared.search_keys));
  RETURN_IF_ERROR(AddToIndex(id, std::move(n)));
  t.indexed.push_back(id);
  p.records.push_back(std::move(m));
  Audit(t, target, audit);
  // A record that matches a second person as surely as its own is what the batch clustering
  // merges the two by: the same coherence rule decides, and the merge is recorded (and can be
  // undone) like one by hand. A pair a person has split stays apart.
  if (!is_new) {
    for (const auto& c : others) {
      if (c.probability < options.upper || c.conflict) continue;
      std::string q = PersonOf(t, c.id);
      if (q.empty() || q == target || Distinct(t, target, q) || !PersonsCohere(t, target, q)) {
        continue;
      }
      ASSIGN_OR_RETURN(Json merge, MergePersons(t, target, q, {"engine", "engine"},
                                                "record " + id + " matches both"));
      target = merge["survivor"].get<std::string>();
      summary.merged++;
    }
  }
  size_t opened = 0;
  for (const auto& c : others) {
    if (opened >= options.max_reviews_per_record) break;
    std::string q = PersonOf(t, c.id);
    if (q == target || Distinct(t, target, q)) continue;
    size_t before = t.reviews.size();
    OpenReview(t, id, c, &summary);
    opened += t.reviews.size() - before;
  }
  AssignHousehold(t, target);
  summary.resolved++;
  return OkStatus();
}

Result<ResolveSummary> ProfileService::Resolve(const std::vector<SourceRecord>& records,
                                               const std::vector<store::RecordPut>& puts) {
  if (records.size() != puts.size()) {
    return InvalidArgument("records and store results differ in number");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<ResolveSummary> {
    Impl::Txn t;
    ResolveSummary summary;
    std::vector<Impl::Prepared> prepared = impl_->Prepare(records, puts);
    for (size_t i = 0; i < records.size(); ++i) {
      Status s = impl_->ResolveOne(t, records[i], puts[i].id, prepared[i], summary);
      if (!s.ok()) {
        for (const auto& id : t.indexed) (void)impl_->index->Remove(id);
        return s;
      }
    }
    RETURN_IF_ERROR(impl_->Commit(t));
    summary.persons.reserve(puts.size());
    for (const auto& put : puts) {
      auto it = impl_->record_person.find(put.id);
      summary.persons.push_back(it == impl_->record_person.end() ? "" : it->second);
    }
    return summary;
  });
}

}  // namespace rapport::profiles

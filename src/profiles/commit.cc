// Commit: one decision's Txn as one Store::Write (with the head revision and a change document
// for other servers), applied to memory only once the store took it.
#include "core/parallel.h"
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::ChangeId;
using internal::kChange;
using internal::kChangeWindow;
using internal::kHead;
using internal::kHeadId;
using internal::kHousehold;
using internal::kLabel;
using internal::kPerson;
using internal::kRedirect;
using internal::kReview;
using internal::PairKey;
using internal::PersonToJsonText;
using internal::ReviewToJson;

Status ProfileService::Impl::Hydrate(const std::vector<Person*>& to_hydrate) {
  std::unordered_map<std::string, Person> stored;  // by the id of the person read
  for (Person* p : to_hydrate) {
    for (Member& m : p->records) {
      if (!m.cold) continue;
      auto owner = record_person.find(m.id);
      const std::string& origin = owner == record_person.end() ? p->id : owner->second;
      auto s = stored.find(origin);
      if (s == stored.end()) {
        // Another server may have changed the person since memory caught up: kAborted, so that
        // the decision is made again on what the store holds now (Decide).
        ASSIGN_OR_RETURN(auto doc, store.GetDocument(kPerson, origin));
        auto known = persons.find(origin);
        if (!doc || known == persons.end() || known->second.revision != doc->revision) {
          return Aborted("person " + origin + " changed on another server; catching up");
        }
        ASSIGN_OR_RETURN(Json j, ParseJson(doc->body));
        auto read = internal::PersonFromJson(j, doc->revision, /*canonical=*/false);
        if (!read.ok()) return read.status().WithContext("person " + origin);
        s = stored.emplace(origin, std::move(read).value()).first;
      }
      auto& from = s->second.records;
      auto it =
          std::find_if(from.begin(), from.end(), [&](const Member& x) { return x.id == m.id; });
      if (it == from.end()) {
        return DataLoss("stored person " + origin +
                        " (at the revision memory has) lacks its record " + m.id);
      }
      m.raw = std::move(it->raw);
      m.link = std::move(it->link);
      m.cold = false;
    }
  }
  return OkStatus();
}

Result<internal::Person> ProfileService::Impl::Hydrated(const Person& p) {
  Person full = p;
  RETURN_IF_ERROR(Hydrate({&full}));
  return full;
}

Status ProfileService::Impl::Commit(Txn& t) {
  store::WriteBatch b;
  std::vector<std::pair<const std::string*, const Person*>> touched;
  touched.reserve(t.persons.size());
  std::vector<Person*> rewritten;
  for (auto& [id, p] : t.persons) rewritten.push_back(&p);
  if (Status s = Hydrate(rewritten); !s.ok()) {
    for (const auto& id : t.indexed) (void)index->Remove(id);
    return s;
  }
  for (const auto& [id, p] : t.persons) {
    if (std::any_of(p.records.begin(), p.records.end(), [](const Member& m) { return m.cold; })) {
      return Internal("person " + id + " would be written without the fields of its records");
    }
    touched.emplace_back(&id, &p);
  }
  std::vector<std::string> texts(touched.size());
  ParallelFor(touched.size(), threads,
              [&](size_t i, unsigned) { texts[i] = PersonToJsonText(*touched[i].second); });
  for (size_t i = 0; i < touched.size(); ++i) {
    const auto& [id, p] = touched[i];
    b.puts.push_back({{kPerson, *id, std::move(texts[i]), 0}, p->revision});
  }
  for (const auto& id : t.deleted_persons) b.deletes.emplace_back(kPerson, id);
  for (auto& [id, h] : t.households) {
    Json body = {{"id", id}, {"key", h.key}, {"members", h.members}};
    b.puts.push_back({{kHousehold, id, body.dump(), 0}, h.revision});
  }
  for (const auto& id : t.deleted_households) b.deletes.emplace_back(kHousehold, id);
  for (const auto& [from, to] : t.redirects) {
    Json body = {{"id", from}, {"to", to}};
    b.puts.push_back({{kRedirect, from, body.dump(), 0}, -1});
  }
  for (const auto& id : t.deleted_redirects) b.deletes.emplace_back(kRedirect, id);
  for (auto& [id, r] : t.reviews) {
    b.puts.push_back({{kReview, id, ReviewToJson(r).dump(), 0}, r.revision});
  }
  for (const auto& l : t.labels) {
    b.puts.push_back({{kLabel, PairKey(l.a, l.b), l.body.dump(), 0}, -1});
  }
  for (const auto& p : t.extra_puts) b.puts.push_back(p);
  b.append = t.logs;
  if (b.empty() && !t.reload_everywhere) return OkStatus();
  Json changed = Json::array();
  for (const auto& put : b.puts) changed.push_back({put.doc.kind, put.doc.id});
  for (const auto& [kind, id] : b.deletes) changed.push_back({kind, id});
  Json change = {{"docs", changed}};
  if (t.reload_everywhere) change["reload"] = true;
  int64_t number = head_revision + 1;
  // The head goes first: on PostgreSQL its row lock then orders whole decisions, so two
  // servers' decisions cannot deadlock on the rows after it.
  b.puts.insert(b.puts.begin(), {{kHead, kHeadId, "{}", 0}, head_revision});
  b.puts.push_back({{kChange, ChangeId(number), change.dump(), 0}, 0});
  if (number > kChangeWindow) b.deletes.emplace_back(kChange, ChangeId(number - kChangeWindow));
  Status s = store.Write(b);
  if (!s.ok()) {
    for (const auto& id : t.indexed) (void)index->Remove(id);
    return s;
  }
  // The store has it: apply to memory.
  head_revision = number;
  for (const auto& id : t.deleted_persons) persons.erase(id);
  for (auto& [id, p] : t.persons) {
    p.revision += 1;
    internal::MakeCold(p);
    persons[id] = std::move(p);
  }
  for (const auto& [rec, per] : t.record_person) record_person[rec] = per;
  for (const auto& [sk, per] : t.source_person) {
    source_person[sk] = per;
    sources.insert(sk.substr(0, sk.find('\x1f')));  // SourceKey's separator
  }
  for (const auto& id : t.deleted_households) {
    if (auto it = households.find(id); it != households.end()) {
      std::erase(households_at[it->second.key], id);
      households.erase(it);
    }
  }
  for (auto& [id, h] : t.households) {
    h.revision += 1;
    auto it = households.find(id);
    if (it == households.end()) {
      households_at[h.key].push_back(id);
    } else if (it->second.key != h.key) {
      std::erase(households_at[it->second.key], id);
      households_at[h.key].push_back(id);
    }
    households[id] = std::move(h);
  }
  for (const auto& id : t.deleted_redirects) EraseRedirect(id);
  for (const auto& [from, to] : t.redirects) SetRedirect(from, to);
  for (auto& [id, r] : t.reviews) {
    r.revision += 1;
    if (!reviews.count(id)) {
      reviews_of_record[r.a].push_back(id);
      reviews_of_record[r.b].push_back(id);
    }
    review_by_pair[PairKey(r.a, r.b)] = id;
    reviews[id] = std::move(r);
  }
  for (const auto& l : t.labels) {
    labels[l.a][l.b] = l.decision;
    labels[l.b][l.a] = l.decision;
  }
  for (const auto& [id, keys] : t.new_records) AddPostings(id, keys);
  return OkStatus();
}

}  // namespace rapport::profiles

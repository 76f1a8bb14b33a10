// Keeping in step with other servers on one store: applies the documents that their decisions
// wrote, as named by the change documents since this memory's head revision.
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::ChangeId;
using internal::kChange;
using internal::kHead;
using internal::kHeadId;
using internal::kHousehold;
using internal::kLabel;
using internal::kPerson;
using internal::kRedirect;
using internal::kReview;
using internal::PairKey;
using internal::PersonFromJson;
using internal::ReviewFromJson;
using internal::SourceKey;

Status ProfileService::Impl::Sync() {
  if (!loaded) return EnsureLoaded();
  ASSIGN_OR_RETURN(auto head, store.GetDocument(kHead, kHeadId));
  int64_t target = head ? head->revision : 0;
  if (target == head_revision) return OkStatus();
  if (target < head_revision) return Reload();  // the store was restored from a backup
  std::set<std::pair<std::string, std::string>> changed;
  int64_t next = head_revision + 1;
  while (next <= target) {
    ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kChange, "", ChangeId(next - 1), 1000));
    if (docs.empty() || docs.front().id != ChangeId(next)) return Reload();  // out of window
    for (const auto& d : docs) {
      if (d.id != ChangeId(next)) return Reload();
      ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
      if (j.value("reload", false)) return Reload();
      for (const auto& kd : j.value("docs", Json::array())) {
        changed.emplace(kd.at(0).get<std::string>(), kd.at(1).get<std::string>());
      }
      ++next;
    }
  }
  for (const auto& [kind, id] : changed) {
    ASSIGN_OR_RETURN(auto doc, store.GetDocument(kind, id));
    RETURN_IF_ERROR(ApplyStored(kind, id, doc));
  }
  head_revision = next - 1;
  return OkStatus();
}

Status ProfileService::Impl::ApplyStored(const std::string& kind, const std::string& id,
                                         const std::optional<store::Document>& d) {
  std::optional<Json> j;
  if (d) {
    ASSIGN_OR_RETURN(j, ParseJson(d->body));
  }
  if (kind == kPerson) {
    if (auto it = persons.find(id); it != persons.end()) {
      if (d && d->revision == it->second.revision) return OkStatus();
      for (const auto& m : it->second.records) {
        if (auto r = record_person.find(m.id); r != record_person.end() && r->second == id) {
          record_person.erase(r);
        }
        auto key = SourceKey(m.source, m.source_key);
        if (auto s = source_person.find(key); s != source_person.end() && s->second == id) {
          source_person.erase(s);
        }
      }
      persons.erase(it);
    }
    if (!d) return OkStatus();
    ASSIGN_OR_RETURN(Person p, PersonFromJson(*j, d->revision));
    for (const auto& m : p.records) {
      record_person[m.id] = p.id;
      source_person[SourceKey(m.source, m.source_key)] = p.id;
      sources.insert(m.source);
      if (!index->Contains(m.id)) {
        RETURN_IF_ERROR(AddToIndex(m.id, m.canon));
        AddPostings(m.id, m.canon);
      }
    }
    internal::MakeCold(p);
    persons[p.id] = std::move(p);
  } else if (kind == kHousehold) {
    if (auto it = households.find(id); it != households.end()) {
      std::erase(households_at[it->second.key], id);
      households.erase(it);
    }
    if (!d) return OkStatus();
    Household h{id, j->value("key", ""), j->value("members", std::vector<std::string>{}),
                d->revision};
    households_at[h.key].push_back(id);
    households[id] = std::move(h);
  } else if (kind == kRedirect) {
    if (d) {
      SetRedirect(id, j->value("to", ""));
    } else {
      EraseRedirect(id);
    }
  } else if (kind == kReview) {
    if (!d) return OkStatus();  // reviews are never deleted, only decided
    Review r = ReviewFromJson(*j, d->revision);
    if (!reviews.count(id)) {
      reviews_of_record[r.a].push_back(id);
      reviews_of_record[r.b].push_back(id);
    }
    review_by_pair[PairKey(r.a, r.b)] = id;
    reviews[id] = std::move(r);
  } else if (kind == kLabel && d) {
    std::string a = j->value("a", ""), b = j->value("b", "");
    labels[a][b] = labels[b][a] = j->value("decision", "");
  }
  return OkStatus();
}

}  // namespace rapport::profiles

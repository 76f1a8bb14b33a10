// Loading: reads the stored persons, redirects, households, reviews and labels into memory
// and builds the match index and search postings from them (on first use, or after erasure).
#include "core/parallel.h"
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

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
using internal::SearchKeys;
using internal::SourceKey;

Status ProfileService::Impl::Setup() {
  const auto& header = CanonicalFields();
  identity::MatchConfig config;
  config.id_column = "id";
  ASSIGN_OR_RETURN(config, identity::ResolveConfig(config, header));
  ASSIGN_OR_RETURN(auto n, identity::RecordNormalizer::Create(config, header));
  normalizer.emplace(std::move(n));
  identity::MatchModel model = identity::MatchModel::Default(config);
  model_records = 0;
  ASSIGN_OR_RETURN(auto fitted, store.GetSetting(kModelSetting));
  if (fitted) {
    ASSIGN_OR_RETURN(Json j, ParseJson(*fitted));
    auto m = identity::MatchModel::FromJson(j.value("model", Json::object()));
    if (!m.ok()) return m.status().WithContext(std::string("setting ") + kModelSetting);
    model = std::move(m).value();
    model_records = j.value("records", size_t{0});
  }
  ASSIGN_OR_RETURN(index, identity::MatchIndex::Create(std::move(model)));
  return OkStatus();
}

template <typename Fn>
Status ProfileService::Impl::ForEachDocument(const char* kind, Fn&& fn) {
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kind, "", after, 1000));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
      RETURN_IF_ERROR(fn(d, j));
    }
    if (docs.size() < 1000) return OkStatus();
    after = docs.back().id;
  }
}

// Persons a page at a time: parsed, normalized and given their search keys on every core,
// then indexed in order. One by one, loading 1M persons took 140 s.
Status ProfileService::Impl::LoadPersons() {
  struct Parsed {
    Status status;
    std::optional<Person> person;
    std::vector<identity::NormalizedRecord> normalized;
    std::vector<std::vector<std::string>> search_keys;
  };
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kPerson, "", after, 1000));
    std::vector<Parsed> parsed(docs.size());
    ParallelFor(docs.size(), threads, [&](size_t i, unsigned) {
      Parsed& out = parsed[i];
      auto j = ParseJson(docs[i].body);
      auto p = j.ok() ? PersonFromJson(*j, docs[i].revision) : Result<Person>(j.status());
      if (!p.ok()) {
        out.status = p.status().WithContext("person " + docs[i].id);
        return;
      }
      for (const auto& m : p->records) {
        out.normalized.push_back(normalizer->Normalize(m.canon));
        out.search_keys.push_back(SearchKeys(m.canon));
      }
      internal::MakeCold(*p);
      out.person = std::move(p).value();
    });
    for (Parsed& loaded : parsed) {
      RETURN_IF_ERROR(loaded.status);
      Person& p = *loaded.person;
      for (size_t r = 0; r < p.records.size(); ++r) {
        const Member& m = p.records[r];
        record_person[m.id] = p.id;
        source_person[SourceKey(m.source, m.source_key)] = p.id;
        sources.insert(m.source);
        RETURN_IF_ERROR(AddToIndex(m.id, std::move(loaded.normalized[r])));
        AddPostings(m.id, loaded.search_keys[r]);
      }
      persons.emplace(p.id, std::move(p));
    }
    if (docs.size() < 1000) return OkStatus();
    after = docs.back().id;
  }
}

Status ProfileService::Impl::EnsureLoaded() {
  if (loaded) return OkStatus();
  ASSIGN_OR_RETURN(auto configured, store.GetSetting(kOptionsSetting));
  if (configured) {
    ASSIGN_OR_RETURN(Json j, ParseJson(*configured));
    auto o = Options::FromJson(j);
    if (!o.ok()) return o.status().WithContext(std::string("setting ") + kOptionsSetting);
    options = *o;
  }
  RETURN_IF_ERROR(Setup());
  // Read before the documents: a change that lands while they load is applied again by the
  // next Sync, which is harmless.
  ASSIGN_OR_RETURN(auto head, store.GetDocument(kHead, kHeadId));
  head_revision = head ? head->revision : 0;
  RETURN_IF_ERROR(LoadPersons());
  RETURN_IF_ERROR(ForEachDocument(kRedirect, [&](const store::Document& d, const Json& j) {
    SetRedirect(d.id, j.value("to", ""));
    return OkStatus();
  }));
  RETURN_IF_ERROR(ForEachDocument(kHousehold, [&](const store::Document& d, const Json& j) {
    Household h{d.id, j.value("key", ""), j.value("members", std::vector<std::string>{}),
                d.revision};
    households_at[h.key].push_back(h.id);
    households.emplace(h.id, std::move(h));
    return OkStatus();
  }));
  RETURN_IF_ERROR(ForEachDocument(kReview, [&](const store::Document& d, const Json& j) {
    Review r = ReviewFromJson(j, d.revision);
    review_by_pair[PairKey(r.a, r.b)] = r.id;
    reviews_of_record[r.a].push_back(r.id);
    reviews_of_record[r.b].push_back(r.id);
    reviews.emplace(r.id, std::move(r));
    return OkStatus();
  }));
  RETURN_IF_ERROR(ForEachDocument(kLabel, [&](const store::Document&, const Json& j) {
    std::string a = j.value("a", ""), b = j.value("b", ""), dec = j.value("decision", "");
    labels[a][b] = dec;
    labels[b][a] = dec;
    return OkStatus();
  }));
  loaded = true;
  return OkStatus();
}

Status ProfileService::Impl::Reload() {
  loaded = false;
  index.reset();
  normalizer.reset();
  persons.clear();
  record_person.clear();
  source_person.clear();
  sources.clear();
  redirects.clear();
  merged_into.clear();
  households.clear();
  households_at.clear();
  reviews.clear();
  review_by_pair.clear();
  reviews_of_record.clear();
  labels.clear();
  postings.clear();
  posted.clear();
  event_cursor = 0;
  events_by_value.clear();
  event_subjects.clear();
  return EnsureLoaded();
}

Status ProfileService::Impl::AddToIndex(const std::string& id, const Fields& canon) {
  return AddToIndex(id, normalizer->Normalize(canon));
}

Status ProfileService::Impl::AddToIndex(const std::string& id, identity::NormalizedRecord n) {
  Status s = index->Add(id, std::move(n));
  if (s.code() == StatusCode::kAlreadyExists) return OkStatus();
  return s;
}

void ProfileService::Impl::EraseRedirect(const std::string& from) {
  auto it = redirects.find(from);
  if (it == redirects.end()) return;
  std::erase(merged_into[it->second], from);
  redirects.erase(it);
}

void ProfileService::Impl::SetRedirect(const std::string& from, const std::string& to) {
  EraseRedirect(from);
  redirects[from] = to;
  merged_into[to].push_back(from);
}

}  // namespace rapport::profiles

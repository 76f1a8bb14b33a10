// ProfileService: incremental identity resolution over the store. Every decision is staged
// in a Txn (copies of the persons, households, reviews it touches), written with one
// Store::Write, and only then applied to the in-memory state, so a failed write leaves
// memory as the store has it.
#include "profiles/profiles.h"

#include <algorithm>
#include <bit>
#include <deque>
#include <random>
#include <thread>
#include <unordered_set>

#include "core/parallel.h"
#include "identity/comparators.h"
#include "identity/normalize.h"

namespace rapport::profiles {

namespace {

constexpr char kPerson[] = "person";
constexpr char kRedirect[] = "person-redirect";
constexpr char kHousehold[] = "household";
constexpr char kReview[] = "review";
constexpr char kLabel[] = "match-label";
constexpr char kMerge[] = "merge";
constexpr char kAuditStream[] = "profiles";
// Servers sharing one store keep their in-memory state (match index, persons, reviews) in
// step through these: every decision bumps the head document's revision (optimistically, so
// two servers cannot decide on stale state at once) and writes a change document, numbered
// by that revision, naming the documents it wrote. A server whose head revision is behind
// re-reads just those documents. The last kChangeWindow changes are kept; a server further
// behind reloads everything.
constexpr char kHead[] = "profiles-head";
constexpr char kHeadId[] = "head";
constexpr char kChange[] = "profiles-change";
constexpr int64_t kChangeWindow = 100000;
constexpr int kMaxAttempts = 50;
constexpr size_t kMaxLabelPairs = 200;
constexpr size_t kEventsPerValue = 50;
constexpr size_t kMaxPosting = 20000;
constexpr size_t kMaxScored = 100;
constexpr size_t kMaxPostingRead = 5000;

struct Member {
  std::string id, source, source_key;
  Time received_at{};
  Fields raw;
  Fields canon;
  // JSON text, not a parsed Json: an explanation held parsed costs several times its size,
  // and every stored record keeps one in memory.
  std::string link;
};

struct Person {
  std::string id;
  Time created_at{}, updated_at{};
  std::vector<Member> records;
  std::string household;
  int64_t revision = 0;
};

struct Household {
  std::string id, key;
  std::vector<std::string> members;
  int64_t revision = 0;
};

struct Review {
  std::string id, a, b;
  double probability = 0;
  Json explanation;
  std::string status = "open";
  std::string decided_by;
  std::string created_at, decided_at;
  int64_t revision = 0;
};

struct Label {
  std::string a, b, decision;
  Json body;
};

std::string PairKey(const std::string& a, const std::string& b) {
  return a < b ? a + "~" + b : b + "~" + a;
}

std::string SourceKey(const std::string& source, const std::string& key) {
  return source + '\x1f' + key;
}

Json FieldsToObject(const Fields& f) {
  Json o = Json::object();
  for (const auto& [n, v] : f) o[n] = v;
  return o;
}

// The stored person document, exactly as the Json value with these keys would dump, written
// as text: a person is rewritten whenever a record joins it, and building that value (parsing
// every record's link back from its text) was 10% of an import.
std::string PersonToJsonText(const Person& p) {
  std::string out;
  out.reserve(128 + 768 * p.records.size());
  auto key = [&out](std::string_view k, std::string_view v) {
    out += k;
    AppendJsonString(out, v);
  };
  key("{\"created_at\":", FormatTime(p.created_at));
  key(",\"household\":", p.household);
  key(",\"id\":", p.id);
  out += ",\"records\":[";
  for (size_t i = 0; i < p.records.size(); ++i) {
    const Member& m = p.records[i];
    out += i ? ",{\"fields\":[" : "{\"fields\":[";
    for (size_t f = 0; f < m.raw.size(); ++f) {
      out += f ? ",[" : "[";
      AppendJsonString(out, m.raw[f].first);
      out += ',';
      AppendJsonString(out, m.raw[f].second);
      out += ']';
    }
    key("],\"id\":", m.id);
    out += ",\"link\":";
    out += m.link.empty() ? "{}" : m.link;  // Json text already (a dump)
    key(",\"received_at\":", FormatTime(m.received_at));
    key(",\"source\":", m.source);
    key(",\"source_key\":", m.source_key);
    out += '}';
  }
  key("],\"updated_at\":", FormatTime(p.updated_at));
  out += '}';
  return out;
}

Result<Person> PersonFromJson(const Json& j, int64_t revision) {
  try {
    Person p;
    p.id = j.at("id").get<std::string>();
    ASSIGN_OR_RETURN(p.created_at, ParseTime(j.at("created_at").get<std::string>()));
    ASSIGN_OR_RETURN(p.updated_at, ParseTime(j.at("updated_at").get<std::string>()));
    p.household = j.value("household", "");
    p.revision = revision;
    for (const auto& r : j.at("records")) {
      Member m;
      m.id = r.at("id").get<std::string>();
      m.source = r.at("source").get<std::string>();
      m.source_key = r.at("source_key").get<std::string>();
      ASSIGN_OR_RETURN(m.received_at, ParseTime(r.at("received_at").get<std::string>()));
      for (const auto& f : r.at("fields")) {
        m.raw.emplace_back(f.at(0).get<std::string>(), f.at(1).get<std::string>());
      }
      m.canon = CanonicalizeFields(m.raw);
      m.link = r.value("link", Json::object()).dump();
      p.records.push_back(std::move(m));
    }
    return p;
  } catch (const Json::exception& e) {
    return DataLoss(std::string("stored person is damaged: ") + e.what());
  }
}

Json ReviewToJson(const Review& r) {
  Json j = {{"id", r.id},
            {"record", r.a},
            {"candidate", r.b},
            {"probability", r.probability},
            {"explanation", r.explanation},
            {"status", r.status},
            {"created_at", r.created_at}};
  if (!r.decided_by.empty()) {
    j["decided_by"] = r.decided_by;
    j["decided_at"] = r.decided_at;
  }
  return j;
}

Review ReviewFromJson(const Json& j, int64_t revision) {
  Review r;
  r.id = j.value("id", "");
  r.a = j.value("record", "");
  r.b = j.value("candidate", "");
  r.probability = j.value("probability", 0.0);
  r.explanation = j.value("explanation", Json::object());
  r.status = j.value("status", "open");
  r.created_at = j.value("created_at", "");
  r.decided_by = j.value("decided_by", "");
  r.decided_at = j.value("decided_at", "");
  r.revision = revision;
  return r;
}

// Words of a record for fuzzy search, folded.
std::vector<std::string> SearchWords(const Fields& canon) {
  std::vector<std::string> words;
  for (const char* f :
       {"given_name", "surname", "street", "house_number", "city", "postcode", "address_extra"}) {
    if (const auto* v = FindField(canon, f)) {
      std::string folded = identity::FoldText(*v);
      for (auto t : identity::Tokens(folded)) words.emplace_back(t);
    }
  }
  return words;
}

// Posting keys of a record: exact words, their Kölner Phonetik code and 4-letter prefix,
// the canonical e-mail and the E.164 phone number.
std::vector<std::string> SearchKeys(const Fields& canon) {
  std::vector<std::string> keys;
  for (const auto& w : SearchWords(canon)) {
    keys.push_back("t:" + w);
    if (w.size() >= 2 && !std::isdigit(static_cast<unsigned char>(w[0]))) {
      std::string code = identity::KoelnerPhonetik(w);
      if (!code.empty()) keys.push_back("p:" + code);
    }
    if (w.size() >= 4) keys.push_back("f:" + w.substr(0, 4));
  }
  if (const auto* e = FindField(canon, "email")) {
    if (auto n = identity::NormalizeEmail(*e)) keys.push_back("e:" + n->canonical);
  }
  if (const auto* p = FindField(canon, "phone")) {
    if (auto n = identity::NormalizePhone(*p)) keys.push_back("n:" + *n);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// Zero-padded so that document id order is number order.
std::string ChangeId(int64_t n) {
  std::string digits = std::to_string(n);
  return std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits;
}

std::string DisplayName(const std::map<std::string, GoldenValue>& g) {
  std::string name;
  if (auto it = g.find("given_name"); it != g.end()) name = it->second.value;
  if (auto it = g.find("surname"); it != g.end()) {
    name += (name.empty() ? "" : " ") + it->second.value;
  }
  return name;
}

}  // namespace

struct ProfileService::Impl {
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
  std::optional<identity::RecordNormalizer> normalizer;

  std::unordered_map<std::string, Person> persons;
  std::unordered_map<std::string, std::string> record_person;
  std::unordered_map<std::string, std::string> source_person;
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
  std::unordered_map<std::string, std::deque<std::pair<int64_t, std::string>>> events_by_value;

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

  // --- Loading ---------------------------------------------------------------------------

  Status Setup() {
    const auto& header = CanonicalFields();
    identity::MatchConfig config;
    config.id_column = "id";
    ASSIGN_OR_RETURN(config, identity::ResolveConfig(config, header));
    ASSIGN_OR_RETURN(auto n, identity::RecordNormalizer::Create(config, header));
    normalizer.emplace(std::move(n));
    ASSIGN_OR_RETURN(index, identity::MatchIndex::Create(identity::MatchModel::Default(config)));
    return OkStatus();
  }

  template <typename Fn>
  Status ForEachDocument(const char* kind, Fn&& fn) {
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
  Status LoadPersons() {
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
        out.person = std::move(p).value();
      });
      for (Parsed& loaded : parsed) {
        RETURN_IF_ERROR(loaded.status);
        Person& p = *loaded.person;
        for (size_t r = 0; r < p.records.size(); ++r) {
          const Member& m = p.records[r];
          record_person[m.id] = p.id;
          source_person[SourceKey(m.source, m.source_key)] = p.id;
          RETURN_IF_ERROR(AddToIndex(m.id, std::move(loaded.normalized[r])));
          AddPostings(m.id, loaded.search_keys[r]);
        }
        persons.emplace(p.id, std::move(p));
      }
      if (docs.size() < 1000) return OkStatus();
      after = docs.back().id;
    }
  }

  Status EnsureLoaded() {
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

  // Forgets everything in memory and loads it again from the store (after an erasure changed
  // stored documents underneath the caches).
  Status Reload() {
    loaded = false;
    index.reset();
    normalizer.reset();
    persons.clear();
    record_person.clear();
    source_person.clear();
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
    return EnsureLoaded();
  }

  Status AddToIndex(const std::string& id, const Fields& canon) {
    return AddToIndex(id, normalizer->Normalize(canon));
  }

  void EraseRedirect(const std::string& from) {
    auto it = redirects.find(from);
    if (it == redirects.end()) return;
    std::erase(merged_into[it->second], from);
    redirects.erase(it);
  }
  void SetRedirect(const std::string& from, const std::string& to) {
    EraseRedirect(from);
    redirects[from] = to;
    merged_into[to].push_back(from);
  }

  // --- Keeping in step with other servers on the same store ---------------------------------

  // Brings memory up to the store's head: applies the documents that other servers' decisions
  // wrote since this memory's head revision. One document read when nothing changed.
  Status Sync() {
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

  // Replaces the cached copy of one document with what the store holds (nullopt: deleted).
  Status ApplyStored(const std::string& kind, const std::string& id,
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
        if (!index->Contains(m.id)) {
          RETURN_IF_ERROR(AddToIndex(m.id, m.canon));
          AddPostings(m.id, m.canon);
        }
      }
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

  // Runs one decision on current state: syncs, decides, commits; when another server
  // committed in between (kAborted), syncs again and decides anew, after a short random
  // pause once it lost twice, so that servers racing for the head take turns.
  template <typename Fn>
  auto Decide(Fn&& decide) -> decltype(decide()) {
    thread_local std::minstd_rand jitter(
        static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id())));
    for (int attempt = 1;; ++attempt) {
      RETURN_IF_ERROR(Sync());
      auto result = decide();
      if (result.ok() || result.status().code() != StatusCode::kAborted ||
          attempt == kMaxAttempts) {
        return result;
      }
      if (attempt >= 2) {
        int most = std::min(attempt, 20) * 500;
        std::this_thread::sleep_for(std::chrono::microseconds(jitter() % most));
      }
    }
  }
  Status AddToIndex(const std::string& id, identity::NormalizedRecord n) {
    Status s = index->Add(id, std::move(n));
    if (s.code() == StatusCode::kAlreadyExists) return OkStatus();
    return s;
  }

  void AddPostings(const std::string& record_id, const Fields& canon) {
    AddPostings(record_id, SearchKeys(canon));
  }
  void AddPostings(const std::string& record_id, const std::vector<std::string>& keys) {
    const auto number = static_cast<uint32_t>(posted.size());
    posted.push_back(record_id);
    for (const auto& k : keys) postings[k].push_back(number);
  }

  // --- Lookups through the open transaction ----------------------------------------------

  std::string ResolveId(std::string id) const {
    for (int hops = 0; hops < 100; ++hops) {
      auto it = redirects.find(id);
      if (it == redirects.end()) return id;
      id = it->second;
    }
    return id;
  }

  const Person* Peek(const Txn& t, const std::string& id) const {
    if (t.deleted_persons.count(id)) return nullptr;
    if (auto it = t.persons.find(id); it != t.persons.end()) return &it->second;
    auto it = persons.find(id);
    return it == persons.end() ? nullptr : &it->second;
  }

  Person& Touch(Txn& t, const std::string& id) {
    auto it = t.persons.find(id);
    if (it != t.persons.end()) return it->second;
    return t.persons.emplace(id, persons.at(id)).first->second;
  }

  std::string PersonOf(const Txn& t, const std::string& record) const {
    if (auto it = t.record_person.find(record); it != t.record_person.end()) return it->second;
    auto it = record_person.find(record);
    return it == record_person.end() ? std::string() : it->second;
  }

  const Household* PeekHousehold(const Txn& t, const std::string& id) const {
    if (t.deleted_households.count(id)) return nullptr;
    if (auto it = t.households.find(id); it != t.households.end()) return &it->second;
    auto it = households.find(id);
    return it == households.end() ? nullptr : &it->second;
  }

  Household& TouchHousehold(Txn& t, const std::string& id) {
    auto it = t.households.find(id);
    if (it != t.households.end()) return it->second;
    return t.households.emplace(id, households.at(id)).first->second;
  }

  std::string LabelOf(const Txn& t, const std::string& a, const std::string& b) const {
    for (auto it = t.labels.rbegin(); it != t.labels.rend(); ++it) {
      if ((it->a == a && it->b == b) || (it->a == b && it->b == a)) return it->decision;
    }
    auto it = labels.find(a);
    if (it == labels.end()) return {};
    auto jt = it->second.find(b);
    return jt == it->second.end() ? std::string() : jt->second;
  }

  // True if some record of person p is labelled distinct from some record of person q.
  bool Distinct(const Txn& t, const std::string& p, const std::string& q) const {
    const Person* pp = Peek(t, p);
    if (!pp) return false;
    for (const auto& m : pp->records) {
      if (auto it = labels.find(m.id); it != labels.end()) {
        for (const auto& [other, dec] : it->second) {
          if (dec == "distinct" && PersonOf(t, other) == q) return true;
        }
      }
    }
    for (const auto& l : t.labels) {
      if (l.decision != "distinct") continue;
      std::string pa = PersonOf(t, l.a), pb = PersonOf(t, l.b);
      if ((pa == p && pb == q) || (pa == q && pb == p)) return true;
    }
    return false;
  }

  std::string Now() const { return FormatTime(clock.Now()); }

  std::string RecordOwner(const std::string& record) const {
    auto it = record_person.find(record);
    return it == record_person.end() ? std::string() : it->second;
  }

  void Audit(Txn& t, const std::string& person, Json body) {
    body["at"] = Now();
    t.logs.push_back({kAuditStream, person, body.dump(), clock.Now(), 0});
  }

  void AddLabel(Txn& t, const std::string& a, const std::string& b, const std::string& decision,
                const Actor& by, const std::string& reason) {
    Json body = {{"a", std::min(a, b)}, {"b", std::max(a, b)}, {"decision", decision},
                 {"by", by.name},       {"by_kind", by.kind},  {"reason", reason},
                 {"at", Now()}};
    t.labels.push_back({a, b, decision, std::move(body)});
  }

  // --- Households --------------------------------------------------------------------------

  // The address the person lives at: the most recent record with a usable address.
  const Member* AddressRecord(const Person& p) const {
    const Member* best = nullptr;
    for (const auto& m : p.records) {
      if (HouseholdKey(m.canon).empty()) continue;
      if (!best || m.received_at > best->received_at ||
          (m.received_at == best->received_at && m.id > best->id)) {
        best = &m;
      }
    }
    return best;
  }

  std::set<std::string> Surnames(const Person& p) const {
    std::set<std::string> s;
    for (const auto& m : p.records) {
      if (const auto* v = FindField(m.canon, "surname")) {
        std::string k = SurnameKey(*v);
        if (!k.empty()) s.insert(k);
      }
    }
    return s;
  }

  void LeaveHousehold(Txn& t, Person& p) {
    if (p.household.empty()) return;
    if (PeekHousehold(t, p.household)) {
      Household& h = TouchHousehold(t, p.household);
      std::erase(h.members, p.id);
      if (h.members.empty()) {
        t.deleted_households.insert(h.id);
        t.households.erase(h.id);
      }
    }
    p.household.clear();
  }

  std::vector<std::string> HouseholdsAt(const Txn& t, const std::string& key) const {
    std::vector<std::string> out;
    if (auto it = households_at.find(key); it != households_at.end()) {
      for (const auto& id : it->second) {
        const Household* h = PeekHousehold(t, id);
        if (h && h->key == key) out.push_back(id);
      }
    }
    for (const auto& [id, h] : t.households) {
      if (h.key == key && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  void AssignHousehold(Txn& t, const std::string& person_id) {
    Person& p = Touch(t, person_id);
    const Member* addr = AddressRecord(p);
    std::string key = addr ? HouseholdKey(addr->canon) : std::string();
    if (!p.household.empty()) {
      const Household* h = PeekHousehold(t, p.household);
      if (h && h->key == key) return;
      LeaveHousehold(t, p);
    }
    if (key.empty()) return;
    std::set<std::string> mine = Surnames(p);
    for (const auto& hid : HouseholdsAt(t, key)) {
      const Household* h = PeekHousehold(t, hid);
      bool shares = false;
      for (const auto& member : h->members) {
        const Person* other = Peek(t, member);
        if (!other) continue;
        for (const auto& s : Surnames(*other)) shares = shares || mine.count(s);
      }
      if (shares) {
        TouchHousehold(t, hid).members.push_back(p.id);
        p.household = hid;
        return;
      }
    }
    Household h{ids.Next("hh"), key, {p.id}, 0};
    p.household = h.id;
    t.households.emplace(h.id, std::move(h));
  }

  // --- Commit ------------------------------------------------------------------------------

  Status Commit(Txn& t) {
    store::WriteBatch b;
    std::vector<std::pair<const std::string*, const Person*>> touched;
    touched.reserve(t.persons.size());
    for (const auto& [id, p] : t.persons) touched.emplace_back(&id, &p);
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
      persons[id] = std::move(p);
    }
    for (const auto& [rec, per] : t.record_person) record_person[rec] = per;
    for (const auto& [sk, per] : t.source_person) source_person[sk] = per;
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

  // --- Resolution --------------------------------------------------------------------------

  void OpenReview(Txn& t, const std::string& a, const identity::MatchCandidate& c,
                  ResolveSummary* summary) {
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
                                const std::vector<store::RecordPut>& puts) {
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

  Status ResolveOne(Txn& t, const SourceRecord& rec, const std::string& id, Prepared& prepared,
                    ResolveSummary& summary) {
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
        if (target.empty() && c.probability >= options.upper) {
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

  // --- Merge, split, undo -----------------------------------------------------------------

  Result<Json> MergePersons(Txn& t, const std::string& x, const std::string& y, const Actor& by,
                            const std::string& reason) {
    if (x == y) return FailedPrecondition("the two ids name one person");
    std::string survivor = std::min(x, y), absorbed = std::max(x, y);
    Person& s = Touch(t, survivor);
    Person a = *Peek(t, absorbed);
    LeaveHousehold(t, a);
    Json moved = Json::array();
    for (auto& m : a.records) {
      moved.push_back(m.id);
      t.record_person[m.id] = survivor;
      t.source_person[SourceKey(m.source, m.source_key)] = survivor;
      s.records.push_back(std::move(m));
    }
    s.updated_at = clock.Now();
    t.persons.erase(absorbed);
    t.deleted_persons.insert(absorbed);
    t.redirects[absorbed] = survivor;
    t.deleted_redirects.erase(absorbed);
    Json doc = {{"id", ids.Next("mrg")},
                {"survivor", survivor},
                {"absorbed", absorbed},
                {"absorbed_created_at", FormatTime(a.created_at)},
                {"absorbed_records", moved},
                {"by", by.name},
                {"by_kind", by.kind},
                {"reason", reason},
                {"at", Now()}};
    t.extra_puts.push_back({{kMerge, doc["id"].get<std::string>(), doc.dump(), 0}, 0});
    AssignHousehold(t, survivor);
    Json audit = {{"action", "person.merged"}, {"merge", doc["id"]}, {"survivor", survivor},
                  {"absorbed", absorbed},      {"by", by.name},      {"reason", reason}};
    Audit(t, survivor, audit);
    Audit(t, absorbed, audit);
    return doc;
  }

  // Moves `records` out of person `from` into person `to` (created with `to_created_at` if
  // it does not exist) and labels every moved record distinct from the ones that stay.
  Status MoveOut(Txn& t, const std::string& from, const std::set<std::string>& records,
                 const std::string& to, Time to_created_at, const Actor& by,
                 const std::string& reason) {
    Person& src = Touch(t, from);
    Person dst;
    dst.id = to;
    dst.created_at = to_created_at;
    dst.updated_at = clock.Now();
    std::vector<Member> keep;
    for (auto& m : src.records) {
      if (records.count(m.id)) {
        t.record_person[m.id] = to;
        t.source_person[SourceKey(m.source, m.source_key)] = to;
        dst.records.push_back(std::move(m));
      } else {
        keep.push_back(std::move(m));
      }
    }
    src.records = std::move(keep);
    src.updated_at = clock.Now();
    size_t pairs = 0;
    for (const auto& moved : dst.records) {
      for (const auto& stay : src.records) {
        if (pairs++ >= kMaxLabelPairs) break;
        AddLabel(t, moved.id, stay.id, "distinct", by, reason);
      }
    }
    t.deleted_persons.erase(to);
    t.persons[to] = std::move(dst);
    AssignHousehold(t, from);
    AssignHousehold(t, to);
    return OkStatus();
  }

  // --- Views -------------------------------------------------------------------------------

  std::map<std::string, GoldenValue> Golden(const Person& p) const {
    std::vector<RecordView> views;
    for (const auto& m : p.records) views.push_back({m.id, m.source, m.received_at, &m.canon});
    return GoldenRecord(views, options.golden);
  }

  Addressee AddresseeOf(const Person& p) const {
    auto g = Golden(p);
    Addressee a;
    if (auto it = g.find("given_name"); it != g.end()) a.given_name = it->second.value;
    if (auto it = g.find("surname"); it != g.end()) a.surname = it->second.value;
    return a;
  }

  Json AddressJson(const Person& p) const {
    Json j = Json::object();
    if (const Member* m = AddressRecord(p)) {
      for (const char* f : {"street", "house_number", "address_extra", "postcode", "city"}) {
        if (const auto* v = FindField(m->canon, f)) j[f] = *v;
      }
      j["record"] = m->id;
    }
    return j;
  }

  Json HouseholdJson(const Household& h) const {
    Json members = Json::array();
    std::vector<Addressee> names;
    const Person* first = nullptr;
    for (const auto& id : h.members) {
      auto it = persons.find(id);
      if (it == persons.end()) continue;
      if (!first) first = &it->second;
      names.push_back(AddresseeOf(it->second));
      members.push_back({{"id", id}, {"name", DisplayName(Golden(it->second))}});
    }
    return {{"id", h.id},
            {"salutation", Salutation(names)},
            {"address", first ? AddressJson(*first) : Json::object()},
            {"members", members}};
  }

  Status CatchUpEvents() {
    while (true) {
      ASSIGN_OR_RETURN(auto page, store.ListEvents({.after = event_cursor, .limit = 1000}));
      for (const auto& e : page.events) {
        auto note = [&](const std::string& v) {
          if (v.empty()) return;
          auto& q = events_by_value[v];
          q.emplace_back(e.seq, e.id);
          if (q.size() > kEventsPerValue) q.pop_front();
        };
        note(e.subject);
        for (const auto& [k, v] : e.keys) {
          if (v != e.subject) note(v);
        }
        event_cursor = std::max(event_cursor, e.seq);
      }
      if (page.next_after == 0 || page.events.empty()) return OkStatus();
    }
  }

  Result<Json> PersonView(const Person& p, int events_limit) {
    Json j = {{"id", p.id},
              {"created_at", FormatTime(p.created_at)},
              {"updated_at", FormatTime(p.updated_at)},
              {"golden", GoldenToJson(Golden(p))},
              {"address", AddressJson(p)}};
    Json recs = Json::array();
    std::set<std::string> values = {p.id};
    for (const auto& m : p.records) {
      recs.push_back({{"id", m.id},
                      {"source", m.source},
                      {"source_key", m.source_key},
                      {"received_at", FormatTime(m.received_at)},
                      {"fields", FieldsToObject(m.raw)},
                      {"link", Json::parse(m.link)}});
      values.insert(m.source_key);
    }
    j["records"] = recs;
    if (auto it = households.find(p.household); it != households.end()) {
      j["household"] = HouseholdJson(it->second);
    } else {
      j["household"] = nullptr;
    }
    Json open = Json::array();
    std::set<std::string> seen_reviews;
    for (const auto& m : p.records) {
      auto it = reviews_of_record.find(m.id);
      if (it == reviews_of_record.end()) continue;
      for (const auto& rid : it->second) {
        auto r = reviews.find(rid);
        if (r != reviews.end() && r->second.status == "open" && seen_reviews.insert(rid).second) {
          open.push_back(ReviewToJson(r->second));
        }
      }
    }
    j["reviews"] = open;
    RETURN_IF_ERROR(CatchUpEvents());
    std::vector<std::pair<int64_t, std::string>> evs;
    for (const auto& v : values) {
      if (auto it = events_by_value.find(v); it != events_by_value.end()) {
        evs.insert(evs.end(), it->second.begin(), it->second.end());
      }
    }
    std::sort(evs.rbegin(), evs.rend());
    evs.erase(std::unique(evs.begin(), evs.end()), evs.end());
    Json events = Json::array();
    for (const auto& [seq, eid] : evs) {
      if (static_cast<int>(events.size()) >= events_limit) break;
      ASSIGN_OR_RETURN(Event e, store.GetEvent(eid));
      events.push_back(EventToJson(e));
    }
    j["events"] = events;
    ASSIGN_OR_RETURN(auto lines, store.ReadLog(kAuditStream, p.id, 0, 200));
    Json audit = Json::array();
    for (const auto& l : lines) {
      auto body = ParseJson(l.body);
      audit.push_back(body.ok() ? *body : Json(l.body));
    }
    j["audit"] = audit;
    return j;
  }
};

Result<Options> Options::FromJson(const Json& j) {
  Options o;
  if (!j.is_object()) return InvalidArgument("profile options must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key == "link_threshold" || key == "review_threshold") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1) {
        return InvalidArgument("must be a probability in (0, 1]", key);
      }
      (key == "link_threshold" ? o.upper : o.lower) = value.get<double>();
    } else if (key == "golden") {
      auto g = GoldenRules::FromJson(value);
      if (!g.ok()) return g.status().WithWhere("golden." + g.status().where());
      o.golden = *g;
    } else {
      return InvalidArgument("unknown key '" + key + "'", key);
    }
  }
  if (o.lower > o.upper) {
    return InvalidArgument("review_threshold must not exceed link_threshold", "review_threshold");
  }
  return o;
}

Json Options::ToJson() const {
  return {{"link_threshold", upper}, {"review_threshold", lower}, {"golden", golden.ToJson()}};
}

std::string MailingToCsv(const MailingSummary& mailing) {
  auto quote = [](const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string q = "\"";
    for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out =
      "household,salutation,street,house_number,address_extra,postcode,city,persons\r\n";
  for (const auto& e : mailing.entries) {
    const Json& a = e["address"];
    std::string persons;
    for (const auto& p : e["persons"])
      persons += (persons.empty() ? "" : " ") + p.get<std::string>();
    out +=
        quote(e["household"].get<std::string>()) + "," + quote(e["salutation"].get<std::string>());
    for (const char* f : {"street", "house_number", "address_extra", "postcode", "city"}) {
      out += "," + quote(a.value(f, ""));
    }
    out += "," + quote(persons) + "\r\n";
  }
  return out;
}

Json MailingToJson(const MailingSummary& m) {
  size_t duplicates = m.records - m.persons - m.without_address;
  size_t same_household = m.persons - m.households;
  return {{"entries", m.entries},
          {"counts",
           {{"source_customers", m.records},
            {"persons", m.persons},
            {"households", m.households},
            {"without_address", m.without_address},
            {"avoided",
             {{"duplicates", duplicates},
              {"same_household", same_household},
              {"total", duplicates + same_household}}}}}};
}

ProfileService::ProfileService(store::Store& store, const Clock& clock, IdSource& ids,
                               Options options)
    : impl_(std::make_unique<Impl>(store, clock, ids, std::move(options))) {}

ProfileService::~ProfileService() = default;

Status ProfileService::Load() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->EnsureLoaded();
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
    return summary;
  });
}

Result<Json> ProfileService::GetPerson(const std::string& id, int events_limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  std::string current = impl_->ResolveId(id);
  auto it = impl_->persons.find(current);
  if (it == impl_->persons.end()) return NotFound("no person " + id, "id");
  ASSIGN_OR_RETURN(Json j, impl_->PersonView(it->second, events_limit));
  if (current != id) j["redirected_from"] = id;
  return j;
}

Result<Json> ProfileService::ErasePerson(const std::string& id, const Actor& by,
                                         const std::function<Status(const Json&)>& erase_data) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Result<Json> view = impl_->Decide([&]() -> Result<Json> {
    Impl& m = *impl_;
    std::string current = m.ResolveId(id);
    auto it = m.persons.find(current);
    if (it == m.persons.end()) return NotFound("no person " + id, "id");
    ASSIGN_OR_RETURN(Json view, m.PersonView(it->second, 1000));
    Impl::Txn t;
    Person p = it->second;
    m.LeaveHousehold(t, p);
    t.deleted_persons.insert(current);
    // Review explanations hold the compared values of both records.
    for (const auto& member : p.records) {
      auto r = m.reviews_of_record.find(member.id);
      if (r == m.reviews_of_record.end()) continue;
      for (const auto& rid : r->second) {
        auto review = m.reviews.find(rid);
        if (review == m.reviews.end()) continue;
        Review redacted = review->second;
        redacted.explanation = Json{{"erased", true}};
        t.reviews[rid] = std::move(redacted);
      }
    }
    m.Audit(t, current, {{"action", "person.erased"}, {"by", by.name}, {"by_kind", by.kind}});
    RETURN_IF_ERROR(m.Commit(t));
    return view;
  });
  if (!view.ok()) return view;
  // Outside the retried decision: the person is gone now, so a retry would only answer "no
  // person" and hide why erase_data or the announcement failed.
  Status erased = erase_data ? erase_data(*view) : OkStatus();
  // Whatever erase_data changed underneath (and the index entries of the erased records) is
  // rebuilt from the store, even when it failed half-way; other servers are told to do the
  // same, since the erasure rewrote documents without naming them in a change.
  Status reloaded = impl_->Reload();
  if (reloaded.ok()) {
    reloaded = impl_
                   ->Decide([&]() -> Result<bool> {
                     Impl::Txn announce;
                     announce.reload_everywhere = true;
                     RETURN_IF_ERROR(impl_->Commit(announce));
                     return true;
                   })
                   .status();
  }
  RETURN_IF_ERROR(erased);
  RETURN_IF_ERROR(reloaded);
  return view;
}

Result<Json> ProfileService::Search(const std::string& query, int limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  Impl& m = *impl_;
  std::string q = query;
  std::map<std::string, double> record_score;
  auto lookup = [&](const std::string& key) -> const std::vector<uint32_t>* {
    auto it = m.postings.find(key);
    return it == m.postings.end() ? nullptr : &it->second;
  };
  size_t digits = std::count_if(q.begin(), q.end(), [](char c) { return std::isdigit(c); });
  if (q.find('@') != std::string::npos) {
    if (auto e = identity::NormalizeEmail(q)) {
      if (const auto* p = lookup("e:" + e->canonical)) {
        for (uint32_t r : *p) record_score[m.posted[r]] = 1.0;
      }
    }
  } else if (digits >= 6 && digits * 2 > q.size()) {
    if (auto n = identity::NormalizePhone(q)) {
      if (const auto* p = lookup("n:" + *n)) {
        for (uint32_t r : *p) record_score[m.posted[r]] = 1.0;
      }
    }
  }
  if (record_score.empty()) {
    std::string folded = identity::FoldText(q);
    std::vector<std::string> words;
    for (auto w : identity::Tokens(folded)) words.emplace_back(w);
    if (words.empty()) return Json{{"query", query}, {"results", Json::array()}};
    // Candidates: records hit by the most query words through exact, sound or prefix
    // postings; only those are scored, at most kMaxScored of them, so a common word
    // ("str", "muenchen") does not make the query scan a city.
    if (words.size() > 32) words.resize(32);
    // Per record: which words hit it at all (low 32 bits) and which hit it exactly (high).
    std::unordered_map<uint32_t, uint64_t> hits;
    for (size_t wi = 0; wi < words.size(); ++wi) {
      const std::string& w = words[wi];
      std::vector<std::pair<const std::vector<uint32_t>*, bool>> lists;
      if (auto* p = lookup("t:" + w)) lists.emplace_back(p, true);
      if (w.size() >= 2 && !std::isdigit(static_cast<unsigned char>(w[0]))) {
        if (auto* p = lookup("p:" + identity::KoelnerPhonetik(w))) lists.emplace_back(p, false);
      }
      if (w.size() >= 4) {
        if (auto* p = lookup("f:" + w.substr(0, 4))) lists.emplace_back(p, false);
      }
      for (const auto& [l, exact] : lists) {
        if (l->size() > kMaxPosting && words.size() > 1) continue;
        uint64_t bits = (1ull << wi) | (exact ? (1ull << (32 + wi)) : 0);
        // Postings grow in arrival order; a very common word contributes its newest entries
        // only, so one query never walks a whole city.
        size_t from = l->size() > kMaxPostingRead ? l->size() - kMaxPostingRead : 0;
        for (size_t i = from; i < l->size(); ++i) hits[(*l)[i]] |= bits;
      }
    }
    auto rank = [](uint64_t mask) {
      return std::popcount(mask & 0xffffffffull) * 64 + std::popcount(mask >> 32);
    };
    std::vector<std::pair<int, const std::string*>> ranked_records;
    ranked_records.reserve(hits.size());
    for (const auto& [rid, mask] : hits) ranked_records.emplace_back(rank(mask), &m.posted[rid]);
    size_t keep = std::min(kMaxScored, ranked_records.size());
    std::partial_sort(ranked_records.begin(), ranked_records.begin() + keep, ranked_records.end(),
                      [](const auto& a, const auto& b) {
                        return a.first != b.first ? a.first > b.first : *a.second > *b.second;
                      });
    std::vector<std::string> candidates;
    for (size_t i = 0; i < keep; ++i) candidates.push_back(*ranked_records[i].second);
    for (const auto& rid : candidates) {
      auto pit = m.persons.find(m.RecordOwner(rid));
      if (pit == m.persons.end()) continue;
      const Member* mem = nullptr;
      for (const auto& r : pit->second.records) {
        if (r.id == rid) mem = &r;
      }
      if (!mem) continue;
      auto rw = SearchWords(mem->canon);
      double total = 0;
      for (const auto& w : words) {
        double best = 0;
        for (const auto& x : rw) {
          bool numeric = std::isdigit(static_cast<unsigned char>(w[0])) ||
                         std::isdigit(static_cast<unsigned char>(x[0]));
          double s = numeric ? (w == x ? 1.0 : 0.0) : identity::JaroWinkler(w, x);
          if (!numeric && x.size() > w.size() && x.compare(0, w.size(), w) == 0)
            s = std::max(s, 0.95);
          best = std::max(best, s);
        }
        total += best;
      }
      double score = total / static_cast<double>(words.size());
      if (score >= 0.8) record_score[rid] = score;
    }
  }
  std::map<std::string, double> person_score;
  for (const auto& [rid, s] : record_score) {
    std::string p = m.RecordOwner(rid);
    person_score[p] = std::max(person_score[p], s);
  }
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [p, s] : person_score) ranked.emplace_back(-s, p);
  std::sort(ranked.begin(), ranked.end());
  Json results = Json::array();
  for (const auto& [neg, pid] : ranked) {
    if (static_cast<int>(results.size()) >= limit) break;
    auto it = m.persons.find(pid);
    if (it == m.persons.end()) continue;
    auto g = m.Golden(it->second);
    Json r = {{"id", pid},
              {"score", -neg},
              {"name", DisplayName(g)},
              {"address", m.AddressJson(it->second)},
              {"household", it->second.household},
              {"records", it->second.records.size()}};
    if (auto e = g.find("email"); e != g.end()) r["email"] = e->second.value;
    results.push_back(std::move(r));
  }
  return Json{{"query", query}, {"results", results}};
}

Result<Json> ProfileService::Merge(const std::string& id, const std::string& other,
                                   const Actor& by) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<Json> {
    std::string x = impl_->ResolveId(id), y = impl_->ResolveId(other);
    if (!impl_->persons.count(x)) return NotFound("no person " + id, "id");
    if (!impl_->persons.count(y)) return NotFound("no person " + other, "other");
    Impl::Txn t;
    ASSIGN_OR_RETURN(Json doc, impl_->MergePersons(t, x, y, by, "merged by hand"));
    RETURN_IF_ERROR(impl_->Commit(t));
    return doc;
  });
}

Result<Json> ProfileService::Split(const std::string& id, const std::vector<std::string>& records,
                                   const Actor& by) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<Json> {
    std::string pid = impl_->ResolveId(id);
    auto it = impl_->persons.find(pid);
    if (it == impl_->persons.end()) return NotFound("no person " + id, "id");
    std::set<std::string> moving(records.begin(), records.end());
    if (moving.empty()) return InvalidArgument("name the records to split off", "records");
    for (const auto& r : moving) {
      if (impl_->RecordOwner(r) != pid) {
        return InvalidArgument("record " + r + " does not belong to person " + pid, "records");
      }
    }
    if (moving.size() >= it->second.records.size()) {
      return InvalidArgument("a split must leave at least one record with the person", "records");
    }
    Impl::Txn t;
    std::string to = impl_->ids.Next("per");
    RETURN_IF_ERROR(impl_->MoveOut(t, pid, moving, to, impl_->clock.Now(), by, "split by hand"));
    Json audit = {{"action", "person.split"},
                  {"person", pid},
                  {"new_person", to},
                  {"records", records},
                  {"by", by.name}};
    impl_->Audit(t, pid, audit);
    impl_->Audit(t, to, audit);
    RETURN_IF_ERROR(impl_->Commit(t));
    return Json{{"person", pid}, {"new_person", to}, {"records", records}};
  });
}

Result<Json> ProfileService::UndoMerge(const std::string& merge_id, const Actor& by) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<Json> {
    Impl& m = *impl_;
    ASSIGN_OR_RETURN(auto stored, m.store.GetDocument(kMerge, merge_id));
    if (!stored) return NotFound("no merge " + merge_id, "id");
    ASSIGN_OR_RETURN(Json doc, ParseJson(stored->body));
    if (doc.contains("undone_at"))
      return FailedPrecondition("merge " + merge_id + " is already undone");
    std::string absorbed = doc.value("absorbed", "");
    if (m.persons.count(absorbed)) {
      return FailedPrecondition("person " + absorbed + " exists again; split it instead");
    }
    std::string holder = m.ResolveId(doc.value("survivor", ""));
    if (!m.persons.count(holder)) return FailedPrecondition("the merged person no longer exists");
    std::set<std::string> moving;
    for (const auto& r : doc.value("absorbed_records", std::vector<std::string>{})) {
      if (m.RecordOwner(r) == holder) moving.insert(r);
    }
    if (moving.empty() || moving.size() >= m.persons[holder].records.size()) {
      return FailedPrecondition("the records of the merge have moved since; split by hand");
    }
    ASSIGN_OR_RETURN(Time created, ParseTime(doc.value("absorbed_created_at", "")));
    Impl::Txn t;
    RETURN_IF_ERROR(
        m.MoveOut(t, holder, moving, absorbed, created, by, "merge " + merge_id + " undone"));
    t.deleted_redirects.insert(absorbed);
    doc["undone_at"] = m.Now();
    doc["undone_by"] = by.name;
    t.extra_puts.push_back({{kMerge, merge_id, doc.dump(), 0}, stored->revision});
    Json audit = {{"action", "merge.undone"},
                  {"merge", merge_id},
                  {"person", holder},
                  {"restored", absorbed},
                  {"by", by.name}};
    m.Audit(t, holder, audit);
    m.Audit(t, absorbed, audit);
    RETURN_IF_ERROR(m.Commit(t));
    return Json{{"merge", merge_id},
                {"person", holder},
                {"restored", absorbed},
                {"records", std::vector<std::string>(moving.begin(), moving.end())}};
  });
}

Result<Json> ProfileService::ListReviews(bool all, int limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  Json out = Json::array();
  for (const auto& [id, r] : impl_->reviews) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (!all && r.status != "open") continue;
    Json j = ReviewToJson(r);
    std::string pa = impl_->RecordOwner(r.a), pb = impl_->RecordOwner(r.b);
    j["person"] = pa;
    j["candidate_person"] = pb;
    if (pa == pb && r.status == "open") j["note"] = "both records already belong to one person";
    out.push_back(std::move(j));
  }
  return Json{{"reviews", out}};
}

Result<Json> ProfileService::DecideReview(const std::string& review_id, const std::string& decision,
                                          const Actor& by) {
  if (decision != "accept" && decision != "reject") {
    return InvalidArgument("decision must be accept or reject", "decision");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<Json> {
    Impl& m = *impl_;
    auto it = m.reviews.find(review_id);
    if (it == m.reviews.end()) return NotFound("no review " + review_id, "id");
    if (it->second.status != "open") {
      return FailedPrecondition("review " + review_id +
                                " was already decided: " + it->second.status);
    }
    Impl::Txn t;
    Review r = it->second;
    std::string pa = m.RecordOwner(r.a), pb = m.RecordOwner(r.b);
    Json out = {{"review", review_id}, {"decision", decision}};
    if (decision == "accept") {
      m.AddLabel(t, r.a, r.b, "same", by, "review " + review_id);
      if (pa != pb) {
        ASSIGN_OR_RETURN(Json doc,
                         m.MergePersons(t, pa, pb, by, "review " + review_id + " accepted"));
        out["merge"] = doc;
      }
      out["person"] = std::min(pa, pb);
      r.status = "accepted";
    } else {
      if (pa == pb) {
        return FailedPrecondition("both records already belong to person " + pa +
                                  "; split the person instead");
      }
      m.AddLabel(t, r.a, r.b, "distinct", by, "review " + review_id);
      m.Audit(
          t, pa,
          {{"action", "review.rejected"}, {"review", review_id}, {"other", pb}, {"by", by.name}});
      m.Audit(
          t, pb,
          {{"action", "review.rejected"}, {"review", review_id}, {"other", pa}, {"by", by.name}});
      r.status = "rejected";
    }
    r.decided_by = by.name;
    r.decided_at = m.Now();
    t.reviews[review_id] = r;
    RETURN_IF_ERROR(m.Commit(t));
    out["status"] = r.status;
    return out;
  });
}

Result<Json> ProfileService::GetHousehold(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  auto it = impl_->households.find(id);
  if (it == impl_->households.end()) return NotFound("no household " + id, "id");
  return impl_->HouseholdJson(it->second);
}

Result<MailingSummary> ProfileService::Mailing(const std::string& segment) {
  std::vector<std::pair<std::string, std::string>> conditions;
  if (!segment.empty() && segment != "all") {
    size_t start = 0;
    while (start <= segment.size()) {
      size_t comma = segment.find(',', start);
      std::string part =
          segment.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t eq = part.find('=');
      if (eq == std::string::npos || eq == 0) {
        return InvalidArgument("segment conditions are field=value (e.g. city=München,source=shop)",
                               "segment");
      }
      std::string field = part.substr(0, eq);
      std::string canon = CanonicalFieldName(field);
      conditions.emplace_back(field == "source" || canon.empty() ? field : canon,
                              part.substr(eq + 1));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  Impl& m = *impl_;
  auto matches = [&](const Person& p, const std::map<std::string, GoldenValue>& g) {
    for (const auto& [field, want] : conditions) {
      bool prefix = !want.empty() && want.back() == '*';
      std::string w = identity::FoldText(prefix ? want.substr(0, want.size() - 1) : want);
      auto ok = [&](const std::string& v) {
        std::string f = identity::FoldText(v);
        return prefix ? f.compare(0, w.size(), w) == 0 : f == w;
      };
      bool hit = false;
      if (field == "source") {
        for (const auto& r : p.records) hit = hit || ok(r.source);
      } else if (auto it = g.find(field); it != g.end()) {
        hit = ok(it->second.value);
      }
      if (!hit) return false;
    }
    return true;
  };
  MailingSummary out;
  std::map<std::string, std::vector<const Person*>> by_household;
  for (const auto& [id, p] : m.persons) {
    auto g = m.Golden(p);
    if (!matches(p, g)) continue;
    std::set<std::string> customers;
    for (const auto& r : p.records) customers.insert(SourceKey(r.source, r.source_key));
    out.records += customers.size();
    if (p.household.empty()) {
      out.without_address++;
      continue;
    }
    out.persons++;
    by_household[p.household].push_back(&p);
  }
  for (auto& [hid, members] : by_household) {
    std::sort(members.begin(), members.end(),
              [](const Person* a, const Person* b) { return a->id < b->id; });
    std::vector<Addressee> names;
    Json ids = Json::array();
    for (const Person* p : members) {
      names.push_back(m.AddresseeOf(*p));
      ids.push_back(p->id);
    }
    out.entries.push_back({{"household", hid},
                           {"salutation", Salutation(names)},
                           {"address", m.AddressJson(*members.front())},
                           {"persons", ids}});
  }
  out.households = out.entries.size();
  return out;
}

Result<std::string> ProfileService::PersonOfRecord(const std::string& record_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  auto it = impl_->record_person.find(record_id);
  return it == impl_->record_person.end() ? std::string() : it->second;
}

Result<std::vector<std::string>> ProfileService::AllIds(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  std::string current = impl_->ResolveId(id);
  // Everything merged into `current`, directly or through a chain of merges.
  std::vector<std::string> merged;
  std::vector<std::string> pending = {current};
  std::set<std::string> seen = {current};
  while (!pending.empty()) {
    std::string to = std::move(pending.back());
    pending.pop_back();
    auto it = impl_->merged_into.find(to);
    if (it == impl_->merged_into.end()) continue;
    for (const auto& from : it->second) {
      if (!seen.insert(from).second) continue;
      merged.push_back(from);
      pending.push_back(from);
    }
  }
  std::sort(merged.begin(), merged.end());
  merged.insert(merged.begin(), current);
  return merged;
}

Result<size_t> ProfileService::PersonCount() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  return impl_->persons.size();
}

}  // namespace rapport::profiles

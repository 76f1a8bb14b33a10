// Search: postings of exact words, Koelner Phonetik codes, 4-letter prefixes, e-mail and phone,
// built as records are indexed; a query scores the records they point to, best first.
#include <bit>

#include "identity/comparators.h"
#include "identity/normalize.h"
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::DisplayName;
using internal::Member;
using internal::SearchKeys;

namespace {

constexpr size_t kMaxPosting = 20000;
constexpr size_t kMaxScored = 100;
constexpr size_t kMaxPostingRead = 5000;

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

}  // namespace

std::vector<std::string> internal::SearchKeys(const Fields& canon) {
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

void ProfileService::Impl::AddPostings(const std::string& record_id, const Fields& canon) {
  AddPostings(record_id, SearchKeys(canon));
}

void ProfileService::Impl::AddPostings(const std::string& record_id,
                                       const std::vector<std::string>& keys) {
  const auto number = static_cast<uint32_t>(posted.size());
  posted.push_back(record_id);
  for (const auto& k : keys) postings[k].push_back(number);
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

}  // namespace rapport::profiles

// Guarded agglomerative clustering and household grouping.

#include "identity/cluster.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

namespace rapport::identity {
namespace {

class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n), members_(n) {
    std::iota(parent_.begin(), parent_.end(), 0u);
    for (size_t i = 0; i < n; ++i) members_[i] = {static_cast<uint32_t>(i)};
  }
  uint32_t Find(uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  // Merges the smaller member list into the larger; returns the new root.
  uint32_t Union(uint32_t a, uint32_t b) {
    a = Find(a);
    b = Find(b);
    if (a == b) return a;
    if (members_[a].size() < members_[b].size()) std::swap(a, b);
    parent_[b] = a;
    members_[a].insert(members_[a].end(), members_[b].begin(), members_[b].end());
    members_[b].clear();
    members_[b].shrink_to_fit();
    return a;
  }
  const std::vector<uint32_t>& Members(uint32_t root) const { return members_[root]; }

 private:
  std::vector<uint32_t> parent_;
  std::vector<std::vector<uint32_t>> members_;
};

uint64_t Key(uint32_t a, uint32_t b) {
  if (a > b) std::swap(a, b);
  return static_cast<uint64_t>(a) << 32 | b;
}

std::vector<uint32_t> Renumber(UnionFind& uf, size_t n) {
  std::vector<uint32_t> out(n);
  std::unordered_map<uint32_t, uint32_t> ids;
  for (size_t i = 0; i < n; ++i) {
    uint32_t root = uf.Find(static_cast<uint32_t>(i));
    auto [it, inserted] = ids.emplace(root, static_cast<uint32_t>(ids.size()));
    out[i] = it->second;
  }
  return out;
}

double Log2Odds(double p) {
  if (p >= 1) return 60;
  if (p <= 0) return -60;
  return std::clamp(std::log2(p / (1 - p)), -60.0, 60.0);
}

}  // namespace

namespace {

// Whether a national id makes `x` one person with a record z that differs from `x` on
// `comparison`, agrees with `y` on it, and matches `y` without conflict.
bool WrongValueVouchedForById(size_t x, size_t y, int comparison, size_t size,
                              const GroupPairScore& score, double threshold) {
  if (comparison < 0 || comparison >= 32) return false;
  const uint32_t bit = uint32_t{1} << comparison;
  for (size_t z = 0; z < size; ++z) {
    if (z == x || z == y) continue;
    PairScore xz = score(x, z);
    if (!xz.id_agrees || !(xz.differs & bit)) continue;
    PairScore zy = score(z, y);
    if (!zy.conflict && (zy.agrees & bit) && zy.probability >= threshold) return true;
  }
  return false;
}

}  // namespace

bool JoinsCoherently(size_t a_size, size_t b_size, const GroupPairScore& score,
                     const ClusterOptions& options) {
  const size_t size = a_size + b_size;
  double sum = 0;
  for (size_t x = 0; x < a_size; ++x) {
    for (size_t y = a_size; y < size; ++y) {
      PairScore p = score(x, y);
      if (p.conflict &&
          !WrongValueVouchedForById(x, y, p.conflict_comparison, size, score, options.threshold) &&
          !WrongValueVouchedForById(y, x, p.conflict_comparison, size, score, options.threshold)) {
        return false;
      }
      sum += Log2Odds(p.probability);
    }
  }
  return sum >= options.min_mean_cross_log2_odds * static_cast<double>(a_size * b_size);
}

std::vector<uint32_t> ClusterPairs(size_t n, std::vector<ScoredPair> pairs,
                                   const std::function<PairScore(uint32_t, uint32_t)>& score,
                                   const ClusterOptions& options, ClusterStats* stats,
                                   std::vector<ScoredPair>* review) {
  ClusterStats s;
  std::unordered_map<uint64_t, PairScore> known;
  known.reserve(pairs.size());
  for (const auto& p : pairs) known[Key(p.a, p.b)] = p.score();
  pairs.erase(
      std::remove_if(pairs.begin(), pairs.end(),
                     [&](const ScoredPair& p) { return p.probability < options.threshold; }),
      pairs.end());
  // Strongest first; ties by index so the result does not depend on input order.
  std::sort(pairs.begin(), pairs.end(), [](const ScoredPair& x, const ScoredPair& y) {
    if (x.probability != y.probability) return x.probability > y.probability;
    return Key(x.a, x.b) < Key(y.a, y.b);
  });
  auto lookup = [&](uint32_t x, uint32_t y) {
    auto it = known.find(Key(x, y));
    if (it != known.end()) return it->second;
    PairScore p = score(x, y);
    known.emplace(Key(x, y), p);
    return p;
  };
  UnionFind uf(n);
  std::vector<uint32_t> group;
  for (const auto& p : pairs) {
    uint32_t ra = uf.Find(p.a), rb = uf.Find(p.b);
    if (ra == rb) continue;
    const auto& ma = uf.Members(ra);
    const auto& mb = uf.Members(rb);
    bool refused = p.conflict;
    size_t* reason = &s.refused_conflict;
    if (!refused && ma.size() * mb.size() > options.max_cross_pairs) {
      refused = true;
      reason = &s.refused_large;
    }
    if (!refused && (ma.size() > 1 || mb.size() > 1)) {
      group.assign(ma.begin(), ma.end());
      group.insert(group.end(), mb.begin(), mb.end());
      bool conflict = false;
      auto member_score = [&](size_t i, size_t j) {
        PairScore s = lookup(group[i], group[j]);
        conflict |= s.conflict && (i < ma.size()) != (j < ma.size());
        return s;
      };
      if (!JoinsCoherently(ma.size(), mb.size(), member_score, options)) {
        refused = true;
        if (!conflict) reason = &s.refused_weak;
      }
    }
    if (refused) {
      ++*reason;
      if (review) review->push_back(p);
      continue;
    }
    uf.Union(ra, rb);
    ++s.merges;
  }
  std::vector<uint32_t> out = Renumber(uf, n);
  std::vector<size_t> sizes;
  for (uint32_t c : out) {
    if (c >= sizes.size()) sizes.resize(c + 1, 0);
    ++sizes[c];
  }
  s.clusters = sizes.size();
  s.largest = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  if (stats) *stats = s;
  return out;
}

std::vector<uint32_t> GroupHouseholds(const MatchModel& model,
                                      const std::vector<NormalizedRecord>& records,
                                      const std::vector<uint32_t>& person,
                                      const HouseholdOptions& options) {
  const auto& comps = model.config().comparisons;
  int address = -1, postcode = -1, city = -1, extra = -1, surname = -1;
  for (size_t i = 0; i < comps.size(); ++i) {
    int idx = static_cast<int>(i);
    switch (comps[i].kind) {
      case ComparisonKind::kAddress:
        if (address < 0) address = idx;
        break;
      case ComparisonKind::kPostcode:
        if (postcode < 0) postcode = idx;
        break;
      case ComparisonKind::kCity:
        if (city < 0) city = idx;
        break;
      case ComparisonKind::kSurname:
        if (surname < 0) surname = idx;
        break;
      case ComparisonKind::kText:
        if (extra < 0 && comps[i].name == "address_extra") extra = idx;
        break;
      default:
        break;
    }
  }
  size_t persons = 0;
  for (uint32_t p : person) persons = std::max<size_t>(persons, p + 1);
  UnionFind uf(persons);
  if (address >= 0 && (postcode >= 0 || city >= 0)) {
    // address key → person → surnames (loose) seen at that address
    std::map<std::string, std::map<uint32_t, std::set<std::string>>> at;
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& v = records[i].values;
      const FieldValue& a = v[address];
      if (a.a.empty() || a.b.empty()) continue;
      std::string place = postcode >= 0 && !v[postcode].a.empty() ? v[postcode].a
                          : city >= 0                             ? v[city].b
                                                                  : "";
      if (place.empty()) continue;
      std::string key = a.a + "|" + a.b + a.c + "|" + place;
      if (extra >= 0) key += "|" + v[extra].a;
      at[key][person[i]].insert(surname >= 0 ? records[i].values[surname].b : "");
    }
    for (const auto& [key, people] : at) {
      if (people.size() < 2) continue;
      if (people.size() <= options.max_unrelated) {
        for (const auto& [p, names] : people) uf.Union(people.begin()->first, p);
        continue;
      }
      std::map<std::string, uint32_t> by_surname;
      for (const auto& [p, names] : people) {
        for (const auto& name : names) {
          if (name.empty()) continue;
          auto [it, inserted] = by_surname.emplace(name, p);
          if (!inserted) uf.Union(it->second, p);
        }
      }
    }
  }
  std::vector<uint32_t> root_id(persons, UINT32_MAX);
  std::vector<uint32_t> out(records.size());
  uint32_t next = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    uint32_t r = uf.Find(person[i]);
    if (root_id[r] == UINT32_MAX) root_id[r] = next++;
    out[i] = root_id[r];
  }
  return out;
}

}  // namespace rapport::identity

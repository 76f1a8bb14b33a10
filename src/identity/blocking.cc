// Blocking keys and candidate pair generation by sorting (key, record) entries, which keeps
// memory linear in records × rules and needs no hash table of blocks.

#include "identity/blocking.h"

#include <algorithm>
#include <cstdio>

#include "core/ids.h"
#include "core/parallel.h"
#include "identity/comparators.h"

namespace rapport::identity {

Result<Blocker> Blocker::Create(const MatchConfig& config) {
  Blocker b;
  b.max_block_size_ = std::max<size_t>(config.max_block_size, 2);
  for (size_t r = 0; r < config.blocking.size(); ++r) {
    std::vector<Part> parts;
    for (const std::string& key : config.blocking[r]) {
      size_t dot = key.find('.');
      std::string comp = key.substr(0, dot);
      std::string t = dot == std::string::npos ? "" : key.substr(dot + 1);
      int idx = -1;
      for (size_t i = 0; i < config.comparisons.size(); ++i)
        if (config.comparisons[i].name == comp) idx = static_cast<int>(i);
      std::string where = "blocking[" + std::to_string(r) + "]";
      if (idx < 0) return InvalidArgument("unknown comparison '" + comp + "'", where);
      Transform tr;
      if (t.empty())
        tr = Transform::kDefault;
      else if (t == "first")
        tr = Transform::kFirst;
      else if (t == "canonical")
        tr = Transform::kCanonical;
      else if (t == "initial")
        tr = Transform::kInitial;
      else if (t == "phonetic")
        tr = Transform::kPhonetic;
      else if (t == "year")
        tr = Transform::kYear;
      else if (t == "md")
        tr = Transform::kMonthDay;
      else if (t == "street")
        tr = Transform::kStreet;
      else if (t == "number")
        tr = Transform::kNumber;
      else if (t == "prefix3")
        tr = Transform::kPrefix3;
      else if (t == "sorted")
        tr = Transform::kSorted;
      else
        return InvalidArgument("unknown key transform '" + t + "'", where);
      parts.push_back({idx, config.comparisons[idx].kind, tr});
    }
    // A rule of a given-name and a surname key with one transform reads the two in either
    // order (see RuleKey).
    bool unordered = parts.size() == 2 && parts[0].transform == parts[1].transform &&
                     ((parts[0].kind == ComparisonKind::kGivenName &&
                       parts[1].kind == ComparisonKind::kSurname) ||
                      (parts[0].kind == ComparisonKind::kSurname &&
                       parts[1].kind == ComparisonKind::kGivenName));
    b.unordered_.push_back(unordered);
    b.rules_.push_back(std::move(parts));
  }
  return b;
}

bool Blocker::KeyPart(const NormalizedRecord& r, const Part& p, std::string* out) const {
  const FieldValue& f = r.values[p.comparison];
  if (f.missing()) return false;
  std::string_view first = std::string_view(f.a).substr(0, f.a.find(' '));
  switch (p.transform) {
    case Transform::kDefault:
      if (p.kind == ComparisonKind::kBirthDate) {
        if (f.num == 0) return false;
        out->append(std::to_string(f.num));
      } else if (p.kind == ComparisonKind::kSurname || p.kind == ComparisonKind::kCity) {
        out->append(f.b);
      } else if (p.kind == ComparisonKind::kGivenName) {
        out->append(f.b);
      } else if (p.kind == ComparisonKind::kAddress) {
        out->append(f.a).append("|").append(f.b);
      } else {
        out->append(f.a);
      }
      return true;
    case Transform::kFirst:
      out->append(first);
      return !first.empty();
    case Transform::kCanonical:
      if (first.size() <= 1) return false;  // an initial has no canonical form
      out->append(f.c);
      return true;
    case Transform::kInitial:
      out->push_back(f.a[0]);
      return true;
    case Transform::kPhonetic: {
      std::string code = p.kind == ComparisonKind::kSurname ? f.c : KoelnerPhonetik(f.b);
      if (code.empty() || first.size() <= 1) return false;
      out->append(code);
      return true;
    }
    case Transform::kYear:
      if (f.num == 0) return false;
      out->append(std::to_string(f.num / 10000));
      return true;
    case Transform::kMonthDay:
      if (f.num == 0) return false;
      out->append(std::to_string(f.num % 10000));
      return true;
    case Transform::kStreet:
      out->append(f.a);
      return true;
    case Transform::kNumber:
      if (f.b.empty()) return false;
      out->append(f.b);
      return true;
    case Transform::kPrefix3:
      if (f.a.size() < 3) return false;
      out->append(f.a.substr(0, 3));
      return true;
    case Transform::kSorted: {
      // Two digits of an id typed the wrong way round, the commonest slip after one wrong
      // digit: the key is the same.
      std::string sorted = f.a;
      std::sort(sorted.begin(), sorted.end());
      out->append(sorted);
      return true;
    }
  }
  return false;
}

bool Blocker::RuleKey(const NormalizedRecord& r, size_t rule, std::string* buf,
                      uint64_t* key) const {
  buf->assign(std::to_string(rule));
  if (unordered_[rule]) {
    // Given name and surname in either order: records whose name fields were swapped meet.
    std::string x, y;
    if (!KeyPart(r, rules_[rule][0], &x) || !KeyPart(r, rules_[rule][1], &y)) return false;
    if (y < x) std::swap(x, y);
    buf->append("\x1f").append(x).append("\x1f").append(y);
    *key = Hash64(*buf);
    return true;
  }
  for (const Part& p : rules_[rule]) {
    buf->push_back('\x1f');
    if (!KeyPart(r, p, buf)) return false;
  }
  *key = Hash64(*buf);
  return true;
}

std::vector<uint64_t> Blocker::Keys(const NormalizedRecord& r) const {
  std::vector<uint64_t> keys;
  std::string buf;
  uint64_t key = 0;
  for (size_t rule = 0; rule < rules_.size(); ++rule) {
    if (RuleKey(r, rule, &buf, &key)) keys.push_back(key);
  }
  return keys;
}

std::vector<RecordPair> Blocker::CandidatePairs(const std::vector<NormalizedRecord>& records,
                                                const std::vector<uint8_t>* side,
                                                BlockingStats* stats, unsigned threads) const {
  BlockingStats s;
  s.records = records.size();
  s.pairs_per_rule.assign(rules_.size(), 0);
  // (key, record) entries; the rule is recoverable from the per-rule pass below.
  std::vector<std::pair<uint64_t, uint32_t>> entries;
  // Pairs in ranges of their first record, so that each range is sorted and made unique on
  // its own, on all threads (one sort of every pair, ~10^8 at 1M records, was most of
  // blocking); the ranges in order are the sorted union.
  constexpr size_t kRanges = 256;
  std::vector<std::vector<uint64_t>> ranges(kRanges);
  const uint64_t per_range = records.size() / kRanges + 1;
  for (size_t rule = 0; rule < rules_.size(); ++rule) {
    entries.clear();
    entries.resize(records.size());
    ParallelFor(records.size(), threads, [&](size_t i, unsigned) {
      thread_local std::string buf;
      uint64_t key = 0;
      entries[i] = {RuleKey(records[i], rule, &buf, &key) ? key : 0, static_cast<uint32_t>(i)};
    });
    entries.erase(
        std::remove_if(entries.begin(), entries.end(), [](const auto& e) { return e.first == 0; }),
        entries.end());
    std::sort(entries.begin(), entries.end());
    for (size_t b = 0; b < entries.size();) {
      size_t e = b;
      while (e < entries.size() && entries[e].first == entries[b].first) ++e;
      size_t size = e - b;
      if (size > max_block_size_) {
        ++s.skipped_blocks;
        s.skipped_records += size;
      } else {
        for (size_t i = b; i < e; ++i) {
          for (size_t j = i + 1; j < e; ++j) {
            uint32_t x = entries[i].second, y = entries[j].second;
            if (side != nullptr && (*side)[x] == (*side)[y]) continue;
            ranges[x / per_range].push_back(static_cast<uint64_t>(x) << 32 | y);
            ++s.pairs_per_rule[rule];
          }
        }
      }
      b = e;
    }
  }
  ParallelFor(kRanges, threads, [&](size_t r, unsigned) {
    std::sort(ranges[r].begin(), ranges[r].end());
    ranges[r].erase(std::unique(ranges[r].begin(), ranges[r].end()), ranges[r].end());
  });
  size_t total = 0;
  for (const auto& r : ranges) total += r.size();
  std::vector<RecordPair> out;
  out.reserve(total);
  for (auto& r : ranges) {
    for (uint64_t p : r) out.emplace_back(static_cast<uint32_t>(p >> 32), static_cast<uint32_t>(p));
    std::vector<uint64_t>().swap(r);
  }
  s.candidate_pairs = out.size();
  if (side != nullptr) {
    size_t a = 0;
    for (uint8_t x : *side) a += x == 0;
    s.comparable_pairs = a * (records.size() - a);
  } else {
    s.comparable_pairs = records.size() * (records.size() - (records.empty() ? 0 : 1)) / 2;
  }
  s.reduction_ratio = s.comparable_pairs == 0
                          ? 0
                          : 1.0 - static_cast<double>(s.candidate_pairs) / s.comparable_pairs;
  if (stats) *stats = s;
  return out;
}

}  // namespace rapport::identity

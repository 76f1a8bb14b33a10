// Keyword rules on normalized text. German compounds put the keyword at the front of a longer
// word ("Rechnungsanschrift"), so a phrase matches from a word start to anywhere.
#include "cases/rules.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rapport::cases {

namespace {

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

const char* FoldLatin1Supplement(unsigned char second) {
  switch (second) {
    case 0x84:
    case 0xA4:
      return "ae";  // Ä ä
    case 0x96:
    case 0xB6:
      return "oe";  // Ö ö
    case 0x9C:
    case 0xBC:
      return "ue";  // Ü ü
    case 0x9F:
      return "ss";  // ß
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x85:
    case 0xA0:
    case 0xA1:
    case 0xA2:
    case 0xA3:
    case 0xA5:
      return "a";
    case 0x87:
    case 0xA7:
      return "c";
    case 0x88:
    case 0x89:
    case 0x8A:
    case 0x8B:
    case 0xA8:
    case 0xA9:
    case 0xAA:
    case 0xAB:
      return "e";
    case 0x8C:
    case 0x8D:
    case 0x8E:
    case 0x8F:
    case 0xAC:
    case 0xAD:
    case 0xAE:
    case 0xAF:
      return "i";
    case 0x91:
    case 0xB1:
      return "n";
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x95:
    case 0xB2:
    case 0xB3:
    case 0xB4:
    case 0xB5:
      return "o";
    case 0x99:
    case 0x9A:
    case 0x9B:
    case 0xB9:
    case 0xBA:
    case 0xBB:
      return "u";
    default:
      return nullptr;
  }
}

const std::vector<std::string>& Negations() {
  static const std::vector<std::string> k = {"nicht", "not", "kein",    "keine", "never",
                                             "nie",   "no",  "nothing", "nichts"};
  return k;
}

std::vector<std::string> Words(std::string_view normalized) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < normalized.size()) {
    size_t j = normalized.find(' ', i);
    if (j == std::string_view::npos) j = normalized.size();
    if (j > i) out.emplace_back(normalized.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string NormalizeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto space = [&] {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    if (c < 0x80) {
      if (std::isalnum(c)) {
        out.push_back(static_cast<char>(std::tolower(c)));
      } else {
        space();
      }
      continue;
    }
    if (c == 0xC3 && i + 1 < text.size()) {
      if (const char* folded = FoldLatin1Supplement(static_cast<unsigned char>(text[i + 1]))) {
        out += folded;
        ++i;
        continue;
      }
    }
    out.push_back(static_cast<char>(c));  // other scripts are kept byte for byte
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool ContainsPhrase(std::string_view text, std::string_view phrase) {
  if (phrase.empty()) return false;
  for (size_t pos = text.find(phrase); pos != std::string_view::npos;
       pos = text.find(phrase, pos + 1)) {
    if (pos == 0 || !IsWordByte(static_cast<unsigned char>(text[pos - 1]))) return true;
  }
  return false;
}

Json RoutingDecision::ToJson() const {
  Json j = {{"team", team}, {"reason", reason}};
  j["rule"] = rule.empty() ? Json(nullptr) : Json(rule);
  return j;
}

RoutingDecision Route(const CasesConfig& config, const RoutingInput& input) {
  std::string text = NormalizeText(input.text);
  std::map<std::string, std::string> attributes;
  for (const auto& [k, v] : input.attributes) attributes[k] = NormalizeText(v);
  for (const auto& rule : config.rules) {
    std::vector<std::string> why;
    if (!rule.event_types.empty()) {
      auto it =
          std::find_if(rule.event_types.begin(), rule.event_types.end(), [&](const std::string& p) {
            return !input.event_type.empty() && EventTypeMatches(p, input.event_type);
          });
      if (it == rule.event_types.end()) continue;
      why.push_back("event type '" + input.event_type + "'");
    }
    if (!rule.case_types.empty()) {
      if (std::find(rule.case_types.begin(), rule.case_types.end(), input.case_type) ==
          rule.case_types.end()) {
        continue;
      }
      why.push_back("case type '" + input.case_type + "'");
    }
    bool attributes_hold = true;
    for (const auto& [k, v] : rule.attributes) {
      auto it = attributes.find(k);
      if (it == attributes.end() || it->second != NormalizeText(v)) {
        attributes_hold = false;
        break;
      }
      why.push_back(k + " = '" + v + "'");
    }
    if (!attributes_hold) continue;
    if (!rule.keywords.empty()) {
      std::vector<std::string> hits;
      for (const auto& k : rule.keywords) {
        if (ContainsPhrase(text, NormalizeText(k))) hits.push_back(k);
      }
      if (hits.empty()) continue;
      std::string list;
      for (const auto& h : hits) list += (list.empty() ? "'" : ", '") + h + "'";
      why.push_back("the customer said " + list);
    }
    std::string reason = "rule '" + rule.id + "'";
    if (rule.line > 0) reason += " (line " + std::to_string(rule.line) + ")";
    reason += " matched";
    for (size_t i = 0; i < why.size(); ++i) reason += (i == 0 ? " " : " and ") + why[i];
    if (why.empty()) reason += " (it has no conditions)";
    return {rule.team, rule.id, reason};
  }
  return {config.default_team, "", "no routing rule matched; default team"};
}

Json FeedbackClass::ToJson() const {
  Json j = {{"topic", topic},
            {"sentiment", sentiment},
            {"topic_words", topic_words},
            {"sentiment_words", sentiment_words}};
  j["rating"] = rating ? Json(*rating) : Json(nullptr);
  return j;
}

namespace {
std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}
}  // namespace

FeedbackReading ReadFeedback(const FeedbackRules& rules, const Json& payload) {
  FeedbackReading out;
  if (!payload.is_object()) {
    out.problem = "no_field";
    out.problem_detail = "the payload is no object; the feedback rules read " +
                         JoinKeys(rules.rating_fields) + ", " + JoinKeys(rules.text_fields);
    return out;
  }
  bool any_text_key = false;
  for (const auto& key : rules.text_fields) {
    auto it = payload.find(key);
    if (it == payload.end()) continue;
    any_text_key = true;
    if (it->is_string()) {
      out.text = it->get<std::string>();
      break;
    }
  }
  auto rating_key = std::find_if(rules.rating_fields.begin(), rules.rating_fields.end(),
                                 [&](const std::string& k) { return payload.contains(k); });
  if (rating_key != rules.rating_fields.end()) {
    const Json& v = payload.at(*rating_key);
    std::optional<double> number;
    if (v.is_number()) {
      number = v.get<double>();
    } else if (v.is_string()) {
      const std::string& t = v.get_ref<const std::string&>();
      double parsed = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), parsed);
      if (ec == std::errc() && end == t.data() + t.size() && !t.empty()) number = parsed;
    }
    // Compared as a double first: a huge value must not reach the int cast.
    if (number && *number == std::floor(*number) && *number >= rules.lowest &&
        *number <= rules.scale) {
      out.rating = static_cast<int>(*number);
      out.rating_field = *rating_key;
    } else {
      out.problem = "rating_invalid";
      out.problem_detail = "payload." + *rating_key + " = " + v.dump() +
                           " is no whole number from " + std::to_string(rules.lowest) + " to " +
                           std::to_string(rules.scale) + "; the rating is left out";
    }
  } else if (!any_text_key) {
    out.problem = "no_field";
    out.problem_detail = "the payload has none of the keys the feedback rules read (" +
                         JoinKeys(rules.rating_fields) + ", " + JoinKeys(rules.text_fields) +
                         "; see feedback.rating_fields and text_fields)";
  }
  return out;
}

void FeedbackFieldTally::Add(std::string_view type, std::string_view event_id,
                             const Json& payload) {
  bool feedback = std::any_of(rules_.event_types.begin(), rules_.event_types.end(),
                              [&](const std::string& p) { return EventTypeMatches(p, type); });
  if (!feedback) return;
  auto it = types_.find(type);
  if (it == types_.end()) it = types_.emplace(std::string(type), TypeTally{}).first;
  TypeTally& t = it->second;
  ++t.events;
  bool read = false;
  if (payload.is_object()) {
    for (const auto* keys : {&rules_.rating_fields, &rules_.text_fields}) {
      for (const auto& key : *keys) {
        if (!payload.contains(key)) continue;
        ++t.read_by[key];
        read = true;
        break;
      }
    }
  }
  if (read) return;
  ++t.unread;
  if (t.unread_example.empty()) t.unread_example = std::string(event_id);
  if (payload.is_object()) {
    for (const auto& [key, value] : payload.items()) {
      // A bounded list: a sender with free-form keys must not grow the report without end.
      if (t.unread_keys.size() < 20 || t.unread_keys.count(key)) ++t.unread_keys[key];
    }
  }
}

bool FeedbackFieldTally::AnyTypeUnread() const {
  return std::any_of(types_.begin(), types_.end(), [](const auto& kv) {
    return kv.second.events > 0 && kv.second.unread == kv.second.events;
  });
}

Json FeedbackFieldTally::ToJson() const {
  Json types = Json::array();
  Json problems = Json::array();
  const std::string reads = JoinKeys(rules_.rating_fields) + ", " + JoinKeys(rules_.text_fields);
  for (const auto& [type, t] : types_) {
    Json keys = Json::array();
    for (const auto& [key, n] : t.unread_keys) keys.push_back(key);
    types.push_back({{"type", type},
                     {"events", t.events},
                     {"read_by", t.read_by},
                     {"unread", t.unread},
                     {"unread_example", t.unread_example},
                     {"unread_keys", keys}});
    if (t.unread == 0) continue;
    std::string sentence = std::to_string(t.unread) + " of " + std::to_string(t.events) + " '" +
                           type + "' events carry none of the keys the feedback rules read (" +
                           reads + ")";
    if (!keys.empty()) {
      std::string carried;
      for (const auto& k : keys) carried += (carried.empty() ? "" : ", ") + k.get<std::string>();
      sentence += "; they carry " + carried;
    }
    sentence += "; e.g. event " + t.unread_example +
                ". Name the key in feedback.rating_fields or text_fields.";
    problems.push_back(sentence);
  }
  return {{"event_types", types}, {"problems", problems}};
}

FeedbackClass ClassifyFeedback(const FeedbackRules& rules, std::string_view text,
                               std::optional<int> rating) {
  FeedbackClass out;
  out.rating = rating;
  std::string norm = NormalizeText(text);
  size_t best = 0;
  out.topic = "other";
  for (const auto& [topic, words] : rules.topics) {
    std::vector<std::string> hits;
    for (const auto& w : words) {
      if (ContainsPhrase(norm, NormalizeText(w))) hits.push_back(w);
    }
    if (hits.size() > best) {
      best = hits.size();
      out.topic = topic;
      out.topic_words = hits;
    }
  }
  if (rating) {
    out.sentiment = *rating <= rules.negative_at_or_below   ? "negative"
                    : *rating >= rules.positive_at_or_above ? "positive"
                                                            : "neutral";
    return out;
  }
  // No rating: count sentiment words; a negation flips the positive word after it.
  std::vector<std::string> words = Words(norm);
  int score = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    bool negated = i > 0 && std::find(Negations().begin(), Negations().end(), words[i - 1]) !=
                                Negations().end();
    for (const auto& p : rules.positive_words) {
      if (words[i].rfind(NormalizeText(p), 0) == 0) {
        score += negated ? -1 : 1;
        out.sentiment_words.push_back((negated ? words[i - 1] + " " : "") + words[i]);
        break;
      }
    }
    for (const auto& n : rules.negative_words) {
      if (words[i].rfind(NormalizeText(n), 0) == 0) {
        score -= 1;
        out.sentiment_words.push_back(words[i]);
        break;
      }
    }
  }
  out.sentiment = score < 0 ? "negative" : score > 0 ? "positive" : "neutral";
  return out;
}

}  // namespace rapport::cases

// Routing and feedback classification: pure functions of the configuration and what the
// customer said, so they are unit-tested without a store and explain every decision.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cases/config.h"
#include "core/json.h"

namespace rapport::cases {

// Lower case with German letters folded ("Ä"→"ae", "ß"→"ss", "é"→"e"), every other
// non-alphanumeric byte a single space: "Gerät startet NICHT!" → "geraet startet nicht".
std::string NormalizeText(std::string_view text);
// Whether the normalized `phrase` occurs in normalized `text` starting at a word boundary.
// It may end inside a word, so "rechnung" finds German compounds like "rechnungsadresse".
bool ContainsPhrase(std::string_view normalized_text, std::string_view normalized_phrase);

struct RoutingInput {
  std::string text;        // what the customer said
  std::string event_type;  // the event that opens the case ("" when an agent opens it)
  std::string case_type;
  std::map<std::string, std::string> attributes;  // customer attributes, feedback topic ...
};

struct RoutingDecision {
  std::string team;
  std::string rule;    // "" when the default team was taken
  std::string reason;  // human-readable: which rule, which keyword/attribute/event type
  Json ToJson() const;
};

// The first rule whose conditions all hold; otherwise the default team.
RoutingDecision Route(const CasesConfig& config, const RoutingInput& input);

struct FeedbackClass {
  std::string topic;      // invoice, delivery, product, service ... or "other"
  std::string sentiment;  // negative, neutral, positive
  std::optional<int> rating;
  std::vector<std::string> topic_words;      // the keywords that decided the topic
  std::vector<std::string> sentiment_words;  // the words that decided the sentiment (no rating)
  Json ToJson() const;
};

// What a feedback event says, read from the payload keys the rules name (`rating_fields`,
// `text_fields`; the first key present wins).
struct FeedbackReading {
  std::string text;
  std::optional<int> rating;
  std::string rating_field;  // the key the rating was read from ("" if none)
  // Why the event cannot be read as the rules expect, "" when it can: "rating_invalid" (a
  // rating key holds no whole number in lowest..scale; the rating is then left out, the text
  // still counts) or "no_field" (none of the keys is present: the rules read nothing of it).
  std::string problem;
  std::string problem_detail;  // the sentence for case-event-error
};
// The payload may have any shape (it comes from outside): a rating is a whole number or a
// string holding one ("2" from a CSV import); anything else is refused, never clamped.
FeedbackReading ReadFeedback(const FeedbackRules& rules, const Json& payload);

// Which of the configured payload keys the feedback events of a log carry, per event type:
// `rapport cases check --db` and the configuration routes report it, so that a sender naming
// its rating "score" is found before its complaints silently open nothing (issue 20).
class FeedbackFieldTally {
 public:
  explicit FeedbackFieldTally(FeedbackRules rules) : rules_(std::move(rules)) {}
  // Events of types the rules do not read are ignored.
  void Add(std::string_view type, std::string_view event_id, const Json& payload);
  // True when some event type has events and the rules read none of them: a rule that
  // matches no field of what arrives.
  bool AnyTypeUnread() const;
  // {"event_types":[{"type","events","read_by":{key:n},"unread","unread_example",
  //   "unread_keys":[...]}], "problems":[sentence...]}
  Json ToJson() const;

 private:
  struct TypeTally {
    int64_t events = 0;
    std::map<std::string, int64_t> read_by;  // payload key → events it was read from
    int64_t unread = 0;
    std::string unread_example;
    std::map<std::string, int64_t> unread_keys;  // keys the unread events carry instead
  };
  FeedbackRules rules_;
  std::map<std::string, TypeTally, std::less<>> types_;
};

// The rating decides the sentiment when there is one; otherwise negative and positive words
// (a positive word right after "nicht"/"not"/"kein" counts as negative).
FeedbackClass ClassifyFeedback(const FeedbackRules& rules, std::string_view text,
                               std::optional<int> rating);

}  // namespace rapport::cases

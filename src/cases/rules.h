// Routing and feedback classification: pure functions of the configuration and what the
// customer said, so they are unit-tested without a store and explain every decision.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
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

// The rating decides the sentiment when there is one; otherwise negative and positive words
// (a positive word right after "nicht"/"not"/"kein" counts as negative).
FeedbackClass ClassifyFeedback(const FeedbackRules& rules, std::string_view text,
                               std::optional<int> rating);

}  // namespace rapport::cases

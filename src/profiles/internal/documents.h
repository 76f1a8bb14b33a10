// The entities ProfileService keeps (persons, households, reviews, labels), the kinds of
// document they are stored as, and how they are written to and read from those documents.
// Private to src/profiles: other modules read persons through ProfileService only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/model.h"
#include "core/status.h"
#include "profiles/fields.h"

namespace rapport::profiles::internal {

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

struct Member {
  std::string id, source, source_key;
  Time received_at{};
  Fields raw;
  Fields canon;
  // JSON text, not a parsed Json: an explanation held parsed costs several times its size.
  std::string link;
  // Memory keeps a stored record without its raw fields and link explanation (a third of what
  // a record cost in memory): they are read from the person's document when a view or a
  // rewrite of that document needs them (ProfileService::Impl::Hydrate).
  bool cold = false;
};

struct Person {
  std::string id;
  Time created_at{}, updated_at{};
  std::vector<Member> records;
  std::string household;
  int64_t revision = 0;
};

// Drops what memory does not keep of a stored person's records (see Member::cold).
void MakeCold(Person& p);

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

std::string PairKey(const std::string& a, const std::string& b);
std::string SourceKey(const std::string& source, const std::string& key);
// Zero-padded so that document id order is number order.
std::string ChangeId(int64_t n);

// The stored person document, exactly as the Json value with these keys would dump, written
// as text: a person is rewritten whenever a record joins it, and building that value (parsing
// every record's link back from its text) was 10% of an import.
// Every record must be hydrated (not cold): a cold one would be written without its fields.
std::string PersonToJsonText(const Person& p);
// `canonical`: compute each record's canonical fields (memory needs them; reading a document
// back for its raw fields and links does not).
Result<Person> PersonFromJson(const Json& j, int64_t revision, bool canonical = true);
Json ReviewToJson(const Review& r);
Review ReviewFromJson(const Json& j, int64_t revision);

}  // namespace rapport::profiles::internal

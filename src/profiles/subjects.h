// Subjects: events, cases, preferences and journeys name their customer as the sending system
// knows it — a person id, a record id, "shop:C-1001", "C-1001", an e-mail address, a phone
// number. This interface turns each into the person it names, so that every module keys what
// it keeps by one person id (issue 20). The rules, in the order they are tried, are the table
// "Subjects" in README.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rapport::profiles {

// How a subject was resolved.
struct ResolvedSubject {
  std::string person;  // the person id now (a merged-away id gives the survivor)
  // "person", "merged" (a merged-away id), "record" (a record id), "source_key"
  // ("source:key"), "bare_key" (a source key alone, one person has it), "email", "phone".
  std::string by;
  std::string record;  // the record the subject named, when it named one
};

// A subject that events name and that resolves to no person (yet): kept, and listed so that
// someone delivers the record or corrects the sender.
struct UnresolvedSubject {
  std::string subject;
  std::string reason;  // "unknown", or why it is ambiguous ("C-7 is a key of 2 persons")
  int64_t events = 0;  // how many events name it
  std::string first_event, last_event;
};

// Where a message to a person goes on one channel: the golden record's contact point.
struct ContactPoint {
  std::string person;   // the person id the subject resolved to
  std::string channel;  // as asked: "email", "sms"/"phone", "letter"/"post"
  std::string name;     // the display name ("Johann Müller")
  // The e-mail address, the phone number, or the postal address on one line
  // ("Hauptstraße 5, 80331 München").
  std::string address;
  std::string record;  // the source record the address comes from
};

// Implemented by ProfileService; other modules hold a pointer to this interface (wired in
// src/app), so they depend on the contract, not on the service. Thread-safe.
class SubjectResolver {
 public:
  virtual ~SubjectResolver() = default;

  // The person `subject` names now. kNotFound when it names none: unknown, or ambiguous (a
  // bare key or contact point of several persons; the message says which). kInvalidArgument
  // for an empty subject. The answer can change: a late record or a merge makes a subject
  // resolve (or resolve elsewhere), so callers that keep data by person resolve again when
  // they read it, or keep the subject beside the person.
  virtual Result<ResolvedSubject> ResolveSubject(std::string_view subject) = 0;

  // Every subject that names the person `person` names (by ResolveSubject) and no one else: its
  // id first, the ids merged into it, its records' ids and "source:key"s, its bare keys and its
  // e-mail addresses and phone numbers as its records give them (and e-mail addresses in
  // lower case). For data kept under a subject before it resolved, or under an id merged
  // away since: a reader looks under each. kNotFound when `person` names nobody.
  virtual Result<std::vector<std::string>> SubjectsOf(std::string_view person) = 0;
};

}  // namespace rapport::profiles

// Erasure of a person (GDPR article 17): one write that deletes it, then the caller's erasure of
// the source data under the lock, then memory rebuilt here and on every other server.
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::Person;
using internal::Review;

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

}  // namespace rapport::profiles

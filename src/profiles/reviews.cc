// Reviews: the pairs resolution was unsure of (opened in resolution.cc), listed and decided
// by hand; "accept" merges the two persons, "reject" labels the pair distinct.
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::Review;
using internal::ReviewToJson;

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

}  // namespace rapport::profiles

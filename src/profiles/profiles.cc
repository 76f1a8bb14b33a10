// ProfileService: Options, and the public methods that only look something up. The decisions
// and views live one file per section of internal/service_impl.h (loading.cc, ... views.cc).
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

Result<Options> Options::FromJson(const Json& j) {
  Options o;
  if (!j.is_object()) return InvalidArgument("profile options must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key == "link_threshold" || key == "review_threshold") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() > 1) {
        return InvalidArgument("must be a probability in (0, 1]", key);
      }
      (key == "link_threshold" ? o.upper : o.lower) = value.get<double>();
    } else if (key == "golden") {
      auto g = GoldenRules::FromJson(value);
      if (!g.ok()) return g.status().WithWhere("golden." + g.status().where());
      o.golden = *g;
    } else {
      return InvalidArgument("unknown key '" + key + "'", key);
    }
  }
  if (o.lower > o.upper) {
    return InvalidArgument("review_threshold must not exceed link_threshold", "review_threshold");
  }
  return o;
}

Json Options::ToJson() const {
  return {{"link_threshold", upper}, {"review_threshold", lower}, {"golden", golden.ToJson()}};
}

ProfileService::ProfileService(store::Store& store, const Clock& clock, IdSource& ids,
                               Options options)
    : impl_(std::make_unique<Impl>(store, clock, ids, std::move(options))) {}

ProfileService::~ProfileService() = default;

Status ProfileService::Load() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->EnsureLoaded();
}

Result<Json> ProfileService::GetPerson(const std::string& id, int events_limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Decide: a person another server changes while its view is read is read again.
  return impl_->Decide([&]() -> Result<Json> {
    std::string current = impl_->ResolveId(id);
    auto it = impl_->persons.find(current);
    if (it == impl_->persons.end()) return NotFound("no person " + id, "id");
    ASSIGN_OR_RETURN(Json j, impl_->PersonView(it->second, events_limit));
    if (current != id) j["redirected_from"] = id;
    return j;
  });
}

Result<Json> ProfileService::GetHousehold(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  auto it = impl_->households.find(id);
  if (it == impl_->households.end()) return NotFound("no household " + id, "id");
  return impl_->HouseholdJson(it->second);
}

Result<std::string> ProfileService::PersonOfRecord(const std::string& record_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  auto it = impl_->record_person.find(record_id);
  return it == impl_->record_person.end() ? std::string() : it->second;
}

Result<std::vector<std::string>> ProfileService::AllIds(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  std::string current = impl_->ResolveId(id);
  std::vector<std::string> merged = impl_->MergedInto(current);
  merged.insert(merged.begin(), current);
  return merged;
}

Result<size_t> ProfileService::PersonCount() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  return impl_->persons.size();
}

Result<std::vector<RecordPlacement>> ProfileService::Placements() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->Sync());
  std::vector<RecordPlacement> out;
  out.reserve(impl_->record_person.size());
  for (const auto& [id, person] : impl_->persons) {
    for (const internal::Member& m : person.records) {
      out.push_back({m.source, m.source_key, m.id, id, person.household});
    }
  }
  std::sort(out.begin(), out.end(), [](const RecordPlacement& a, const RecordPlacement& b) {
    return std::tie(a.person_id, a.record_id) < std::tie(b.person_id, b.record_id);
  });
  return out;
}

}  // namespace rapport::profiles

// Merge, split and undo: decisions by hand (or an accepted review) that move records between
// persons; the older id survives a merge, and what is split or undone is labelled distinct.
#include "profiles/internal/service_impl.h"

namespace rapport::profiles {

using internal::kMerge;
using internal::SourceKey;

namespace {

constexpr size_t kMaxLabelPairs = 200;

}  // namespace

Result<Json> ProfileService::Impl::MergePersons(Txn& t, const std::string& x, const std::string& y,
                                                const Actor& by, const std::string& reason) {
  if (x == y) return FailedPrecondition("the two ids name one person");
  std::string survivor = std::min(x, y), absorbed = std::max(x, y);
  Person& s = Touch(t, survivor);
  Person a = *Peek(t, absorbed);
  LeaveHousehold(t, a);
  Json moved = Json::array();
  for (auto& m : a.records) {
    moved.push_back(m.id);
    t.record_person[m.id] = survivor;
    t.source_person[SourceKey(m.source, m.source_key)] = survivor;
    s.records.push_back(std::move(m));
  }
  s.updated_at = clock.Now();
  t.persons.erase(absorbed);
  t.deleted_persons.insert(absorbed);
  t.redirects[absorbed] = survivor;
  t.deleted_redirects.erase(absorbed);
  Json doc = {{"id", ids.Next("mrg")},
              {"survivor", survivor},
              {"absorbed", absorbed},
              {"absorbed_created_at", FormatTime(a.created_at)},
              {"absorbed_records", moved},
              {"by", by.name},
              {"by_kind", by.kind},
              {"reason", reason},
              {"at", Now()}};
  t.extra_puts.push_back({{kMerge, doc["id"].get<std::string>(), doc.dump(), 0}, 0});
  AssignHousehold(t, survivor);
  Json audit = {{"action", "person.merged"}, {"merge", doc["id"]}, {"survivor", survivor},
                {"absorbed", absorbed},      {"by", by.name},      {"reason", reason}};
  Audit(t, survivor, audit);
  Audit(t, absorbed, audit);
  return doc;
}

Status ProfileService::Impl::MoveOut(Txn& t, const std::string& from,
                                     const std::set<std::string>& records, const std::string& to,
                                     Time to_created_at, const Actor& by,
                                     const std::string& reason) {
  Person& src = Touch(t, from);
  Person dst;
  dst.id = to;
  dst.created_at = to_created_at;
  dst.updated_at = clock.Now();
  std::vector<Member> keep;
  for (auto& m : src.records) {
    if (records.count(m.id)) {
      t.record_person[m.id] = to;
      t.source_person[SourceKey(m.source, m.source_key)] = to;
      dst.records.push_back(std::move(m));
    } else {
      keep.push_back(std::move(m));
    }
  }
  src.records = std::move(keep);
  src.updated_at = clock.Now();
  size_t pairs = 0;
  for (const auto& moved : dst.records) {
    for (const auto& stay : src.records) {
      if (pairs++ >= kMaxLabelPairs) break;
      AddLabel(t, moved.id, stay.id, "distinct", by, reason);
    }
  }
  t.deleted_persons.erase(to);
  t.persons[to] = std::move(dst);
  AssignHousehold(t, from);
  AssignHousehold(t, to);
  return OkStatus();
}

Result<Json> ProfileService::Merge(const std::string& id, const std::string& other,
                                   const Actor& by) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<Json> {
    std::string x = impl_->ResolveId(id), y = impl_->ResolveId(other);
    if (!impl_->persons.count(x)) return NotFound("no person " + id, "id");
    if (!impl_->persons.count(y)) return NotFound("no person " + other, "other");
    Impl::Txn t;
    ASSIGN_OR_RETURN(Json doc, impl_->MergePersons(t, x, y, by, "merged by hand"));
    RETURN_IF_ERROR(impl_->Commit(t));
    return doc;
  });
}

Result<Json> ProfileService::Split(const std::string& id, const std::vector<std::string>& records,
                                   const Actor& by) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<Json> {
    std::string pid = impl_->ResolveId(id);
    auto it = impl_->persons.find(pid);
    if (it == impl_->persons.end()) return NotFound("no person " + id, "id");
    std::set<std::string> moving(records.begin(), records.end());
    if (moving.empty()) return InvalidArgument("name the records to split off", "records");
    for (const auto& r : moving) {
      if (impl_->RecordOwner(r) != pid) {
        return InvalidArgument("record " + r + " does not belong to person " + pid, "records");
      }
    }
    if (moving.size() >= it->second.records.size()) {
      return InvalidArgument("a split must leave at least one record with the person", "records");
    }
    Impl::Txn t;
    std::string to = impl_->ids.Next("per");
    RETURN_IF_ERROR(impl_->MoveOut(t, pid, moving, to, impl_->clock.Now(), by, "split by hand"));
    Json audit = {{"action", "person.split"},
                  {"person", pid},
                  {"new_person", to},
                  {"records", records},
                  {"by", by.name}};
    impl_->Audit(t, pid, audit);
    impl_->Audit(t, to, audit);
    RETURN_IF_ERROR(impl_->Commit(t));
    return Json{{"person", pid}, {"new_person", to}, {"records", records}};
  });
}

Result<Json> ProfileService::UndoMerge(const std::string& merge_id, const Actor& by) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Decide([&]() -> Result<Json> {
    Impl& m = *impl_;
    ASSIGN_OR_RETURN(auto stored, m.store.GetDocument(kMerge, merge_id));
    if (!stored) return NotFound("no merge " + merge_id, "id");
    ASSIGN_OR_RETURN(Json doc, ParseJson(stored->body));
    if (doc.contains("undone_at"))
      return FailedPrecondition("merge " + merge_id + " is already undone");
    std::string absorbed = doc.value("absorbed", "");
    if (m.persons.count(absorbed)) {
      return FailedPrecondition("person " + absorbed + " exists again; split it instead");
    }
    std::string holder = m.ResolveId(doc.value("survivor", ""));
    if (!m.persons.count(holder)) return FailedPrecondition("the merged person no longer exists");
    std::set<std::string> moving;
    for (const auto& r : doc.value("absorbed_records", std::vector<std::string>{})) {
      if (m.RecordOwner(r) == holder) moving.insert(r);
    }
    if (moving.empty() || moving.size() >= m.persons[holder].records.size()) {
      return FailedPrecondition("the records of the merge have moved since; split by hand");
    }
    ASSIGN_OR_RETURN(Time created, ParseTime(doc.value("absorbed_created_at", "")));
    Impl::Txn t;
    RETURN_IF_ERROR(
        m.MoveOut(t, holder, moving, absorbed, created, by, "merge " + merge_id + " undone"));
    t.deleted_redirects.insert(absorbed);
    doc["undone_at"] = m.Now();
    doc["undone_by"] = by.name;
    t.extra_puts.push_back({{kMerge, merge_id, doc.dump(), 0}, stored->revision});
    Json audit = {{"action", "merge.undone"},
                  {"merge", merge_id},
                  {"person", holder},
                  {"restored", absorbed},
                  {"by", by.name}};
    m.Audit(t, holder, audit);
    m.Audit(t, absorbed, audit);
    RETURN_IF_ERROR(m.Commit(t));
    return Json{{"merge", merge_id},
                {"person", holder},
                {"restored", absorbed},
                {"records", std::vector<std::string>(moving.begin(), moving.end())}};
  });
}

}  // namespace rapport::profiles

#include "store/store.h"

#include "core/ids.h"

namespace rapport::store {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kAgent: return "agent";
    case Role::kAnalyst: return "analyst";
    case Role::kPartner: return "partner";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "agent") return Role::kAgent;
  if (name == "analyst") return Role::kAnalyst;
  if (name == "partner") return Role::kPartner;
  return InvalidArgument("unknown role '" + std::string(name) +
                             "' (expected admin, agent, analyst or partner)",
                         "role");
}

std::string RecordContentHash(const SourceRecord& record) {
  // Length-prefixed so that ("ab","c") and ("a","bc") differ.
  std::string buf;
  auto add = [&buf](std::string_view s) {
    buf += std::to_string(s.size());
    buf += ':';
    buf += s;
  };
  add(record.source);
  add(record.source_key);
  for (const auto& [k, v] : record.fields) {
    add(k);
    add(v);
  }
  return Hex64(Hash64(buf));
}

}  // namespace rapport::store

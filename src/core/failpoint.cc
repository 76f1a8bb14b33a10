#include "core/failpoint.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace rapport {

void Failpoint(std::string_view name) {
  static const std::string armed = [] {
    const char* v = std::getenv("RAPPORT_FAILPOINT");
    return std::string(v ? v : "");
  }();
  if (!armed.empty() && armed == name) _exit(kFailpointExitCode);
}

}  // namespace rapport

// Crash points for crash tests. When the environment variable RAPPORT_FAILPOINT names a
// point, the process ends there at once with _exit(86): no destructors, no flushes, as a
// power cut or SIGKILL would end it at exactly that line. Unset (always, in production), a
// failpoint costs one comparison.
#pragma once

#include <string_view>

namespace rapport {

inline constexpr int kFailpointExitCode = 86;

void Failpoint(std::string_view name);

}  // namespace rapport

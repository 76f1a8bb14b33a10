// The web console's files (web/, built by Vite) as the binary carries them: generated at build
// time by cmake/embed_console.cmake. Empty when the build was configured with
// -DRAPPORT_CONSOLE=OFF.
#pragma once

#include <cstddef>
#include <span>

namespace rapport::api {

struct ConsoleAsset {
  const char* path;  // "/index.html", "/assets/index-1a2b3c.js"
  const unsigned char* data;
  size_t size;
};

std::span<const ConsoleAsset> EmbeddedConsole();

}  // namespace rapport::api

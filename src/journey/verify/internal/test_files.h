// Reading the shipped journeys and deviation models in the verify tests (RAPPORT_SOURCE_DIR
// names the source tree; ctest sets it).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "journey/verify/deviations.h"

namespace rapport::journey::test_files {

inline constexpr char kModel[] = "examples/journeys/trade-in.deviations.yaml";

inline std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : ".";
}

inline std::string ReadFile(const std::string& rel) {
  std::ifstream in(SourceDir() + "/" + rel);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

inline DefinitionPtr Load(const std::string& rel) {
  std::string text = ReadFile(rel);
  EXPECT_FALSE(text.empty()) << "cannot read " << rel << " (RAPPORT_SOURCE_DIR?)";
  auto d = LoadDefinition(text, rel);
  EXPECT_TRUE(d.ok()) << d.status().message() << " " << d.status().where();
  return d.ok() ? *d : nullptr;
}

inline DeviationModel Model(const JourneyDefinition& def, const std::string& rel = kModel) {
  auto m = LoadDeviations(def, ReadFile(rel), rel);
  EXPECT_TRUE(m.ok()) << m.status().message() << " " << m.status().where();
  return m.ok() ? *m : DefaultDeviations(def);
}

}  // namespace rapport::journey::test_files

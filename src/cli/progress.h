// A progress bar on stderr for long CLI runs; silent when stderr is not a terminal, so logs
// and CI output stay clean.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace rapport::cli {

class ProgressBar {
 public:
  // `total` in the unit of Update (bytes, rows); `label` is printed before the bar.
  ProgressBar(std::string label, size_t total);
  ~ProgressBar();
  // Redraws at most every 100 ms.
  void Update(size_t done);
  // Draws 100% and ends the line.
  void Finish();

 private:
  std::string label_;
  size_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  void Draw(size_t done);
};

}  // namespace rapport::cli

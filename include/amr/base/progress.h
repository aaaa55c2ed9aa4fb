#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace amr {

// "H:MM:SS"
std::string format_duration(double seconds);

// The one progress printer of the long loops (training steps, CAM images), on stderr: a live
// line ("[ 42%] text") on a terminal; elsewhere (logs, CI) a line every `every` units and at
// the last; nothing when quiet.
class Progress {
 public:
  Progress(int64_t total, bool quiet, int64_t every);
  void update(int64_t done, const std::string& text);
  void end_line() const;  // ends a live line (before other output)
  double seconds() const;
  // Seconds left at the mean pace so far, `done` of total finished since this started.
  double eta(int64_t done_since_start, int64_t done) const;

 private:
  using clock = std::chrono::steady_clock;
  int64_t total_, every_;
  bool quiet_, tty_;
  clock::time_point start_;
};

}  // namespace amr

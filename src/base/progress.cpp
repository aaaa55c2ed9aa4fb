#include "amr/base/progress.h"

#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <sstream>

namespace amr {

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  std::ostringstream o;
  o << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2) << s % 60;
  return o.str();
}

Progress::Progress(int64_t total, bool quiet, int64_t every)
    : total_(total), every_(every < 1 ? 1 : every), quiet_(quiet), tty_(!quiet && isatty(STDERR_FILENO)), start_(clock::now()) {}

void Progress::update(int64_t done, const std::string& text) {
  if (quiet_) return;
  if (tty_) {
    std::cerr << "\r[" << std::setw(3) << (total_ > 0 ? 100 * done / total_ : 100) << "%] " << text << "   " << std::flush;
  } else if (done % every_ == 0 || done == total_) {
    std::cerr << text << "\n";
  }
}

void Progress::end_line() const {
  if (tty_) std::cerr << "\n";
}

double Progress::seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

double Progress::eta(int64_t done_since_start, int64_t done) const {
  if (done_since_start < 1) return 0;
  return seconds() / static_cast<double>(done_since_start) * static_cast<double>(total_ - done);
}

}  // namespace amr

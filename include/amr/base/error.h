#pragma once
#include <stdexcept>
#include <string>

namespace amr {

// Every user-facing failure is an amr::Error with a one-line message that names
// the file or flag at fault and what was expected.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// First line of a c10::Error / std::exception message, without LibTorch's backtrace.
std::string one_line(const std::exception& e);

}  // namespace amr

#pragma once
#include <string>

// Small text helpers every room uses.
namespace amr {

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The shortest decimal text that reads back to the same double (fewest significant digits, %g
// form): 1e-07, 0.0001, 0.1, 0.30000000000000004; "nan", "inf", "-inf" for the non-finite.
std::string shortest_double(double v);

}  // namespace amr

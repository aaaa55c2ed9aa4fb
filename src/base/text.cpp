#include "amr/base/text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace amr {

std::string shortest_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // The fewest significant digits that read back to v, in printf's %g form; whole numbers up to
  // 1e17 in plain digits (100, not 1e+02), small ones as %g writes them (0.0001, 1e-07).
  char buf[40];
  int digits = 1;
  for (; digits < 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  const int exponent = v == 0 ? 0 : static_cast<int>(std::floor(std::log10(std::fabs(v))));
  if (exponent >= digits && exponent < 17) digits = exponent + 1;
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  return buf;
}

}  // namespace amr

#include "amr/base/parse.h"

#include <cmath>
#include <cstdint>
#include <sstream>
#include <stdexcept>

#include "amr/base/enum_names.h"
#include "amr/base/error.h"

namespace amr {

namespace {
constexpr EnumNames<bool, 2> kPrecisions{{{false, "fp32"}, {true, "bf16"}}};
}

bool parse_precision(const std::string& s) { return parse_enum(kPrecisions, s, "--precision"); }
std::string precision_name(bool bf16) { return enum_name(kPrecisions, bf16); }

std::vector<double> parse_range(const std::string& spec, const std::string& flag) {
  std::vector<double> out;
  try {
    if (spec.find(':') != std::string::npos) {
      std::vector<double> p;
      std::stringstream ss(spec);
      std::string tok;
      while (std::getline(ss, tok, ':')) p.push_back(std::stod(tok));
      if (p.size() != 3 || p[2] <= 0 || p[1] < p[0]) throw std::invalid_argument("");
      const auto steps = static_cast<int64_t>(std::floor((p[1] - p[0]) / p[2] + 1e-9));
      for (int64_t i = 0; i <= steps; ++i) out.push_back(std::round((p[0] + i * p[2]) * 1e9) / 1e9);
    } else {
      std::stringstream ss(spec);
      std::string tok;
      while (std::getline(ss, tok, ',')) out.push_back(std::stod(tok));
    }
  } catch (const std::exception&) {
    throw Error(flag + ": expected START:STOP:STEP or a comma list, got '" + spec + "'");
  }
  if (out.empty()) throw Error(flag + ": empty range '" + spec + "'");
  return out;
}

}  // namespace amr

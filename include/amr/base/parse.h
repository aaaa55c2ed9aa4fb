#pragma once
#include <string>
#include <vector>

// Parsers of flag values that several stages share; each throws one line naming the flag.
namespace amr {

// "START:STOP:STEP" (both ends included) or "a,b,c".
std::vector<double> parse_range(const std::string& spec, const std::string& flag);

}  // namespace amr

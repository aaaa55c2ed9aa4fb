#pragma once
#include <string>
#include <vector>

// Parsers of flag values that several stages share; each throws one line naming the flag.
namespace amr {

// "START:STOP:STEP" (both ends included) or "a,b,c".
std::vector<double> parse_range(const std::string& spec, const std::string& flag);

// Numeric precision of the network passes: fp32 | bf16 (true: bfloat16 autocast).
bool parse_precision(const std::string& s);
std::string precision_name(bool bf16);

}  // namespace amr

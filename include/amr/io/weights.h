#pragma once
#include <string>

#include <torch/nn/module.h>

#include "amr/io/pth.h"

namespace amr {

// Parameters and buffers of `module` under their state_dict names.
NamedTensors state_dict(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> missing, unexpected, mis_shaped;
  bool clean() const { return missing.empty() && unexpected.empty() && mis_shaped.empty(); }
  std::string summary() const;  // one line
};

// Copies tensors into `module` by name. Strict: any missing, unexpected or mis-shaped key
// throws one line naming `what` and the keys. Not strict: loads what matches, reports the rest
// (mis-shaped keys always throw).
LoadReport load_state_dict(torch::nn::Module& module, const NamedTensors& tensors, bool strict, const std::string& what);

}  // namespace amr

#pragma once
#include <cstdint>
#include <string>

#include <torch/nn/module.h>

#include "amr/train/optimizer.h"

namespace amr {

// last.pt of the IRN and segmentation trainers: the module's state_dict, the optimizer's
// momentum buffers ("optimizer.*") and one position counter ("position.<position>"), written
// atomically; what --resume continues from.
void save_resume_file(const std::string& path, const torch::nn::Module& net, const PolySgd& sgd, const std::string& position, int64_t value);
// Loads the three (every tensor checked) and returns the position; throws naming the file when it
// is not a `kind` checkpoint (no position.<position>).
int64_t load_resume_file(const std::string& path, torch::nn::Module& net, PolySgd& sgd, const std::string& position, const std::string& kind);

}  // namespace amr

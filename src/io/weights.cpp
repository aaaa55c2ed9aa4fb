#include "amr/io/weights.h"

#include <map>

#include "amr/base/error.h"

namespace amr {

NamedTensors state_dict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

std::string LoadReport::summary() const {
  auto list = [](const std::string& label, const std::vector<std::string>& keys) {
    if (keys.empty()) return std::string();
    std::string s = label + " (" + std::to_string(keys.size()) + "): ";
    for (size_t k = 0; k < keys.size() && k < 5; ++k) s += (k ? ", " : "") + keys[k];
    if (keys.size() > 5) s += ", ...";
    return s + "; ";
  };
  std::string s = list("missing", missing) + list("unexpected", unexpected) + list("mis-shaped", mis_shaped);
  if (s.size() >= 2) s.resize(s.size() - 2);
  return s.empty() ? "all keys match" : s;
}

LoadReport load_state_dict(torch::nn::Module& module, const NamedTensors& tensors, bool strict, const std::string& what) {
  std::map<std::string, at::Tensor> targets;
  for (auto& [name, t] : state_dict(module)) targets.emplace(name, t);
  LoadReport report;
  std::map<std::string, bool> seen;
  for (const auto& [name, src] : tensors) {
    auto it = targets.find(name);
    if (it == targets.end()) {
      report.unexpected.push_back(name);
      continue;
    }
    seen[name] = true;
    if (it->second.sizes() != src.sizes())
      report.mis_shaped.push_back(name + " " + c10::str(src.sizes()) + " vs model " + c10::str(it->second.sizes()));
  }
  for (const auto& [name, t] : targets) {
    // Checkpoints older than PyTorch 0.4.1 (IRN/AMR's resnet50-19c8e357.pth) have no BN counter.
    const bool optional = name.size() > 20 && name.compare(name.size() - 20, 20, ".num_batches_tracked") == 0;
    if (!seen.count(name) && !optional) report.missing.push_back(name);
  }
  if (!report.mis_shaped.empty() || (strict && !report.clean()))
    throw Error(what + ": weights do not fit the model: " + report.summary());
  torch::NoGradGuard no_grad;
  for (const auto& [name, src] : tensors) {
    auto it = targets.find(name);
    if (it == targets.end()) continue;
    // A NaN or inf weight makes every output NaN, steps later and far from its cause.
    if (src.is_floating_point() && !src.isfinite().all().item<bool>())
      throw Error(what + ": tensor '" + name + "' holds NaN or infinite values");
    it->second.copy_(src);
  }
  return report;
}

}  // namespace amr

#include "amr/train/resume_file.h"

#include <ATen/ATen.h>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"

namespace amr {

void save_resume_file(const std::string& path, const torch::nn::Module& net, const PolySgd& sgd, const std::string& position, int64_t value) {
  NamedTensors t = state_dict(net);
  for (const auto& [k, v] : sgd.state()) t.emplace_back("optimizer." + k, v);
  t.emplace_back("position." + position, at::tensor(value));
  write_pth(path, t);
}

int64_t load_resume_file(const std::string& path, torch::nn::Module& net, PolySgd& sgd, const std::string& position, const std::string& kind) {
  NamedTensors model, optimizer;
  int64_t value = -1;
  for (const auto& [k, v] : read_pth(path)) {
    if (starts_with(k, "optimizer.")) optimizer.emplace_back(k.substr(10), v);
    else if (k == "position." + position) value = v.item<int64_t>();
    else model.emplace_back(k, v);
  }
  if (value < 0) throw Error(path + ": not " + kind + " checkpoint (no position." + position + ")");
  load_state_dict(net, model, /*strict=*/true, path);
  sgd.load_state(optimizer, path);
  return value;
}

}  // namespace amr

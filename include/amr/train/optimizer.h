#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "amr/io/pth.h"

namespace amr {

struct ParamGroup {
  std::string name;
  std::vector<at::Tensor> params;
  double lr = 0.01;          // initial learning rate of the group
  double weight_decay = 0.0;
};

// SGD with PyTorch's update rule (d = g + wd*p; buf = m*buf + d, buf = d on the first step;
// p -= lr*buf) and IRN/AMR's poly schedule lr = lr0 * (1 - step/max_step)^power. Its state
// (momentum buffers) is saved and restored by name for exact resume. With warmup_steps > 0 the
// lr is also scaled by (step + 1) / warmup_steps during the first warmup_steps steps.
class PolySgd {
 public:
  PolySgd(std::vector<ParamGroup> groups, double momentum, double poly_power, int64_t max_step,
          int64_t warmup_steps = 0);
  // The reference DeepLab's PolynomialLR(step_size=n): the poly factor is updated every n steps
  // (lr of step s = that of step n * floor(s / n)).
  void set_decay_every(int64_t n) { decay_every_ = std::max<int64_t>(1, n); }
  void zero_grad();
  void step(int64_t global_step);  // uses the lr of `global_step`
  double lr(size_t group, int64_t global_step) const;
  const std::vector<ParamGroup>& groups() const { return groups_; }

  // The momentum buffer of `param` (undefined before its first update, or if not optimized).
  at::Tensor momentum_buffer(const at::Tensor& param) const;

  // Every (parameter, momentum buffer slot) pair in a fixed order: rank 0's buffers are
  // broadcast at the start of a data-parallel run.
  std::vector<std::pair<at::Tensor, at::Tensor*>> buffer_slots();

  void to(c10::Device device);  // moves the momentum buffers (the parameters move with the model)

  NamedTensors state() const;
  void load_state(const NamedTensors& tensors, const std::string& what);

 private:
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<at::Tensor>> buffers_;
  double momentum_, power_;
  int64_t max_step_, warmup_steps_, decay_every_ = 1;
};

}  // namespace amr

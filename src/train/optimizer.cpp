#include "amr/train/optimizer.h"

#include <torch/torch.h>

#include <cmath>

#include "amr/base/error.h"

namespace amr {

PolySgd::PolySgd(std::vector<ParamGroup> groups, double momentum, double poly_power, int64_t max_step,
                 int64_t warmup_steps)
    : groups_(std::move(groups)),
      momentum_(momentum),
      power_(poly_power),
      max_step_(std::max<int64_t>(1, max_step)),
      warmup_steps_(std::max<int64_t>(0, warmup_steps)) {
  for (auto& g : groups_) buffers_.emplace_back(g.params.size());
}

void PolySgd::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params)
      if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

double PolySgd::lr(size_t group, int64_t global_step) const {
  const int64_t decayed = global_step / decay_every_ * decay_every_;
  const double frac = std::min(1.0, static_cast<double>(decayed) / static_cast<double>(max_step_));
  const double warmup = global_step < warmup_steps_
                            ? static_cast<double>(global_step + 1) / static_cast<double>(warmup_steps_)
                            : 1.0;
  return groups_[group].lr * std::pow(1.0 - frac, power_) * warmup;
}

void PolySgd::step(int64_t global_step) {
  torch::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const double lr_now = lr(gi, global_step);
    const ParamGroup& g = groups_[gi];
    for (size_t pi = 0; pi < g.params.size(); ++pi) {
      const at::Tensor& p = g.params[pi];
      if (!p.grad().defined()) continue;
      at::Tensor d = p.grad();
      if (g.weight_decay != 0.0) d = d.add(p, g.weight_decay);
      if (momentum_ != 0.0) {
        at::Tensor& buf = buffers_[gi][pi];
        if (!buf.defined()) {
          buf = d.clone();
        } else {
          buf.mul_(momentum_).add_(d);
        }
        d = buf;
      }
      const_cast<at::Tensor&>(p).add_(d, -lr_now);
    }
  }
}

at::Tensor PolySgd::momentum_buffer(const at::Tensor& param) const {
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi)
      if (groups_[gi].params[pi].is_same(param)) return buffers_[gi][pi];
  return at::Tensor();
}

std::vector<std::pair<at::Tensor, at::Tensor*>> PolySgd::buffer_slots() {
  std::vector<std::pair<at::Tensor, at::Tensor*>> out;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) out.emplace_back(groups_[gi].params[pi], &buffers_[gi][pi]);
  return out;
}

void PolySgd::to(c10::Device device) {
  for (auto& group : buffers_)
    for (auto& b : group)
      if (b.defined()) b = b.to(device);
}

NamedTensors PolySgd::state() const {
  NamedTensors out;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < buffers_[gi].size(); ++pi)
      if (buffers_[gi][pi].defined())
        out.emplace_back(groups_[gi].name + "." + std::to_string(pi), buffers_[gi][pi]);
  return out;
}

void PolySgd::load_state(const NamedTensors& tensors, const std::string& what) {
  for (auto& b : buffers_)
    for (auto& t : b) t = at::Tensor();
  for (const auto& [name, t] : tensors) {
    const auto dot = name.rfind('.');
    bool placed = false;
    for (size_t gi = 0; gi < groups_.size() && dot != std::string::npos; ++gi) {
      if (name.compare(0, dot, groups_[gi].name) != 0 || groups_[gi].name.size() != dot) continue;
      const size_t pi = std::stoul(name.substr(dot + 1));
      if (pi >= groups_[gi].params.size() || groups_[gi].params[pi].sizes() != t.sizes())
        throw Error(what + ": optimizer state '" + name + "' does not fit the model");
      buffers_[gi][pi] = t.clone();
      placed = true;
    }
    if (!placed) throw Error(what + ": unknown optimizer state '" + name + "'");
  }
}

}  // namespace amr

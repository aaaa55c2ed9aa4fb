#include "amr/distributed/gradients.h"

#include <torch/torch.h>

namespace amr {

GradientAverager::GradientAverager(std::vector<at::Tensor> params, int64_t bucket_bytes)
    : params_(std::move(params)), bucket_bytes_(std::max<int64_t>(1, bucket_bytes)) {}

void GradientAverager::average(const World& world, std::vector<double>& scalars) {
  if (!world.distributed()) return;
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(params_.size());
  // Which gradients exist where, and the scalars: one small collective.
  at::Tensor head = torch::zeros({n + static_cast<int64_t>(scalars.size())}, torch::kFloat64);
  auto h = head.accessor<double, 1>();
  for (int64_t i = 0; i < n; ++i) h[i] = params_[static_cast<size_t>(i)].grad().defined() ? 1.0 : 0.0;
  for (size_t i = 0; i < scalars.size(); ++i) h[n + static_cast<int64_t>(i)] = scalars[i];
  world.all_reduce_sum(head, "the step's loss all-reduce");
  for (size_t i = 0; i < scalars.size(); ++i) scalars[i] = h[n + static_cast<int64_t>(i)];

  std::vector<at::Tensor> grads;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor& p = params_[static_cast<size_t>(i)];
    if (h[i] == 0.0) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  // Buckets of consecutive gradients of one dtype/device, flattened, all in flight at once.
  std::vector<std::vector<at::Tensor>> members;
  std::vector<at::Tensor> flat;
  for (size_t i = 0; i < grads.size();) {
    std::vector<at::Tensor> bucket{grads[i]};
    int64_t bytes = grads[i].numel() * static_cast<int64_t>(grads[i].element_size());
    size_t j = i + 1;
    for (; j < grads.size() && bytes < bucket_bytes_ && grads[j].scalar_type() == grads[i].scalar_type() &&
           grads[j].device() == grads[i].device();
         ++j) {
      bucket.push_back(grads[j]);
      bytes += grads[j].numel() * static_cast<int64_t>(grads[j].element_size());
    }
    std::vector<at::Tensor> views;
    for (auto& g : bucket) views.push_back(g.reshape({-1}));
    flat.push_back(torch::cat(views));
    members.push_back(std::move(bucket));
    i = j;
  }
  world.all_reduce_sum(flat, "the gradient all-reduce");
  const double inv = 1.0 / static_cast<double>(world.size());
  for (size_t b = 0; b < flat.size(); ++b) {
    flat[b].mul_(inv);
    int64_t offset = 0;
    for (auto& g : members[b]) {
      g.copy_(flat[b].narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
  }
}

}  // namespace amr

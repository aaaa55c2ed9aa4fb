#include "amr/model/batch_stats.h"

#include <torch/torch.h>

namespace amr {

namespace {

class AllReduceSum : public torch::autograd::Function<AllReduceSum> {
 public:
  // `sync` is the module's own function, alive until its step's backward is done; autograd's
  // context keeps only IValues, hence the address.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const StatsAllReduce* sync) {
    ctx->saved_data["sync"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(sync));
    std::vector<at::Tensor> t{x.clone()};
    (*sync)(t);
    return t[0];
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list g) {
    const auto* sync = reinterpret_cast<const StatsAllReduce*>(static_cast<intptr_t>(ctx->saved_data["sync"].toInt()));
    std::vector<at::Tensor> t{g[0].contiguous().clone()};
    (*sync)(t);
    return {t[0], at::Tensor()};
  }
};

}  // namespace

ScopedStatsAllReduce::ScopedStatsAllReduce(torch::nn::Module& root, StatsAllReduce f) {
  auto set = [&](torch::nn::Module& m) {
    if (auto* s = dynamic_cast<StatsSynced*>(&m)) {
      previous_.emplace_back(s, s->stats_all_reduce());
      s->set_stats_all_reduce(f);
    }
  };
  set(root);
  for (const auto& m : root.modules(/*include_self=*/false)) set(*m);
}

ScopedStatsAllReduce::~ScopedStatsAllReduce() {
  for (auto& [module, f] : previous_) module->set_stats_all_reduce(std::move(f));
}

at::Tensor all_reduce_sum_differentiable(const at::Tensor& x, const StatsAllReduce& sync) {
  if (!sync) return x;
  return AllReduceSum::apply(x, &sync);
}

at::Tensor synced_batch_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps,
                             const StatsAllReduce& sync) {
  const int64_t c = x.size(1);
  const std::vector<int64_t> dims{0, 2, 3};
  at::Tensor count = torch::full({1}, static_cast<double>(x.numel() / c), x.options());
  // One collective for the sums and the element count, one for the squared deviations.
  at::Tensor head = all_reduce_sum_differentiable(torch::cat({x.sum(dims), count}), sync);
  at::Tensor n = head.narrow(0, c, 1).detach();
  at::Tensor mean = head.narrow(0, 0, c) / n;
  at::Tensor centered = x - mean.view({1, c, 1, 1});
  at::Tensor var = all_reduce_sum_differentiable(centered.pow(2).sum(dims), sync) / n;
  at::Tensor y = centered * torch::rsqrt(var + eps).view({1, c, 1, 1});
  if (weight.defined()) y = y * weight.view({1, c, 1, 1});
  if (bias.defined()) y = y + bias.view({1, c, 1, 1});
  if (running_mean.defined()) {
    torch::NoGradGuard no_grad;
    const double total = n.item<double>();
    running_mean.mul_(1.0 - momentum).add_(mean.detach(), momentum);
    running_var.mul_(1.0 - momentum).add_(var.detach() * (total / std::max(1.0, total - 1.0)), momentum);
  }
  return y;
}

std::pair<at::Tensor, at::Tensor> synced_mean_std(const at::Tensor& x, const StatsAllReduce& sync) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> t{torch::stack({x.sum(), torch::full({}, static_cast<double>(x.numel()), x.options())})};
  sync(t);
  const at::Tensor n = t[0][1];
  const at::Tensor mean = t[0][0] / n;
  std::vector<at::Tensor> s{(x - mean).pow(2).sum().reshape({1})};
  sync(s);
  return {mean, torch::sqrt(s[0][0] / (n - 1))};
}

}  // namespace amr

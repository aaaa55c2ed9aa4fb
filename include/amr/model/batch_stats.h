#pragma once
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace torch::nn {
class Module;
}

namespace amr {

// Batch statistics over several processes (`sync_stats: true` in data-parallel training): while
// a StatsAllReduce is set on a network, its BatchNorm layers in training mode and its AMMs'
// Gaussians (whose mu/sigma are taken over the whole batch tensor) compute their statistics
// over the union of every process's batch, as SyncBatchNorm does; N ranks x B then equal one
// process x N*B. The function sums its tensors in place over the processes. None set (the
// default): the statistics of this process's batch, as the official DataParallel's replicas.
using StatsAllReduce = std::function<void(std::vector<at::Tensor>&)>;

// A module whose statistics may be synced: it keeps the function it was given.
class StatsSynced {
 public:
  virtual ~StatsSynced() = default;
  void set_stats_all_reduce(StatsAllReduce f) { sync_ = std::move(f); }
  const StatsAllReduce& stats_all_reduce() const { return sync_; }

 private:
  StatsAllReduce sync_;
};

// Sets `f` on every StatsSynced module of `root` (itself included) for the scope's life, then
// restores what they had.
class ScopedStatsAllReduce {
 public:
  ScopedStatsAllReduce(torch::nn::Module& root, StatsAllReduce f);  // an empty f: none
  ~ScopedStatsAllReduce();
  ScopedStatsAllReduce(const ScopedStatsAllReduce&) = delete;
  ScopedStatsAllReduce& operator=(const ScopedStatsAllReduce&) = delete;

 private:
  std::vector<std::pair<StatsSynced*, StatsAllReduce>> previous_;
};

// sum over the processes of x, differentiable: the backward pass sums the gradients the same way.
at::Tensor all_reduce_sum_differentiable(const at::Tensor& x, const StatsAllReduce& sync);

// Training-mode batch normalization with statistics over all processes (NCHW, per channel);
// updates running_mean / running_var (unbiased) as torch.batch_norm does, unless undefined.
at::Tensor synced_batch_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps,
                             const StatsAllReduce& sync);

// Mean and unbiased standard deviation of all elements of x over all processes (no gradient).
std::pair<at::Tensor, at::Tensor> synced_mean_std(const at::Tensor& x, const StatsAllReduce& sync);

}  // namespace amr

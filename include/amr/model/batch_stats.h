#pragma once
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace amr {

// Batch statistics over several processes (`sync_stats: true` in data-parallel training): while
// a StatsAllReduce is installed, BatchNorm in training mode and the AMM's Gaussian (whose μ/σ
// are taken over the whole batch tensor) compute their statistics over the union of every
// process's batch, as SyncBatchNorm does; N ranks x B then equal one process x N·B. The
// function sums its tensors in place over the processes. None installed (the default): the
// statistics of this process's batch, as the official DataParallel's replicas.
using StatsAllReduce = std::function<void(std::vector<at::Tensor>&)>;

class ScopedStatsAllReduce {
 public:
  explicit ScopedStatsAllReduce(StatsAllReduce f);  // an empty f: none, within this scope
  ~ScopedStatsAllReduce();
  ScopedStatsAllReduce(const ScopedStatsAllReduce&) = delete;
  ScopedStatsAllReduce& operator=(const ScopedStatsAllReduce&) = delete;

 private:
  StatsAllReduce previous_;
};

const StatsAllReduce& stats_all_reduce();  // empty when none is installed

// sum over the processes of x, differentiable: the backward pass sums the gradients the same way.
at::Tensor all_reduce_sum_differentiable(const at::Tensor& x);

// Training-mode batch normalization with statistics over all processes (NCHW, per channel);
// updates running_mean / running_var (unbiased) as torch.batch_norm does, unless undefined.
at::Tensor synced_batch_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps);

// Mean and unbiased standard deviation of all elements of x over all processes (no gradient).
std::pair<at::Tensor, at::Tensor> synced_mean_std(const at::Tensor& x);

}  // namespace amr

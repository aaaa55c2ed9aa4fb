#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "amr/model/batch_stats.h"

namespace torch::nn {
class Module;
}

namespace amr {

class BatchNormImpl;

// The BatchNorm layers of `net` whose running statistics are read at inference: those in
// BnMode::Train, except the AMM gates' that use batch statistics always (official quirk 1).
// Frozen and fixed-stats layers never change their statistics.
std::vector<BatchNormImpl*> running_stat_batch_norms(torch::nn::Module& net);

struct PreciseBnResult {
  int64_t layers = 0;   // BatchNorm layers recalibrated (those that normalized with batch statistics)
  int64_t batches = 0;  // batches averaged (over all ranks)
};

// Precise BatchNorm (as pycls / Detectron2's PreciseBN; Wu & Johnson 2021): the running mean and
// (unbiased) variance of every layer of running_stat_batch_norms(net) replaced by the plain
// average of its batch statistics over up to `batches` forward passes, in train mode without
// gradients. A layer that the network runs in eval mode whatever its training flag (the frozen
// spotlight of the official routing) computes no batch statistics and keeps its own; every other buffer (batch counters, the AMM gates' statistics) is left as it was.
// An exponential average with momentum m remembers the weights of the last ~1/m
// steps: when the weights moved faster than that (the compensation branch at 10x lr, the AMM
// gates' momentum 0.01), eval mode normalizes with statistics of a network that no longer exists.
// `forward_batch` runs one batch through `net` and returns false when there is none left.
// `sum_over_ranks` (data-parallel) sums tensors in place over the processes: the result is then
// the average over every rank's batches, the same on every rank. The training flag is restored.
PreciseBnResult recalibrate_batch_norms(torch::nn::Module& net, int64_t batches, const std::function<bool()>& forward_batch,
                                        const StatsAllReduce& sum_over_ranks = StatsAllReduce());

// The running statistics and batch counters of every BatchNorm of `net` in BnMode::Train, as
// they were when constructed; restore() puts them back.
class BatchNormBuffers {
 public:
  explicit BatchNormBuffers(torch::nn::Module& net);
  void restore() const;

 private:
  std::vector<BatchNormImpl*> layers_;
  std::vector<at::Tensor> saved_;  // mean, var, count per layer
};

// For its scope: `net` in train mode (batch statistics), every running statistic left as it was.
// Validation with batch statistics uses it to tell stale running statistics from a bad network.
class ScopedBatchStatistics {
 public:
  explicit ScopedBatchStatistics(torch::nn::Module& net);
  ~ScopedBatchStatistics();
  ScopedBatchStatistics(const ScopedBatchStatistics&) = delete;
  ScopedBatchStatistics& operator=(const ScopedBatchStatistics&) = delete;

 private:
  torch::nn::Module& net_;
  bool was_training_;
  BatchNormBuffers saved_;
};

}  // namespace amr

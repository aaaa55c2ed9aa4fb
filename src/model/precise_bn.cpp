#include "amr/model/precise_bn.h"

#include <torch/torch.h>

#include <unordered_set>

#include "amr/base/error.h"
#include "amr/model/amm.h"
#include "amr/model/batchnorm.h"

namespace amr {

namespace {

std::vector<BatchNormImpl*> train_mode_batch_norms(torch::nn::Module& net) {
  std::vector<BatchNormImpl*> out;
  for (const auto& m : net.modules(/*include_self=*/true))
    if (auto* bn = dynamic_cast<BatchNormImpl*>(m.get()); bn && bn->mode() == BnMode::Train && !bn->folded())
      out.push_back(bn);
  return out;
}

}  // namespace

std::vector<BatchNormImpl*> running_stat_batch_norms(torch::nn::Module& net) {
  std::unordered_set<const BatchNormImpl*> batch_stats_always;
  for (const auto& m : net.modules(/*include_self=*/true))
    if (auto* gate = dynamic_cast<GateConvImpl*>(m.get()); gate && gate->batch_stats_always())
      batch_stats_always.insert(gate->bn.get());
  std::vector<BatchNormImpl*> out;
  for (auto* bn : train_mode_batch_norms(net))
    if (!batch_stats_always.count(bn)) out.push_back(bn);
  return out;
}

BatchNormBuffers::BatchNormBuffers(torch::nn::Module& net) : layers_(train_mode_batch_norms(net)) {
  for (auto* bn : layers_)
    for (const at::Tensor& t : {bn->running_mean, bn->running_var, bn->num_batches_tracked}) saved_.push_back(t.clone());
}

void BatchNormBuffers::restore() const {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->running_mean.copy_(saved_[3 * i]);
    layers_[i]->running_var.copy_(saved_[3 * i + 1]);
    layers_[i]->num_batches_tracked.copy_(saved_[3 * i + 2]);
  }
}

namespace {

// With momentum 1 a layer's running statistics after a forward pass are that batch's: mean and
// unbiased variance, as torch.batch_norm writes them.
struct MomentumOne {
  explicit MomentumOne(const std::vector<BatchNormImpl*>& layers) : layers_(layers) {
    for (auto* bn : layers_) {
      saved_.push_back(bn->momentum());
      bn->set_momentum(1.0);
      bn->running_mean.zero_();  // 0 x a corrupted (NaN) value would stay NaN
      bn->running_var.fill_(1.0);
    }
  }
  ~MomentumOne() {
    for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_momentum(saved_[i]);
  }
  const std::vector<BatchNormImpl*>& layers_;
  std::vector<double> saved_;
};

}  // namespace

namespace {

// How many forward passes each layer normalized with batch statistics (its counter moved):
// layers that a network runs in eval mode whatever its flag (the official routing's frozen
// spotlight) never do, and keep their statistics.
struct BatchStatSums {
  explicit BatchStatSums(const std::vector<BatchNormImpl*>& layers) : layers_(layers), ran_(layers.size(), 0.0) {
    for (auto* bn : layers) {
      sums.push_back(torch::zeros_like(bn->running_mean, torch::kFloat64));
      sums.push_back(torch::zeros_like(bn->running_var, torch::kFloat64));
    }
  }
  void before_batch() {
    counters_.clear();
    for (auto* bn : layers_) counters_.push_back(bn->num_batches_tracked.item<int64_t>());
  }
  void after_batch() {
    for (size_t i = 0; i < layers_.size(); ++i)
      if (layers_[i]->num_batches_tracked.item<int64_t>() > counters_[i]) {
        sums[2 * i].add_(layers_[i]->running_mean);
        sums[2 * i + 1].add_(layers_[i]->running_var);
        ran_[i] += 1;
      }
  }
  // Appends the per-layer counts and the batch count (one tensor, summed over ranks with the rest).
  void append_counts(int64_t batches) {
    std::vector<double> counts = ran_;
    counts.push_back(static_cast<double>(batches));
    sums.push_back(torch::tensor(counts, torch::kFloat64).to(sums[0].device()));
  }
  std::vector<at::Tensor> sums;  // per layer: mean sum, var sum; then the counts

 private:
  const std::vector<BatchNormImpl*>& layers_;
  std::vector<double> ran_;
  std::vector<int64_t> counters_;
};

}  // namespace

PreciseBnResult recalibrate_batch_norms(torch::nn::Module& net, int64_t batches, const std::function<bool()>& forward_batch,
                                        const StatsAllReduce& sum_over_ranks) {
  const std::vector<BatchNormImpl*> layers = running_stat_batch_norms(net);
  if (layers.empty() || batches < 1) return {};
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  BatchStatSums stats(layers);
  int64_t seen = 0;
  const BatchNormBuffers untouched(net);  // restored after the passes; then the averages written
  {
    MomentumOne batch_stats_only(layers);
    net.train();
    for (; seen < batches; ++seen) {
      stats.before_batch();
      if (!forward_batch()) break;
      stats.after_batch();
    }
  }
  net.train(was_training);
  untouched.restore();
  stats.append_counts(seen);
  if (sum_over_ranks) sum_over_ranks(stats.sums);
  const at::Tensor counts = stats.sums.back().cpu();
  PreciseBnResult r{0, static_cast<int64_t>(counts[static_cast<int64_t>(layers.size())].item<double>())};
  if (r.batches < 1) throw Error("precise BatchNorm: the data gave no batch to average");
  for (size_t i = 0; i < layers.size(); ++i) {
    const double n = counts[static_cast<int64_t>(i)].item<double>();
    if (n < 1) continue;
    layers[i]->running_mean.copy_(stats.sums[2 * i] / n);
    layers[i]->running_var.copy_(stats.sums[2 * i + 1] / n);
    ++r.layers;
  }
  return r;
}

ScopedBatchStatistics::ScopedBatchStatistics(torch::nn::Module& net)
    : net_(net), was_training_(net.is_training()), saved_(net) {
  net_.train();
}

ScopedBatchStatistics::~ScopedBatchStatistics() {
  saved_.restore();
  net_.train(was_training_);
}

}  // namespace amr

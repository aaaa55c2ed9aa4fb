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

PreciseBnResult recalibrate_batch_norms(torch::nn::Module& net, int64_t batches, const std::function<bool()>& forward_batch,
                                        const StatsAllReduce& sum_over_ranks) {
  const std::vector<BatchNormImpl*> layers = running_stat_batch_norms(net);
  if (layers.empty() || batches < 1) return {};
  torch::NoGradGuard no_grad;
  const bool was_training = net.is_training();
  std::vector<at::Tensor> sums;  // per layer: mean sum, var sum; then the batch count
  for (auto* bn : layers) {
    sums.push_back(torch::zeros_like(bn->running_mean, torch::kFloat64));
    sums.push_back(torch::zeros_like(bn->running_var, torch::kFloat64));
  }
  int64_t seen = 0;
  const BatchNormBuffers untouched(net);  // what the forward passes would update besides the averages
  {
    MomentumOne batch_stats_only(layers);
    net.train();
    for (; seen < batches && forward_batch(); ++seen)
      for (size_t i = 0; i < layers.size(); ++i) {
        sums[2 * i].add_(layers[i]->running_mean);
        sums[2 * i + 1].add_(layers[i]->running_var);
      }
  }
  net.train(was_training);
  untouched.restore();
  sums.push_back(torch::full({1}, static_cast<double>(seen), sums[0].options()));
  if (sum_over_ranks) sum_over_ranks(sums);
  const double total = sums.back().item<double>();
  if (total < 1) throw Error("precise BatchNorm: the data gave no batch to average");
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i]->running_mean.copy_(sums[2 * i] / total);
    layers[i]->running_var.copy_(sums[2 * i + 1] / total);
  }
  return {static_cast<int64_t>(layers.size()), static_cast<int64_t>(total)};
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

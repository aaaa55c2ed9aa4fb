#include "amr/model/amm.h"

#include <torch/torch.h>

#include <cmath>
#include <tuple>

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/model/batch_stats.h"

namespace amr {

namespace {
constexpr EnumNames<TauMode, 2> kTauModes{{{TauMode::Relative, "relative"}, {TauMode::Absolute, "absolute"}}};
}
TauMode parse_tau_mode(const std::string& s) { return parse_enum(kTauModes, s, "--tau-mode"); }
std::string to_string(TauMode m) { return enum_name(kTauModes, m); }

GaussianThreshold gaussian_threshold(double tau, TauMode mode) {
  if (!(tau >= 0.0)) throw Error("--tau: expected a threshold >= 0, got " + shortest_double(tau));
  if (mode == TauMode::Relative && tau > 1.0) throw Error("--tau: a relative threshold must be in [0, 1]");
  return GaussianThreshold{tau, mode};
}

at::Tensor gaussian_modulation(const at::Tensor& x, const GaussianThreshold& threshold, const StatsAllReduce& sync) {
  at::Tensor mean, std;
  if (sync) {
    std::tie(mean, std) = synced_mean_std(x, sync);  // sync_stats: over every process's batch
  } else {
    torch::NoGradGuard no_grad;
    std = x.std();  // unbiased, as torch.std
    mean = x.mean();
  }
  // The official GaussProjection's operation order (pow, not z * z): training parity is then
  // bit-exact rather than within rounding that the Gaussian's slope amplifies step by step.
  const at::Tensor sigma = std * std::sqrt(2.0 * M_PI);
  at::Tensor g = torch::exp(-(x - mean).pow(2) / (std.pow(2) * 2.0)) / sigma;
  if (threshold.tau > 0.0) {
    at::Tensor keep;
    {
      torch::NoGradGuard no_grad;
      keep = threshold.mode == TauMode::Relative ? (g * (std::sqrt(2.0 * M_PI) * std) >= threshold.tau) : (g >= threshold.tau);
    }
    g = g * keep;
  }
  return g;
}

ChannelGateImpl::ChannelGateImpl(int64_t channels, const AmmOptions& opt) : threshold_(opt.threshold) {
  const int64_t hidden = std::max<int64_t>(1, channels / opt.reduction);
  mlp = register_module("mlp", torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(channels, hidden),
                                                     torch::nn::ReLU(), torch::nn::Linear(hidden, channels)));
}

at::Tensor ChannelGateImpl::forward(const at::Tensor& x) {
  // avg_pool2d over the whole map, as the official (x.mean rounds differently).
  at::Tensor att = mlp->forward(torch::avg_pool2d(x, {x.size(2), x.size(3)}, {x.size(2), x.size(3)}));
  at::Tensor g = gaussian_modulation(att, threshold_, stats_all_reduce());
  return x * g.unsqueeze(2).unsqueeze(3);
}

GateConvImpl::GateConvImpl(bool bn_batch_stats_always) : batch_stats_always_(bn_batch_stats_always) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 1, 7).padding(3).bias(false)));
  bn = register_module("bn", BatchNorm(1, BnMode::Train, /*momentum=*/0.01));
}

at::Tensor GateConvImpl::forward(const at::Tensor& x) {
  at::Tensor y = conv->forward(x);
  if (batch_stats_always_ && !bn->is_training()) {
    // Batch statistics without touching the running ones (which nothing reads in this mode).
    if (stats_all_reduce()) {
      at::Tensor none;
      return synced_batch_norm(y, bn->weight, bn->bias, none, none, 0.01, 1e-5, stats_all_reduce());
    }
    return torch::batch_norm(y, bn->weight, bn->bias, {}, {}, true, 0.01, 1e-5, true);
  }
  return bn->forward(y);
}

SpatialGateImpl::SpatialGateImpl(const AmmOptions& opt) : threshold_(opt.threshold) {
  spatial = register_module("spatial", GateConv(opt.spatial_bn_batch_stats_always));
}

at::Tensor SpatialGateImpl::forward(const at::Tensor& x) {
  at::Tensor pooled = torch::cat({std::get<0>(torch::max(x, 1)).unsqueeze(1), torch::mean(x, 1).unsqueeze(1)}, 1);
  at::Tensor g = gaussian_modulation(spatial->forward(pooled), threshold_, stats_all_reduce());
  return x * g;
}

AmmImpl::AmmImpl(int64_t channels, const AmmOptions& opt) {
  ChannelAMM = register_module("ChannelAMM", ChannelGate(channels, opt));
  SpatialAMM = register_module("SpatialAMM", SpatialGate(opt));
}

at::Tensor AmmImpl::forward(const at::Tensor& x) { return SpatialAMM->forward(ChannelAMM->forward(x)); }

}  // namespace amr

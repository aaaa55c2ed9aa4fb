#pragma once
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "amr/model/batchnorm.h"

namespace amr {

// Gaussian threshold modulation (seed report, Eq. 9): Gaussian outputs below tau are set to 0.
//  relative  tau applies to G / max(G) = exp(-(x-mu)^2 / (2 sigma^2)), in [0, 1]: scale-free,
//            since G is a density whose peak 1/(sqrt(2 pi) sigma) changes with sigma;
//  absolute  tau applies to G itself, literally as Eq. 9 is written.
// tau = 0 is plain AMM exactly.
struct GaussianThreshold {
  double tau = 0.0;
  TauMode mode = TauMode::Relative;
};
GaussianThreshold gaussian_threshold(double tau, TauMode mode);  // validated; throws naming --tau

struct AmmOptions {
  int64_t reduction = 16;
  GaussianThreshold threshold;
  // Official code quirk 1: the spatial gate's BatchNorm uses batch statistics even at
  // inference (its module never leaves training mode). The Gaussian re-standardizes its
  // input, so this only changes a global 1/sigma factor; kept for parity. When false, the
  // BatchNorm follows train()/eval() like any other.
  bool spatial_bn_batch_stats_always = true;
};

// G(x) = exp(-(x - mu)^2 / (2 sigma^2)) / (sqrt(2 pi) sigma), with mu and the unbiased sigma
// taken over the whole tensor and detached (AMR Eq. 1-2), then thresholded.
at::Tensor gaussian_modulation(const at::Tensor& x, const GaussianThreshold& threshold,
                               const StatsAllReduce& sync = StatsAllReduce());

// Channel AMM (AMR Eq. 3): avg-pool -> Linear(C, C/r) -> ReLU -> Linear(C/r, C) -> G -> x * G.
class ChannelGateImpl : public torch::nn::Module, public StatsSynced {
 public:
  ChannelGateImpl(int64_t channels, const AmmOptions& opt);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Sequential mlp{nullptr};  // names mlp.1.*, mlp.3.* as the official Flatten/Linear/ReLU/Linear

 private:
  GaussianThreshold threshold_;
};
TORCH_MODULE(ChannelGate);

// conv (no bias) + BatchNorm2d(momentum 0.01) as the official BasicConv (names conv.*, bn.*).
class GateConvImpl : public torch::nn::Module, public StatsSynced {
 public:
  explicit GateConvImpl(bool bn_batch_stats_always);
  at::Tensor forward(const at::Tensor& x);
  bool batch_stats_always() const { return batch_stats_always_; }
  torch::nn::Conv2d conv{nullptr};
  BatchNorm bn{nullptr};

 private:
  bool batch_stats_always_;
};
TORCH_MODULE(GateConv);

// Spatial AMM (AMR Eq. 4): cat[max_c, mean_c] -> 7x7 conv -> BN -> G -> x * G.
class SpatialGateImpl : public torch::nn::Module, public StatsSynced {
 public:
  explicit SpatialGateImpl(const AmmOptions& opt);
  at::Tensor forward(const at::Tensor& x);
  GateConv spatial{nullptr};

 private:
  GaussianThreshold threshold_;
};
TORCH_MODULE(SpatialGate);

class AmmImpl : public torch::nn::Module {
 public:
  AmmImpl(int64_t channels, const AmmOptions& opt);
  at::Tensor forward(const at::Tensor& x);
  ChannelGate ChannelAMM{nullptr};
  SpatialGate SpatialAMM{nullptr};
};
TORCH_MODULE(Amm);

}  // namespace amr

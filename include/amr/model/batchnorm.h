#pragma once
#include <torch/nn/modules/conv.h>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "amr/model/batch_stats.h"
#include "amr/model/options.h"

namespace amr {

// BatchNorm2d with torchvision's parameter names (weight, bias, running_mean, running_var,
// num_batches_tracked) whose statistics source is chosen by BnMode.
class BatchNormImpl : public torch::nn::Module, public StatsSynced {
 public:
  BatchNormImpl(int64_t channels, BnMode mode, double momentum = 0.1, double eps = 1e-5);
  at::Tensor forward(const at::Tensor& x);
  BnMode mode() const { return mode_; }
  // Folds this layer (running statistics) into the preceding bias-free convolution `conv`:
  // W' = W * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps); then forward is the
  // identity. Inference only (the statistics and affine parameters are then frozen in `conv`).
  void fold_into(torch::nn::Conv2dImpl& conv);
  bool folded() const { return folded_; }
  double momentum() const { return momentum_; }
  void set_momentum(double m) { momentum_ = m; }

  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  BnMode mode_;
  double momentum_, eps_;
  bool folded_ = false;
};
TORCH_MODULE(BatchNorm);

}  // namespace amr

#include "amr/model/batchnorm.h"

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/model/batch_stats.h"

namespace amr {

namespace {
constexpr EnumNames<BnMode, 3> kBnModes{{{BnMode::Frozen, "frozen"}, {BnMode::FixedStats, "fixed-stats"}, {BnMode::Train, "train"}}};
}
BnMode parse_bn_mode(const std::string& s) { return parse_enum(kBnModes, s, "--bn"); }
std::string to_string(BnMode m) { return enum_name(kBnModes, m); }

BatchNormImpl::BatchNormImpl(int64_t channels, BnMode mode, double momentum, double eps)
    : mode_(mode), momentum_(momentum), eps_(eps) {
  weight = register_parameter("weight", torch::ones({channels}), mode != BnMode::Frozen);
  bias = register_parameter("bias", torch::zeros({channels}), mode != BnMode::Frozen);
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

void BatchNormImpl::fold_into(torch::nn::Conv2dImpl& conv) {
  if (folded_) return;
  if (conv.bias.defined()) throw Error("BatchNorm folding: the convolution already has a bias");
  torch::NoGradGuard no_grad;
  const at::Tensor scale = weight / torch::sqrt(running_var + eps_);
  conv.weight.mul_(scale.view({-1, 1, 1, 1}));
  conv.bias = (bias - running_mean * scale).detach().clone();
  folded_ = true;
}

at::Tensor BatchNormImpl::forward(const at::Tensor& x) {
  if (folded_) return x;
  const bool batch_stats = mode_ == BnMode::Train && is_training();
  if (batch_stats) {
    torch::NoGradGuard no_grad;
    num_batches_tracked += 1;
  }
  if (batch_stats && stats_all_reduce())
    return synced_batch_norm(x, weight, bias, running_mean, running_var, momentum_, eps_, stats_all_reduce());
  return torch::batch_norm(x, weight, bias, running_mean, running_var, batch_stats, momentum_, eps_,
                           /*cudnn_enabled=*/true);
}

}  // namespace amr

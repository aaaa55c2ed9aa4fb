#pragma once
#include <array>
#include <optional>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "amr/model/amm.h"
#include "amr/model/batchnorm.h"

namespace amr {

struct ResNetOptions {
  std::string arch = "resnet50";  // resnet18 | resnet34 | resnet50
  // Strides of conv1, layer2, layer3, layer4 (the max-pool always halves): (2,2,2,1) is output
  // stride 16 as IRN/AMR; (2,2,1,1) is output stride 8 for small images.
  std::array<int64_t, 4> strides{2, 2, 2, 1};
  BnMode bn = BnMode::FixedStats;
  std::optional<AmmOptions> amm;  // set: the compensation branch, one AMM per block
};

// Validates the arch name and strides; throws naming the flag.
void validate(const ResNetOptions& opt);
int64_t feature_channels(const std::string& arch);

// torchvision's BasicBlock / Bottleneck (stride on the 3x3 conv, "v1.5"), with parameter
// names of torchvision's state_dict; the optional AMM sits after the last BN, before the add.
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(bool bottleneck, int64_t inplanes, int64_t planes, int64_t stride, const ResNetOptions& opt);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
  Amm amm{nullptr};
};
TORCH_MODULE(Block);

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& opt);
  at::Tensor stem(const at::Tensor& x);  // conv1, bn1, relu, maxpool
  at::Tensor forward(const at::Tensor& x);
  const ResNetOptions& options() const { return opt_; }
  int64_t out_channels() const { return feature_channels(opt_.arch); }
  // Inference speed-up: every backbone BatchNorm folded into its convolution (eval mode or
  // running-statistics BN only; the AMM gate's batch-statistics BN is left as it is).
  void fold_batchnorm();

  torch::nn::Conv2d conv1{nullptr};
  BatchNorm bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};

 private:
  ResNetOptions opt_;
};
TORCH_MODULE(ResNet);

}  // namespace amr

#pragma once
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "amr/model/options.h"
#include "amr/model/resnet.h"

namespace amr {

struct AmrNetOptions {
  ResNetOptions backbone;      // arch, strides, BN mode (amm ignored here)
  int64_t num_classes = 20;    // foreground classes
  bool dual = true;            // false: the single-branch CAM network (IRN's train_cam)
  AmmOptions amm;              // the compensation branch's AMM
  Routing routing = Routing::Official;
  MemoryMode memory = MemoryMode::Store;  // checkpoint: the compensation blocks recomputed in backward
};

struct AmrOutput {
  at::Tensor logits_s, cam_s;  // spotlight: [N, K], ReLU CAM [N, K, h, w]
  at::Tensor logits_c, cam_c;  // compensation (undefined for a single-branch net)
  at::Tensor feat_s, feat_c;   // last-stage features
};

// Two ResNets side by side (AMR Fig. 2): `spotlight` (plain) + `classifier`, and
// `compensation` (one AMM per block) + `classifier2`; 1x1 convolution classifiers without
// bias, logits = classifier(GAP(features)), CAM = ReLU(classifier * features).
class AmrNetImpl : public torch::nn::Module {
 public:
  explicit AmrNetImpl(const AmrNetOptions& opt);
  AmrOutput forward(const at::Tensor& images);
  const AmrNetOptions& options() const { return opt_; }

  // Parameter groups of the reference optimizer: spotlight backbone, compensation backbone
  // (10x lr in the official recipe), classifiers. Frozen parameters are left out.
  std::vector<at::Tensor> spotlight_backbone_parameters();
  std::vector<at::Tensor> compensation_backbone_parameters();
  std::vector<at::Tensor> classifier_parameters();

  ResNet spotlight{nullptr}, compensation{nullptr};
  torch::nn::Conv2d classifier{nullptr}, classifier2{nullptr};

 private:
  AmrNetOptions opt_;
};
TORCH_MODULE(AmrNet);

// ReLU(conv(features, weight)): the class activation map of AMR Eq. 5.
at::Tensor class_activation_map(const at::Tensor& features, const at::Tensor& classifier_weight);

// Stores every 4-d parameter (convolution weights) channels-last (NHWC), the layout oneDNN's
// convolutions run fastest in on the CPU; inputs should then be channels-last too.
void use_channels_last(AmrNet& net);

}  // namespace amr

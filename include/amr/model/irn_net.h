#pragma once
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "amr/io/pth.h"
#include "amr/model/resnet.h"

namespace amr {

struct IrnNetOptions {
  std::string arch = "resnet50";  // the official backbone; resnet18 / resnet34 for small data
  // Inference pads each image with zeros to at least crop x crop (the official EdgeDisplacement
  // pads to its training crop, 512): GroupNorm statistics see the padding, so it is part of
  // the result.
  int64_t crop = 512;
};

// The backbone's five feature maps (stem, layer1 .. layer4), computed without gradients.
struct IrnFeatures {
  at::Tensor x1, x2, x3, x4, x5;
};

// IRN's inter-pixel relation network (Ahn et al. 2019, Fig. 3; net/resnet50_irn.py): a frozen
// ResNet at output stride 16 (strides 2, 2, 2, 1; running BatchNorm statistics), a boundary
// branch fc_edge1..6 and a displacement branch fc_dp1..7 on its five levels. Names mirror the
// official state_dict, so res50_irn.pth imports (the stage*/backbone/edge_layers/dp_layers
// aliases of the same tensors are dropped).
class IrnNetImpl : public torch::nn::Module {
 public:
  explicit IrnNetImpl(const IrnNetOptions& opt = {});
  IrnFeatures features(const at::Tensor& x);
  at::Tensor edge(const IrnFeatures& f);          // [B, 1, H/4, W/4] logits
  at::Tensor displacement(const IrnFeatures& f);  // [B, 2, H/4, W/4] (mean-shifted in eval mode)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x);
  // The trained parameters, as the official optimizer groups: (edge branch, displacement branch).
  std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> trainable_parameters() const;
  void train(bool on = true) override;  // the backbone stays in eval mode
  const IrnNetOptions& options() const { return opt_; }

  ResNet resnet50{nullptr};
  torch::nn::Sequential fc_edge1{nullptr}, fc_edge2{nullptr}, fc_edge3{nullptr}, fc_edge4{nullptr}, fc_edge5{nullptr};
  torch::nn::Conv2d fc_edge6{nullptr};
  torch::nn::Sequential fc_dp1{nullptr}, fc_dp2{nullptr}, fc_dp3{nullptr}, fc_dp4{nullptr}, fc_dp5{nullptr}, fc_dp6{nullptr},
      fc_dp7{nullptr};
  torch::nn::Module* mean_shift = nullptr;  // holds running_mean [2]
  at::Tensor mean_shift_running_mean;

 private:
  IrnNetOptions opt_;
};
TORCH_MODULE(IrnNet);

// The official state_dict (res50_irn.pth, the AffinityDisplacementLoss module) without its
// aliases of the same tensors (stage*, backbone.*, edge_layers.*, dp_layers.*, fc_dp7.4.*) and the
// loss's derived buffers (path_indices*, disp_target), under IrnNet's names.
NamedTensors irn_official_keys(const NamedTensors& official);

// An IRN model file (amr's, or the official res50_irn.pth): the backbone's depth read from the
// tensors, every tensor checked (strict); throws one line naming the file.
IrnNet load_irn_model(const std::string& path, int64_t crop);

// EdgeDisplacement's inference (make_sem_seg_labels.py): image [3, H, W] normalized ->
// boundary probabilities [ceil(H/4), ceil(W/4)], sigmoid of the mean of the image's and its
// mirror's logits. The displacement branch is not computed (the masks do not use it).
at::Tensor infer_boundary(IrnNetImpl& net, const at::Tensor& image);

}  // namespace amr

#include "amr/model/irn_net.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/functional.h>
#include <torch/nn/modules/normalization.h>
#include <torch/utils.h>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/weights.h"

namespace amr {
namespace {

// conv 1x1 (no bias) + GroupNorm: the indices 0 and 1 of each official fc_* Sequential.
torch::nn::Sequential conv_gn(int64_t in, int64_t out, int64_t groups) {
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)),
                               torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, out)));
}

// The official nn.Upsample(scale_factor, bilinear, align_corners=False) then ReLU.
at::Tensor up_relu(const at::Tensor& x, int64_t scale) {
  if (scale == 1) return x.relu();
  return at::upsample_bilinear2d(x, {x.size(2) * scale, x.size(3) * scale}, false, double(scale), double(scale)).relu_();
}

at::Tensor crop_to(const at::Tensor& x, const at::Tensor& like) {
  return x.slice(2, 0, like.size(2)).slice(3, 0, like.size(3));
}

std::array<int64_t, 5> level_channels(const std::string& arch) {
  if (feature_channels(arch) == 2048) return {64, 256, 512, 1024, 2048};
  return {64, 64, 128, 256, 512};
}

}  // namespace

IrnNetImpl::IrnNetImpl(const IrnNetOptions& opt) : opt_(opt) {
  if (opt.crop < 16) throw Error("--crop: expected at least 16, got " + std::to_string(opt.crop));
  ResNetOptions backbone;
  backbone.arch = opt.arch;
  backbone.strides = {2, 2, 2, 1};
  backbone.bn = BnMode::Frozen;
  resnet50 = register_module("resnet50", ResNet(backbone));
  for (auto& p : resnet50->parameters()) p.set_requires_grad(false);
  const auto c = level_channels(opt.arch);
  fc_edge1 = register_module("fc_edge1", conv_gn(c[0], 32, 4));
  fc_edge2 = register_module("fc_edge2", conv_gn(c[1], 32, 4));
  fc_edge3 = register_module("fc_edge3", conv_gn(c[2], 32, 4));
  fc_edge4 = register_module("fc_edge4", conv_gn(c[3], 32, 4));
  fc_edge5 = register_module("fc_edge5", conv_gn(c[4], 32, 4));
  fc_edge6 = register_module("fc_edge6", torch::nn::Conv2d(torch::nn::Conv2dOptions(160, 1, 1).bias(true)));
  fc_dp1 = register_module("fc_dp1", conv_gn(c[0], 64, 8));
  fc_dp2 = register_module("fc_dp2", conv_gn(c[1], 128, 16));
  fc_dp3 = register_module("fc_dp3", conv_gn(c[2], 256, 16));
  fc_dp4 = register_module("fc_dp4", conv_gn(c[3], 256, 16));
  fc_dp5 = register_module("fc_dp5", conv_gn(c[4], 256, 16));
  fc_dp6 = register_module("fc_dp6", conv_gn(768, 256, 16));
  fc_dp7 = conv_gn(448, 256, 16);
  fc_dp7->push_back(torch::nn::Functional(torch::relu));
  fc_dp7->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(256, 2, 1).bias(false)));
  register_module("fc_dp7", fc_dp7);
  auto shift = std::make_shared<torch::nn::Module>();
  mean_shift_running_mean = shift->register_buffer("running_mean", at::zeros({2}));
  mean_shift = register_module("mean_shift", shift).get();
  IrnNetImpl::train(true);
}

void IrnNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  resnet50->eval();
}

IrnFeatures IrnNetImpl::features(const at::Tensor& x) {
  torch::NoGradGuard no_grad;  // the backbone is frozen and detached (official forward)
  IrnFeatures f;
  f.x1 = resnet50->stem(x);
  f.x2 = resnet50->layer1->forward(f.x1);
  f.x3 = resnet50->layer2->forward(f.x2);
  f.x4 = resnet50->layer3->forward(f.x3);
  f.x5 = resnet50->layer4->forward(f.x4);
  return f;
}

at::Tensor IrnNetImpl::edge(const IrnFeatures& f) {
  const at::Tensor e1 = fc_edge1->forward(f.x1).relu();
  const at::Tensor e2 = fc_edge2->forward(f.x2).relu();
  const at::Tensor e3 = crop_to(up_relu(fc_edge3->forward(f.x3), 2), e2);
  const at::Tensor e4 = crop_to(up_relu(fc_edge4->forward(f.x4), 4), e2);
  const at::Tensor e5 = crop_to(up_relu(fc_edge5->forward(f.x5), 4), e2);
  return fc_edge6->forward(at::cat({e1, e2, e3, e4, e5}, 1));
}

at::Tensor IrnNetImpl::displacement(const IrnFeatures& f) {
  const at::Tensor d1 = fc_dp1->forward(f.x1).relu();
  const at::Tensor d2 = fc_dp2->forward(f.x2).relu();
  const at::Tensor d3 = fc_dp3->forward(f.x3).relu();
  const at::Tensor d4 = crop_to(up_relu(fc_dp4->forward(f.x4), 2), d3);
  const at::Tensor d5 = crop_to(up_relu(fc_dp5->forward(f.x5), 2), d3);
  const at::Tensor up3 = crop_to(up_relu(fc_dp6->forward(at::cat({d3, d4, d5}, 1)), 2), d2);
  at::Tensor out = fc_dp7->forward(at::cat({d1, d2, up3}, 1));
  if (!is_training()) out = out - mean_shift_running_mean.view({1, 2, 1, 1});
  return out;
}

std::pair<at::Tensor, at::Tensor> IrnNetImpl::forward(const at::Tensor& x) {
  const IrnFeatures f = features(x);
  return {edge(f), displacement(f)};
}

std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> IrnNetImpl::trainable_parameters() const {
  std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> groups;
  for (const auto& item : named_parameters()) {
    if (starts_with(item.key(), "fc_edge")) groups.first.push_back(item.value());
    if (starts_with(item.key(), "fc_dp")) groups.second.push_back(item.value());
  }
  return groups;
}

NamedTensors irn_official_keys(const NamedTensors& official) {
  NamedTensors out;
  for (const auto& [k, v] : official) {
    // train_irn.py saves the AffinityDisplacementLoss module: its path_indices* and disp_target
    // buffers are derived from the radius and crop, not weights.
    const bool alias = starts_with(k, "stage") || starts_with(k, "backbone.") || starts_with(k, "edge_layers.") ||
                       starts_with(k, "dp_layers.") || starts_with(k, "fc_dp7.4.") || starts_with(k, "path_indices") ||
                       k == "disp_target";
    if (!alias) out.emplace_back(k, v);
  }
  return out;
}

IrnNet load_irn_model(const std::string& path, int64_t crop) {
  const NamedTensors tensors = irn_official_keys(read_pth(path));
  auto has = [&](const std::string& key) {
    for (const auto& kv : tensors)
      if (kv.first == key) return true;
    return false;
  };
  if (!has("fc_edge6.weight")) throw Error(path + ": not an IRN model (no fc_edge6.weight; expected amr's or the official res50_irn.pth)");
  IrnNetOptions opt;
  opt.crop = crop;
  opt.arch = has("resnet50.layer1.0.conv3.weight") ? "resnet50" : has("resnet50.layer1.2.conv1.weight") ? "resnet34" : "resnet18";
  IrnNet net(opt);
  load_state_dict(*net, tensors, /*strict=*/true, path);
  return net;
}

at::Tensor infer_boundary(IrnNetImpl& net, const at::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3) throw Error("boundary inference: expected an image [3, H, W], got " + c10::str(image.sizes()));
  torch::NoGradGuard no_grad;
  const int64_t h = image.size(1), w = image.size(2), crop = net.options().crop;
  auto padded_side = [&](int64_t s) { return std::max(crop, (s + 15) / 16 * 16); };
  const at::Tensor pair = at::stack({image, image.flip({2})});
  const at::Tensor x = at::constant_pad_nd(pair, {0, padded_side(w) - w, 0, padded_side(h) - h}, 0.0);
  const at::Tensor logits = net.edge(net.features(x)).slice(2, 0, (h + 3) / 4).slice(3, 0, (w + 3) / 4);
  return at::sigmoid(logits[0][0] / 2 + logits[1][0].flip({1}) / 2);
}

}  // namespace amr

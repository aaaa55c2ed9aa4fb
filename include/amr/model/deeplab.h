#pragma once
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "amr/model/batchnorm.h"

namespace amr {

// The segmentation heads: DeepLab v2 (Chen et al. 2017: ASPP of four dilated 3x3 convolutions,
// summed, at output stride 8) and DeepLab v3+ (Chen et al. 2018: ASPP with a 1x1 branch and image
// pooling, concatenated, and a decoder at stride 4).
enum class SegHead { V2, V3Plus };
SegHead parse_seg_head(const std::string& s);  // v2 | v3plus; throws naming `head`
std::string to_string(SegHead h);

// How an image becomes the network's input. caffe: BGR in 0..255 minus (104.008, 116.669,
// 122.675), no scaling: the reference's and its released weights'. imagenet: RGB / 255
// normalized by ImageNet's mean and std: torchvision weights'.
enum class SegInput { Caffe, ImageNet };
SegInput parse_seg_input(const std::string& s);  // caffe | imagenet; throws naming `input`
std::string to_string(SegInput i);

struct DeepLabOptions {
  // resnet50 | resnet101: Caffe-style (MSRA) bottlenecks, the reference's; resnet18 | resnet34:
  // basic blocks, for small data (initialized from a torchvision ResNet-18/34 or an amr run).
  std::string arch = "resnet101";
  SegHead head = SegHead::V2;
  int64_t num_classes = 21;
  int64_t output_stride = 8;          // v2: 8; v3plus: 8 or 16
  std::vector<int64_t> atrous_rates;  // empty: v2 6/12/18/24; v3plus 6/12/18 (OS 16) or 12/24/36 (OS 8)
  std::vector<double> msc_scales{0.5, 0.75};  // MSC's extra input scales; empty: single scale
  // frozen: running statistics and affine fixed, as the reference (pretrained weights);
  // train: ordinary BatchNorm, for a network trained from scratch on small data.
  BnMode bn = BnMode::Frozen;
  SegInput input = SegInput::Caffe;
};
void validate(const DeepLabOptions& opt);  // throws naming the key
std::vector<int64_t> atrous_rates_of(const DeepLabOptions& opt);

// Bilinear resizing as the reference (align_corners false): to a size, and by a factor as MSC
// does (F.interpolate(x, scale_factor=s): size floor(s x size), coordinates mapped by 1 / s).
at::Tensor resize_bilinear(const at::Tensor& x, int64_t h, int64_t w);
at::Tensor rescale_bilinear(const at::Tensor& x, double s);

// Convolution (no bias), BatchNorm, optional ReLU: the reference's _ConvBnReLU (names conv, bn).
class ConvBnReluImpl : public torch::nn::Module {
 public:
  ConvBnReluImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool relu, BnMode bn);
  at::Tensor forward(const at::Tensor& x);
  void fold_batchnorm() { bn->fold_into(*conv); }

  torch::nn::Conv2d conv{nullptr};
  BatchNorm bn{nullptr};

 private:
  bool relu_;
};
TORCH_MODULE(ConvBnRelu);

// The MSRA bottleneck: the stride on the first 1x1 convolution (reduce), dilation on the 3x3.
class CaffeBottleneckImpl : public torch::nn::Module {
 public:
  CaffeBottleneckImpl(int64_t in, int64_t out, int64_t stride, int64_t dilation, bool downsample, BnMode bn);
  at::Tensor forward(const at::Tensor& x);
  void fold_batchnorm();

  ConvBnRelu reduce{nullptr}, conv3x3{nullptr}, increase{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(CaffeBottleneck);

// The basic block (two 3x3 convolutions, conv1 and conv2, the stride on the first; dilated).
class BasicResBlockImpl : public torch::nn::Module {
 public:
  BasicResBlockImpl(int64_t in, int64_t out, int64_t stride, int64_t dilation, bool downsample, BnMode bn);
  at::Tensor forward(const at::Tensor& x);
  void fold_batchnorm();

  ConvBnRelu conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(BasicResBlock);

// block1 .. blockN (bottlenecks, or basic blocks when `basic`), the first one with the stride and
// the projection shortcut.
class ResLayerImpl : public torch::nn::Module {
 public:
  ResLayerImpl(int64_t blocks, int64_t in, int64_t out, int64_t stride, int64_t dilation, const std::vector<int64_t>& multi_grid,
               BnMode bn, bool basic = false);
  at::Tensor forward(at::Tensor x);
  void fold_batchnorm();

  std::vector<CaffeBottleneck> blocks;
  std::vector<BasicResBlock> basic_blocks;
};
TORCH_MODULE(ResLayer);

// conv1 (7x7, stride 2) and a 3x3 max pool with ceil_mode (the reference's _Stem).
class StemImpl : public torch::nn::Module {
 public:
  explicit StemImpl(BnMode bn);
  at::Tensor forward(const at::Tensor& x);

  ConvBnRelu conv1{nullptr};
};
TORCH_MODULE(Stem);

// DeepLab v2's ASPP: c0..c3, 3x3 convolutions with bias at the atrous rates, summed.
class AsppV2Impl : public torch::nn::Module {
 public:
  AsppV2Impl(int64_t in, int64_t classes, const std::vector<int64_t>& rates);
  at::Tensor forward(const at::Tensor& x);

  std::vector<torch::nn::Conv2d> branches;
};
TORCH_MODULE(AsppV2);

// DeepLab v3's ASPP: stages.c0 (1x1), c1.. (3x3 at the rates), imagepool (global average, 1x1,
// upsampled), concatenated.
class AsppV3Impl : public torch::nn::Module {
 public:
  AsppV3Impl(int64_t in, int64_t out, const std::vector<int64_t>& rates, BnMode bn);
  at::Tensor forward(const at::Tensor& x);
  void fold_batchnorm();

  std::vector<ConvBnRelu> convs;
  ConvBnRelu imagepool{nullptr};
};
TORCH_MODULE(AsppV3);

// One DeepLab network at one input scale, with the reference's parameter names (layer1 ..
// layer5, aspp; v3plus: aspp.stages.*, fc1, reduce, fc2.conv1..3).
class DeepLabImpl : public torch::nn::Module {
 public:
  explicit DeepLabImpl(const DeepLabOptions& opt);
  at::Tensor forward(const at::Tensor& x);  // logits: v2 at stride 8; v3plus at the input's size

  Stem layer1{nullptr};
  ResLayer layer2{nullptr}, layer3{nullptr}, layer4{nullptr}, layer5{nullptr};
  AsppV2 aspp_v2{nullptr};
  AsppV3 aspp_v3{nullptr};
  ConvBnRelu fc1{nullptr}, reduce{nullptr};
  ConvBnRelu fc2_conv1{nullptr}, fc2_conv2{nullptr};
  torch::nn::Conv2d fc2_conv3{nullptr};
  void fold_batchnorm();

 private:
  DeepLabOptions opt_;
};
TORCH_MODULE(DeepLab);

// The network amr trains and segments with: `base` at the input scale and, with MSC (Chen et al.
// 2016, the reference's MSC), at each extra scale, fused by a pixel-wise max at the base logits'
// size. State_dict names are the reference MSC model's (base.*).
class SegNetImpl : public torch::nn::Module {
 public:
  explicit SegNetImpl(const DeepLabOptions& opt);
  // Training outputs: [full, each scale..., max] with MSC, [full] without (each term of the loss).
  std::vector<at::Tensor> forward_pyramid(const at::Tensor& x);
  at::Tensor forward(const at::Tensor& x);  // the fused logits (MSC's max, or the base's)
  // The parameters the reference's SGD trains: backbone convolution weights at lr (1x),
  // head weights at 10x, head biases at 20x without weight decay (main.py's get_params;
  // BatchNorm affine trained too in bn: train, at 1x).
  struct Groups {
    std::vector<at::Tensor> backbone, head_weights, head_biases;
  };
  Groups parameter_groups();
  // Inference speed-up: every BatchNorm folded into its convolution (eval mode).
  void fold_batchnorm();
  // Convolution weights in channels-last: oneDNN's convolutions then run NHWC end to end
  // instead of reordering every layer's input (inputs must be channels-last too).
  void use_channels_last();
  const DeepLabOptions& options() const { return opt_; }

  DeepLab base{nullptr};

 private:
  DeepLabOptions opt_;
};
TORCH_MODULE(SegNet);

}  // namespace amr

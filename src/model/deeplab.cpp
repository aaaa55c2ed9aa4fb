#include "amr/model/deeplab.h"

#include <array>

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/base/text.h"

namespace amr {
namespace {

constexpr EnumNames<SegHead, 2> kHeads{{{SegHead::V2, "v2"}, {SegHead::V3Plus, "v3plus"}}};
constexpr EnumNames<SegInput, 2> kInputs{{{SegInput::Caffe, "caffe"}, {SegInput::ImageNet, "imagenet"}}};

struct BackboneSpec {
  std::vector<int64_t> blocks;
  bool basic;
  std::array<int64_t, 5> channels;  // stem, layer2 .. layer5 outputs
};

BackboneSpec backbone_of(const std::string& arch) {
  if (arch == "resnet18") return {{2, 2, 2, 2}, true, {64, 64, 128, 256, 512}};
  if (arch == "resnet34") return {{3, 4, 6, 3}, true, {64, 64, 128, 256, 512}};
  if (arch == "resnet50") return {{3, 4, 6, 3}, false, {64, 256, 512, 1024, 2048}};
  if (arch == "resnet101") return {{3, 4, 23, 3}, false, {64, 256, 512, 1024, 2048}};
  throw Error("arch: expected resnet18, resnet34, resnet50 or resnet101, got '" + arch + "'");
}

}  // namespace

at::Tensor resize_bilinear(const at::Tensor& x, int64_t h, int64_t w) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false));
}

at::Tensor rescale_bilinear(const at::Tensor& x, double s) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{s, s}).mode(torch::kBilinear).align_corners(false).recompute_scale_factor(false));
}

SegHead parse_seg_head(const std::string& s) { return parse_enum(kHeads, s, "head"); }
std::string to_string(SegHead h) { return enum_name(kHeads, h); }
SegInput parse_seg_input(const std::string& s) { return parse_enum(kInputs, s, "input"); }
std::string to_string(SegInput i) { return enum_name(kInputs, i); }

std::vector<int64_t> atrous_rates_of(const DeepLabOptions& opt) {
  if (!opt.atrous_rates.empty()) return opt.atrous_rates;
  if (opt.head == SegHead::V2) return {6, 12, 18, 24};
  return opt.output_stride == 8 ? std::vector<int64_t>{12, 24, 36} : std::vector<int64_t>{6, 12, 18};
}

void validate(const DeepLabOptions& opt) {
  backbone_of(opt.arch);
  if (opt.num_classes < 1 || opt.num_classes > 255) throw Error("num_classes: expected an integer in [1, 255], got " + std::to_string(opt.num_classes));
  if (opt.head == SegHead::V2 && opt.output_stride != 8) throw Error("output_stride: DeepLab v2 runs at 8, got " + std::to_string(opt.output_stride));
  if (opt.output_stride != 8 && opt.output_stride != 16) throw Error("output_stride: expected 8 or 16, got " + std::to_string(opt.output_stride));
  for (int64_t r : opt.atrous_rates)
    if (r < 1 || r > 256) throw Error("atrous_rates: each rate must be in [1, 256], got " + std::to_string(r));
  for (double s : opt.msc_scales)
    if (!(s > 0.0 && s < 1.0)) throw Error("msc_scales: each extra scale must be in (0, 1), got " + shortest_double(s));
}

ConvBnReluImpl::ConvBnReluImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool relu,
                               BnMode mode)
    : relu_(relu) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).dilation(dilation).bias(false)));
  // The reference's momentum 1 - 0.999 never matters to its frozen BatchNorm; trained from
  // scratch (bn: train) the running statistics must follow the weights: PyTorch's default 0.1.
  bn = register_module("bn", BatchNorm(out, mode, mode == BnMode::Train ? 0.1 : 1 - 0.999));
}

at::Tensor ConvBnReluImpl::forward(const at::Tensor& x) {
  at::Tensor y = bn->forward(conv->forward(x));
  return relu_ ? y.relu_() : y;
}

CaffeBottleneckImpl::CaffeBottleneckImpl(int64_t in, int64_t out, int64_t stride, int64_t dilation, bool downsample, BnMode bn) {
  const int64_t mid = out / 4;
  reduce = register_module("reduce", ConvBnRelu(in, mid, 1, stride, 0, 1, true, bn));
  conv3x3 = register_module("conv3x3", ConvBnRelu(mid, mid, 3, 1, dilation, dilation, true, bn));
  increase = register_module("increase", ConvBnRelu(mid, out, 1, 1, 0, 1, false, bn));
  if (downsample) shortcut = register_module("shortcut", ConvBnRelu(in, out, 1, stride, 0, 1, false, bn));
}

at::Tensor CaffeBottleneckImpl::forward(const at::Tensor& x) {
  at::Tensor h = increase->forward(conv3x3->forward(reduce->forward(x)));
  return (h + (shortcut ? shortcut->forward(x) : x)).relu_();
}

void CaffeBottleneckImpl::fold_batchnorm() {
  for (auto* m : {&reduce, &conv3x3, &increase, &shortcut})
    if (*m) (*m)->fold_batchnorm();
}

BasicResBlockImpl::BasicResBlockImpl(int64_t in, int64_t out, int64_t stride, int64_t dilation, bool downsample, BnMode bn) {
  conv1 = register_module("conv1", ConvBnRelu(in, out, 3, stride, dilation, dilation, true, bn));
  conv2 = register_module("conv2", ConvBnRelu(out, out, 3, 1, dilation, dilation, false, bn));
  if (downsample) shortcut = register_module("shortcut", ConvBnRelu(in, out, 1, stride, 0, 1, false, bn));
}

at::Tensor BasicResBlockImpl::forward(const at::Tensor& x) {
  return (conv2->forward(conv1->forward(x)) + (shortcut ? shortcut->forward(x) : x)).relu_();
}

void BasicResBlockImpl::fold_batchnorm() {
  for (auto* m : {&conv1, &conv2, &shortcut})
    if (*m) (*m)->fold_batchnorm();
}

ResLayerImpl::ResLayerImpl(int64_t n, int64_t in, int64_t out, int64_t stride, int64_t dilation, const std::vector<int64_t>& multi_grid, BnMode bn,
                           bool basic) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t grid = multi_grid.empty() ? 1 : multi_grid[static_cast<size_t>(i)];
    const std::string name = "block" + std::to_string(i + 1);
    const int64_t block_in = i == 0 ? in : out, block_stride = i == 0 ? stride : 1;
    // torchvision's rule: a projection where the shape changes (the bottleneck's first block always).
    const bool project = i == 0 && (!basic || stride != 1 || in != out);
    if (basic) basic_blocks.push_back(register_module(name, BasicResBlock(block_in, out, block_stride, dilation * grid, project, bn)));
    else blocks.push_back(register_module(name, CaffeBottleneck(block_in, out, block_stride, dilation * grid, project, bn)));
  }
}

at::Tensor ResLayerImpl::forward(at::Tensor x) {
  for (auto& b : blocks) x = b->forward(x);
  for (auto& b : basic_blocks) x = b->forward(x);
  return x;
}

void ResLayerImpl::fold_batchnorm() {
  for (auto& b : blocks) b->fold_batchnorm();
  for (auto& b : basic_blocks) b->fold_batchnorm();
}

StemImpl::StemImpl(BnMode bn) { conv1 = register_module("conv1", ConvBnRelu(3, 64, 7, 2, 3, 1, true, bn)); }

at::Tensor StemImpl::forward(const at::Tensor& x) {
  return torch::max_pool2d(conv1->forward(x), {3, 3}, {2, 2}, {1, 1}, {1, 1}, /*ceil_mode=*/true);
}

AsppV2Impl::AsppV2Impl(int64_t in, int64_t classes, const std::vector<int64_t>& rates) {
  for (size_t i = 0; i < rates.size(); ++i) {
    auto c = torch::nn::Conv2d(torch::nn::Conv2dOptions(in, classes, 3).padding(rates[i]).dilation(rates[i]).bias(true));
    torch::nn::init::normal_(c->weight, 0.0, 0.01);
    torch::nn::init::zeros_(c->bias);
    branches.push_back(register_module("c" + std::to_string(i), c));
  }
}

at::Tensor AsppV2Impl::forward(const at::Tensor& x) {
  at::Tensor sum = branches[0]->forward(x);
  for (size_t i = 1; i < branches.size(); ++i) sum.add_(branches[i]->forward(x));
  return sum;
}

AsppV3Impl::AsppV3Impl(int64_t in, int64_t out, const std::vector<int64_t>& rates, BnMode bn) {
  auto stages = register_module("stages", std::make_shared<torch::nn::Module>());
  convs.push_back(stages->register_module("c0", ConvBnRelu(in, out, 1, 1, 0, 1, true, bn)));
  for (size_t i = 0; i < rates.size(); ++i)
    convs.push_back(stages->register_module("c" + std::to_string(i + 1), ConvBnRelu(in, out, 3, 1, rates[i], rates[i], true, bn)));
  auto pool = stages->register_module("imagepool", std::make_shared<torch::nn::Module>());
  imagepool = pool->register_module("conv", ConvBnRelu(in, out, 1, 1, 0, 1, true, bn));
}

at::Tensor AsppV3Impl::forward(const at::Tensor& x) {
  std::vector<at::Tensor> parts;
  for (auto& c : convs) parts.push_back(c->forward(x));
  const at::Tensor pooled = imagepool->forward(at::adaptive_avg_pool2d(x, {1, 1}));
  parts.push_back(resize_bilinear(pooled, x.size(2), x.size(3)));
  return at::cat(parts, 1);
}

void AsppV3Impl::fold_batchnorm() {
  for (auto& c : convs) c->fold_batchnorm();
  imagepool->fold_batchnorm();
}

namespace {

struct LayerPlan {
  std::array<int64_t, 4> strides, dilations;
};

LayerPlan layer_plan(const DeepLabOptions& opt) {
  if (opt.head == SegHead::V2 || opt.output_stride == 8) return {{1, 2, 1, 1}, {1, 1, 2, 4}};
  return {{1, 2, 2, 1}, {1, 1, 1, 2}};
}

}  // namespace

DeepLabImpl::DeepLabImpl(const DeepLabOptions& opt) : opt_(opt) {
  validate(opt);
  const BackboneSpec spec = backbone_of(opt.arch);
  const std::vector<int64_t>& n = spec.blocks;
  const auto& ch = spec.channels;
  const LayerPlan plan = layer_plan(opt);
  const std::vector<int64_t> multi_grid = opt.head == SegHead::V3Plus ? std::vector<int64_t>{1, 2, 4} : std::vector<int64_t>{};
  const std::vector<int64_t> none;
  const BnMode bn = opt.bn;
  layer1 = register_module("layer1", Stem(bn));
  layer2 = register_module("layer2", ResLayer(n[0], ch[0], ch[1], plan.strides[0], plan.dilations[0], none, bn, spec.basic));
  layer3 = register_module("layer3", ResLayer(n[1], ch[1], ch[2], plan.strides[1], plan.dilations[1], none, bn, spec.basic));
  layer4 = register_module("layer4", ResLayer(n[2], ch[2], ch[3], plan.strides[2], plan.dilations[2], none, bn, spec.basic));
  layer5 = register_module("layer5", ResLayer(n[3], ch[3], ch[4], plan.strides[3], plan.dilations[3], multi_grid, bn, spec.basic));
  for (auto& m : modules(/*include_self=*/false))
    if (auto* c = m->as<torch::nn::Conv2d>()) torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
  const std::vector<int64_t> rates = atrous_rates_of(opt);
  if (opt.head == SegHead::V2) {
    aspp_v2 = register_module("aspp", AsppV2(ch[4], opt.num_classes, rates));
    return;
  }
  aspp_v3 = register_module("aspp", AsppV3(ch[4], 256, rates, bn));
  fc1 = register_module("fc1", ConvBnRelu(256 * static_cast<int64_t>(rates.size() + 2), 256, 1, 1, 0, 1, true, bn));
  reduce = register_module("reduce", ConvBnRelu(ch[1], 48, 1, 1, 0, 1, true, bn));
  auto decoder = register_module("fc2", std::make_shared<torch::nn::Module>());
  fc2_conv1 = decoder->register_module("conv1", ConvBnRelu(304, 256, 3, 1, 1, 1, true, bn));
  fc2_conv2 = decoder->register_module("conv2", ConvBnRelu(256, 256, 3, 1, 1, 1, true, bn));
  fc2_conv3 = decoder->register_module("conv3", torch::nn::Conv2d(torch::nn::Conv2dOptions(256, opt.num_classes, 1)));
}

at::Tensor DeepLabImpl::forward(const at::Tensor& x) {
  const at::Tensor low = layer2->forward(layer1->forward(x));
  const at::Tensor high = layer5->forward(layer4->forward(layer3->forward(low)));
  if (aspp_v2) return aspp_v2->forward(high);
  const at::Tensor skip = reduce->forward(low);
  const at::Tensor context = resize_bilinear(fc1->forward(aspp_v3->forward(high)), skip.size(2), skip.size(3));
  const at::Tensor h = fc2_conv3->forward(fc2_conv2->forward(fc2_conv1->forward(at::cat({context, skip}, 1))));
  return resize_bilinear(h, x.size(2), x.size(3));
}

void DeepLabImpl::fold_batchnorm() {
  layer1->conv1->fold_batchnorm();
  for (auto* l : {&layer2, &layer3, &layer4, &layer5}) (*l)->fold_batchnorm();
  if (aspp_v3) {
    aspp_v3->fold_batchnorm();
    for (auto* m : {&fc1, &reduce, &fc2_conv1, &fc2_conv2}) (*m)->fold_batchnorm();
  }
}

SegNetImpl::SegNetImpl(const DeepLabOptions& opt) : opt_(opt) { base = register_module("base", DeepLab(opt)); }

std::vector<at::Tensor> SegNetImpl::forward_pyramid(const at::Tensor& x) {
  const at::Tensor full = base->forward(x);
  if (opt_.msc_scales.empty()) return {full};
  std::vector<at::Tensor> out{full}, resized{full};
  for (double s : opt_.msc_scales) {
    out.push_back(base->forward(rescale_bilinear(x, s)));
    resized.push_back(resize_bilinear(out.back(), full.size(2), full.size(3)));
  }
  out.push_back(std::get<0>(at::stack(resized).max(0)));
  return out;
}

at::Tensor SegNetImpl::forward(const at::Tensor& x) { return forward_pyramid(x).back(); }

SegNetImpl::Groups SegNetImpl::parameter_groups() {
  Groups g;
  for (const auto& p : base->named_parameters()) {
    if (!p.value().requires_grad()) continue;
    const bool backbone = starts_with(p.key(), "layer") || p.key().find(".bn.") != std::string::npos;
    if (backbone) g.backbone.push_back(p.value());
    else if (ends_with(p.key(), ".bias")) g.head_biases.push_back(p.value());
    else g.head_weights.push_back(p.value());
  }
  return g;
}

void SegNetImpl::use_channels_last() {
  torch::NoGradGuard no_grad;
  for (auto& p : parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

void SegNetImpl::fold_batchnorm() {
  if (opt_.bn == BnMode::Train && is_training()) throw Error("BatchNorm folding needs eval mode");
  base->fold_batchnorm();
}

}  // namespace amr

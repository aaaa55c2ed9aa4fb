#include "amr/model/resnet.h"

#include "amr/base/error.h"

namespace amr {
namespace {

struct ArchSpec {
  bool bottleneck;
  std::array<int64_t, 4> blocks;
};

ArchSpec arch_spec(const std::string& arch) {
  if (arch == "resnet18") return {false, {2, 2, 2, 2}};
  if (arch == "resnet34") return {false, {3, 4, 6, 3}};
  if (arch == "resnet50") return {true, {3, 4, 6, 3}};
  throw Error("--arch: unknown architecture '" + arch + "' (expected resnet18, resnet34 or resnet50)");
}

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

}  // namespace

void validate(const ResNetOptions& opt) {
  arch_spec(opt.arch);
  for (int64_t s : opt.strides)
    if (s != 1 && s != 2) throw Error("--strides: each stride must be 1 or 2, got " + std::to_string(s));
}

int64_t feature_channels(const std::string& arch) { return arch_spec(arch).bottleneck ? 2048 : 512; }

BlockImpl::BlockImpl(bool bottleneck, int64_t inplanes, int64_t planes, int64_t stride, const ResNetOptions& opt) {
  const int64_t expansion = bottleneck ? 4 : 1;
  const int64_t out = planes * expansion;
  if (bottleneck) {
    conv1 = register_module("conv1", conv(inplanes, planes, 1));
    bn1 = register_module("bn1", BatchNorm(planes, opt.bn));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride));
    bn2 = register_module("bn2", BatchNorm(planes, opt.bn));
    conv3 = register_module("conv3", conv(planes, out, 1));
    bn3 = register_module("bn3", BatchNorm(out, opt.bn));
  } else {
    conv1 = register_module("conv1", conv(inplanes, planes, 3, stride));
    bn1 = register_module("bn1", BatchNorm(planes, opt.bn));
    conv2 = register_module("conv2", conv(planes, planes, 3));
    bn2 = register_module("bn2", BatchNorm(planes, opt.bn));
  }
  if (stride != 1 || inplanes != out) {
    downsample = register_module("downsample", torch::nn::Sequential(conv(inplanes, out, 1, stride), BatchNorm(out, opt.bn)));
  }
  if (opt.amm) amm = register_module("amm", Amm(out, *opt.amm));
}

at::Tensor BlockImpl::forward(const at::Tensor& x) {
  // In-place ReLUs: one saved activation less per conv-BN-ReLU in training (BN backward
  // needs its input, not its output).
  at::Tensor out = bn1->forward(conv1->forward(x)).relu_();
  out = bn2->forward(conv2->forward(out));
  if (conv3) out = bn3->forward(conv3->forward(torch::relu_(out)));
  if (amm) out = amm->forward(out);
  at::Tensor residual = downsample ? downsample->forward(x) : x;
  return (out + residual).relu_();
}

ResNetImpl::ResNetImpl(const ResNetOptions& opt) : opt_(opt) {
  validate(opt);
  const ArchSpec spec = arch_spec(opt.arch);
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(opt.strides[0]).padding(3).bias(false)));
  bn1 = register_module("bn1", BatchNorm(64, opt.bn));
  int64_t inplanes = 64;
  const int64_t expansion = spec.bottleneck ? 4 : 1;
  auto make_layer = [&](int64_t planes, int64_t blocks, int64_t stride) {
    torch::nn::Sequential layer;
    for (int64_t b = 0; b < blocks; ++b) {
      layer->push_back(Block(spec.bottleneck, inplanes, planes, b == 0 ? stride : 1, opt));
      inplanes = planes * expansion;
    }
    return layer;
  };
  layer1 = register_module("layer1", make_layer(64, spec.blocks[0], 1));
  layer2 = register_module("layer2", make_layer(128, spec.blocks[1], opt.strides[1]));
  layer3 = register_module("layer3", make_layer(256, spec.blocks[2], opt.strides[2]));
  layer4 = register_module("layer4", make_layer(512, spec.blocks[3], opt.strides[3]));

  // Kaiming init as torchvision (fan_out, relu); BN weight 1, bias 0 (the defaults).
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      if (c->options.in_channels() == 2) continue;  // AMM gate conv keeps PyTorch's default init
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    }
  }
  // With running statistics, conv1/bn1 stay at their (ImageNet) initialization, as IRN/AMR.
  if (opt.bn != BnMode::Train) {
    conv1->weight.set_requires_grad(false);
    bn1->weight.set_requires_grad(false);
    bn1->bias.set_requires_grad(false);
  }
}

at::Tensor ResNetImpl::stem(const at::Tensor& x) {
  at::Tensor y = bn1->forward(conv1->forward(x)).relu_();
  return torch::max_pool2d(y, 3, 2, 1);
}

void ResNetImpl::fold_batchnorm() {
  if (opt_.bn == BnMode::Train && is_training()) throw Error("BatchNorm folding needs eval mode");
  bn1->fold_into(*conv1);
  for (auto* layer : {&layer1, &layer2, &layer3, &layer4})
    for (const auto& m : (*layer)->children()) {
      auto* b = m->as<BlockImpl>();
      b->bn1->fold_into(*b->conv1);
      b->bn2->fold_into(*b->conv2);
      if (b->conv3) b->bn3->fold_into(*b->conv3);
      if (b->downsample)
        b->downsample->ptr(1)->as<BatchNormImpl>()->fold_into(*b->downsample->ptr(0)->as<torch::nn::Conv2dImpl>());
    }
}

at::Tensor ResNetImpl::forward(const at::Tensor& x) {
  at::Tensor y = layer1->forward(stem(x));
  y = layer2->forward(y);
  y = layer3->forward(y);
  return layer4->forward(y);
}

}  // namespace amr

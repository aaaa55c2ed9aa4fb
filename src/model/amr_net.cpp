#include "amr/model/amr_net.h"

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/model/checkpoint.h"

namespace amr {

namespace {
constexpr EnumNames<Routing, 2> kRoutings{{{Routing::Official, "official"}, {Routing::Joint, "joint"}}};
}
Routing parse_routing(const std::string& s) { return parse_enum(kRoutings, s, "--routing"); }
std::string to_string(Routing r) { return enum_name(kRoutings, r); }

at::Tensor class_activation_map(const at::Tensor& features, const at::Tensor& classifier_weight) {
  return torch::relu(torch::conv2d(features, classifier_weight));
}

namespace {
torch::nn::Conv2d make_classifier(int64_t in, int64_t classes) {
  if (classes < 1) throw Error("--num-classes: expected at least 1 class, got " + std::to_string(classes));
  // PyTorch's default Conv2d init, as the official Net's nn.Conv2d(2048, 20, 1, bias=False).
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, classes, 1).bias(false));
}

at::Tensor logits_of(const at::Tensor& feat, const at::Tensor& classifier_weight) {
  // classifier(GAP(f)) == GAP(classifier(f)) (linear), at 1/(h*w) of the cost.
  return torch::conv2d(feat.mean({2, 3}, /*keepdim=*/true), classifier_weight).flatten(1);
}

std::vector<at::Tensor> trainable(const std::vector<at::Tensor>& ps) {
  std::vector<at::Tensor> out;
  for (const auto& p : ps)
    if (p.requires_grad()) out.push_back(p);
  return out;
}
}  // namespace

AmrNetImpl::AmrNetImpl(const AmrNetOptions& opt) : opt_(opt) {
  ResNetOptions plain = opt.backbone;
  plain.amm.reset();
  spotlight = register_module("spotlight", ResNet(plain));
  classifier = register_module("classifier", make_classifier(spotlight->out_channels(), opt.num_classes));
  if (opt.dual) {
    ResNetOptions with_amm = opt.backbone;
    with_amm.amm = opt.amm;
    compensation = register_module("compensation", ResNet(with_amm));
    classifier2 = register_module("classifier2", make_classifier(compensation->out_channels(), opt.num_classes));
    if (opt.routing == Routing::Official) {
      // Official: spotlight backbone detached (no gradient ever reaches it), compensation
      // conv1+bn1+layer1 detached.
      for (auto& p : spotlight->parameters()) p.set_requires_grad(false);
      for (auto& p : compensation->conv1->parameters()) p.set_requires_grad(false);
      for (auto& p : compensation->bn1->parameters()) p.set_requires_grad(false);
      for (auto& p : compensation->layer1->parameters()) p.set_requires_grad(false);
    }
  }
}

AmrOutput AmrNetImpl::forward(const at::Tensor& images) {
  AmrOutput out;
  const bool official = opt_.dual && opt_.routing == Routing::Official;
  // Frozen parts run in eval mode (running BatchNorm statistics, none updated), as the
  // official code's FixedBatchNorm does, whatever the BN mode of the trained parts.
  struct EvalScope {
    torch::nn::Module& m;
    bool was;
    EvalScope(torch::nn::Module& mod, bool active) : m(mod), was(mod.is_training()) {
      if (active) m.eval();
    }
    ~EvalScope() { m.train(was); }
  };
  if (official) {
    // No autograd graph at all for the detached spotlight backbone.
    {
      torch::NoGradGuard no_grad;
      EvalScope frozen(*spotlight, true);
      out.feat_s = spotlight->forward(images);
      out.logits_s = logits_of(out.feat_s, classifier->weight);
    }
    out.cam_s = class_activation_map(out.feat_s, classifier->weight);
  } else {
    out.feat_s = spotlight->forward(images);
    out.logits_s = logits_of(out.feat_s, classifier->weight);
    out.cam_s = class_activation_map(out.feat_s, classifier->weight);
  }
  if (!opt_.dual) return out;

  const bool checkpoint = opt_.memory == MemoryMode::Checkpoint && is_training();
  auto layer = [checkpoint](torch::nn::Sequential& l, const at::Tensor& in) {
    return checkpoint ? checkpointed_layer(l, in) : l->forward(in);
  };
  at::Tensor x;
  if (official) {
    torch::NoGradGuard no_grad;
    EvalScope frozen_stem(*compensation->bn1, true), frozen_layer1(*compensation->layer1, true);
    x = compensation->layer1->forward(compensation->stem(images));
  } else {
    x = layer(compensation->layer1, compensation->stem(images));
  }
  x = layer(compensation->layer2, x);
  x = layer(compensation->layer3, x);
  out.feat_c = layer(compensation->layer4, x);
  out.logits_c = logits_of(out.feat_c, classifier2->weight);
  out.cam_c = class_activation_map(out.feat_c, classifier2->weight);
  return out;
}

std::vector<at::Tensor> AmrNetImpl::spotlight_backbone_parameters() { return trainable(spotlight->parameters()); }

std::vector<at::Tensor> AmrNetImpl::compensation_backbone_parameters() {
  return compensation ? trainable(compensation->parameters()) : std::vector<at::Tensor>{};
}

std::vector<at::Tensor> AmrNetImpl::classifier_parameters() {
  std::vector<at::Tensor> ps = trainable(classifier->parameters());
  if (classifier2)
    for (auto& p : trainable(classifier2->parameters())) ps.push_back(p);
  return ps;
}

void use_channels_last(AmrNet& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

}  // namespace amr

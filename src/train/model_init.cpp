#include "amr/train/model_init.h"

#include <filesystem>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"

namespace fs = std::filesystem;

namespace amr {

AmrNetOptions net_options(const TrainConfig& c, int64_t num_classes) {
  AmrNetOptions o;
  o.backbone.arch = c.arch;
  o.backbone.strides = c.strides;
  o.backbone.bn = c.bn;
  o.num_classes = num_classes;
  o.dual = c.dual();
  o.amm.threshold = gaussian_threshold(c.tau_value(), c.tau_mode);
  o.routing = c.routing;
  o.memory = c.memory;
  return o;
}

namespace {


// Loads backbone weights under `prefix` + name into `net`; AMM parameters may be missing (they
// are new), anything else missing or unexpected is an error.
void load_branch(AmrNet& net, const NamedTensors& tensors, const std::string& prefix, const std::string& what) {
  NamedTensors renamed;
  for (const auto& [k, v] : tensors) renamed.emplace_back(prefix + k, v);
  LoadReport r = load_state_dict(*net, renamed, /*strict=*/false, what);
  for (const auto& k : r.unexpected)
    throw Error(what + ": unexpected key '" + k.substr(prefix.size()) + "' for a " + net->options().backbone.arch + " backbone");
  for (const auto& k : r.missing)
    if (starts_with(k, prefix) && k.find(".amm.") == std::string::npos)
      throw Error(what + ": weights do not cover '" + k + "'");
}

NamedTensors with_prefix_stripped(const NamedTensors& t, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [k, v] : t)
    if (starts_with(k, prefix)) out.emplace_back(k.substr(prefix.size()), v);
  return out;
}

std::string weights_file_of(const std::string& path) {
  return fs::is_directory(path) ? path + "/model.pt" : path;
}

// Backbone weights: an `amr import-weights` file (torchvision names), or a run (directory or
// model.pt) whose spotlight backbone is taken (a pretraining run playing ImageNet).
NamedTensors pretrained_backbone(const std::string& path) {
  NamedTensors t = read_pth(weights_file_of(path));
  NamedTensors spot = with_prefix_stripped(t, "spotlight.");
  return spot.empty() ? t : spot;
}

void copy_classifier(const torch::nn::Conv2d& dst, const at::Tensor& src, const std::string& what) {
  if (src.sizes() != dst->weight.sizes())
    throw Error(what + ": classifier has " + std::to_string(src.size(0)) + " classes, the data has " +
                std::to_string(dst->weight.size(0)));
  torch::NoGradGuard no_grad;
  dst->weight.copy_(src);
}

// A cam run's weights and its classifier.weight; throws when it is not one.
NamedTensors cam_run(const std::string& path, const std::string& key, at::Tensor* classifier) {
  const std::string file = weights_file_of(path);
  NamedTensors run = read_pth(file);
  if (!with_prefix_stripped(run, "compensation.").empty())
    throw Error(key + " " + file + ": a dual-branch model, expected a cam run");
  NamedTensors backbone = with_prefix_stripped(run, "spotlight.");
  if (backbone.empty()) throw Error(key + " " + file + ": no spotlight.* weights (expected a cam run)");
  for (const auto& [k, v] : run)
    if (k == "classifier.weight") *classifier = v;
  if (!classifier->defined()) throw Error(key + " " + file + ": no classifier.weight (expected a cam run)");
  return backbone;
}

}  // namespace

void initialize_weights(AmrNet& net, const TrainConfig& c) {
  if (!c.init_from.empty()) {
    // A whole model of the same variant: a dual-branch model for amr variants, a cam run for cam.
    const std::string file = weights_file_of(c.init_from);
    NamedTensors run = read_pth(file);
    const bool dual_file = !with_prefix_stripped(run, "compensation.").empty();
    if (dual_file != static_cast<bool>(net->compensation))
      throw Error("init_from " + file + ": a " + (dual_file ? "dual-branch model" : "cam run") + " cannot initialize the " +
                  c.variant + " variant" + (dual_file ? "" : " (use spotlight_from, or copy_cam_to_both)"));
    load_state_dict(*net, run, /*strict=*/true, "init_from " + file);
    return;
  }
  if (!c.init.empty()) {
    NamedTensors backbone = pretrained_backbone(c.init);
    if (c.spotlight_from.empty() && c.copy_cam_to_both.empty()) load_branch(net, backbone, "spotlight.", "init " + c.init);
    if (net->compensation && c.copy_cam_to_both.empty()) load_branch(net, backbone, "compensation.", "init " + c.init);
  }
  if (!c.spotlight_from.empty()) {
    at::Tensor cls;
    NamedTensors backbone = cam_run(c.spotlight_from, "spotlight_from", &cls);
    load_branch(net, backbone, "spotlight.", "spotlight_from " + c.spotlight_from);
    copy_classifier(net->classifier, cls, "spotlight_from " + c.spotlight_from);
  }
  if (!c.copy_cam_to_both.empty()) {
    // Not the official recipe: both branches start at the cam solution, classifier2 = classifier.
    at::Tensor cls;
    NamedTensors backbone = cam_run(c.copy_cam_to_both, "copy_cam_to_both", &cls);
    load_branch(net, backbone, "spotlight.", "copy_cam_to_both " + c.copy_cam_to_both);
    load_branch(net, backbone, "compensation.", "copy_cam_to_both " + c.copy_cam_to_both);
    copy_classifier(net->classifier, cls, "copy_cam_to_both " + c.copy_cam_to_both);
    copy_classifier(net->classifier2, cls, "copy_cam_to_both " + c.copy_cam_to_both);
  }
}

}  // namespace amr

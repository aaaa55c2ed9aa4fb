#include "amr/cam/refine.h"

#include <torch/torch.h>

#include "amr/cam/make_cam.h"
#include "amr/data/transforms.h"
#include "amr/base/enum_names.h"
#include "amr/base/error.h"

namespace amr {

namespace {
constexpr EnumNames<Refine, 3> kRefines{{{Refine::None, "none"}, {Refine::GradCam, "gradcam"}, {Refine::AdvCam, "advcam"}}};
}
Refine parse_refine(const std::string& s) { return parse_enum(kRefines, s, "--refine"); }
std::string to_string(Refine r) { return enum_name(kRefines, r); }

int advcam_steps(const AdvCamOptions& opt, int scale_index) {
  if (scale_index != opt.half_scale_index) return opt.iterations;
  if (opt.iterations > 10) return opt.iterations / 2;
  return opt.iterations < 6 ? opt.iterations : 5;
}

namespace {

// Parameters need no gradient here (only the image does): the backward skips every weight
// gradient. Restored on exit.
class FreezeParameters {
 public:
  explicit FreezeParameters(torch::nn::Module& m) {
    for (auto& p : m.parameters()) {
      saved_.emplace_back(p, p.requires_grad());
      p.set_requires_grad(false);
    }
  }
  ~FreezeParameters() {
    for (auto& [p, r] : saved_) p.set_requires_grad(r);
  }

 private:
  std::vector<std::pair<at::Tensor, bool>> saved_;
};

struct Branch {
  ResNet backbone;
  at::Tensor classifier_weight;
};

// Grad-CAM of class c for the batch [image, mirror] (or [image]): [h, w], the mirror's map
// un-mirrored and added. Weights: the official GradCAM (gap2d_pos) with the target the sum of
// ReLU CAM_c over positions and batch.
struct GradCamStep {
  at::Tensor regions;     // in the autograd graph of `features` (weights are constants)
  at::Tensor logits_map;  // [N, K, h, w]
};

GradCamStep grad_cam(Branch& b, const at::Tensor& x, int64_t c, bool flip) {
  const at::Tensor features = b.backbone->forward(x);
  GradCamStep s;
  s.logits_map = torch::conv2d(features, b.classifier_weight);
  const at::Tensor target = torch::relu(s.logits_map.select(1, c)).sum();
  const at::Tensor g = torch::autograd::grad({target}, {features}, {}, /*retain_graph=*/true)[0];
  const at::Tensor weights = g.sum({2, 3}, /*keepdim=*/true) / ((g > 0).sum() + 1e-12);
  const at::Tensor gcam = torch::relu((features * weights).sum(1));
  s.regions = flip ? gcam[0] + gcam[1].flip({1}) : gcam[0];
  return s;
}

// Sum over climbing steps of the Grad-CAMs of class c (one step: plain Grad-CAM).
at::Tensor climb(Branch& b, at::Tensor x, int64_t c, int steps, const AdvCamOptions& opt, bool flip) {
  at::Tensor total, initial;
  for (int it = 0; it < steps; ++it) {
    x.set_requires_grad(true);
    GradCamStep s = grad_cam(b, x, c, flip);
    const at::Tensor regions = s.regions;
    if (it == 0) initial = regions.detach();
    total = total.defined() ? total + regions.detach() : regions.detach();
    if (it + 1 == steps) break;  // the official loop's last image update is never used
    const at::Tensor logit = torch::relu(s.logits_map).mean({2, 3});  // [N, K]
    const at::Tensor logit_loss = -2 * logit.select(1, c).sum() + logit.sum();
    at::Tensor mask;
    {
      torch::NoGradGuard no_grad;
      mask = (regions / regions.max() > opt.score_threshold).to(regions.scalar_type());
    }
    const at::Tensor l_ad = (torch::abs(regions - initial) * mask).sum();
    const at::Tensor loss = -logit_loss - opt.ad_coeff * l_ad;
    const at::Tensor g = torch::autograd::grad({loss}, {x})[0];
    torch::NoGradGuard no_grad;
    const at::Tensor lo = x.min(), hi = x.max();
    x = torch::clamp(x + opt.step * g / (g.abs().max() + 1e-12), lo, hi).detach();
  }
  return total;
}

}  // namespace

ImageCam refined_cam(AmrNet& net, const cv::Mat& rgb, const std::vector<int64_t>& keys, const CamOptions& opt) {
  if (opt.refine == Refine::AdvCam) {
    if (opt.adv.iterations < 1) throw Error("--adv-iterations: expected at least 1");
    if (!(opt.adv.step > 0)) throw Error("--adv-step: expected a positive step size");
    if (opt.adv.ad_coeff < 0) throw Error("--adv-coeff: expected a value >= 0");
  }
  const bool dual = net->options().dual;
  const int64_t H = rgb.rows, W = rgb.cols, os = output_stride(net->options());
  if (keys.empty()) return empty_cam(H, W, dual, opt);
  ImageCam result;
  result.keys = keys;
  c10::InferenceMode no_inference(false);
  torch::AutoGradMode grad_mode(true);
  FreezeParameters frozen(*net);
  const bool want_s = opt.branch != CamBranch::Compensation || opt.keep_branches;
  const bool want_c = dual && (opt.branch != CamBranch::Spotlight || opt.keep_branches);

  std::vector<at::Tensor> inputs;
  const c10::Device device = net->classifier->weight.device();
  for (double s : opt.scales) {
    at::Tensor x = to_normalized_tensor(rescale_image(rgb, s)).unsqueeze(0).to(device);
    inputs.push_back(opt.flip ? torch::cat({x, x.flip({3})}) : x);
  }
  auto branch_sum = [&](Branch b) {
    BranchSums sum;
    for (size_t si = 0; si < inputs.size(); ++si) {
      const int steps = opt.refine == Refine::AdvCam ? advcam_steps(opt.adv, static_cast<int>(si)) : 1;
      std::vector<at::Tensor> per_class;
      for (int64_t c : keys) per_class.push_back(climb(b, inputs[si], c, steps, opt.adv, opt.flip));
      sum.add(torch::stack(per_class), H, W, os);
    }
    return sum;
  };
  BranchSums sum_s, sum_c;
  if (want_s) sum_s = branch_sum({net->spotlight, net->classifier->weight});
  if (want_c) sum_c = branch_sum({net->compensation, net->classifier2->weight});
  finish_cam(result, sum_s, sum_c, dual, opt, H, W);
  return result;
}

}  // namespace amr

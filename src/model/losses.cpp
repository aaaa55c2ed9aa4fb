#include "amr/model/losses.h"

#include "amr/base/error.h"

namespace amr {

at::Tensor multilabel_soft_margin(const at::Tensor& logits, const at::Tensor& labels) {
  return torch::nn::functional::multilabel_soft_margin_loss(logits, labels.to(logits.dtype()));
}

at::Tensor area_regularization(const at::Tensor& cam, const at::Tensor& labels) {
  const at::Tensor peak = std::get<0>(cam.flatten(2).max(2)).unsqueeze(2).unsqueeze(3);
  const at::Tensor per_class = (cam / (peak + 1e-5)).mean({2, 3});  // [N, K]
  const at::Tensor present = labels.to(per_class.dtype());
  return (per_class * present).sum() / present.sum().clamp_min(1.0);
}

namespace {
at::Tensor flip_pair(const at::Tensor& cam) {
  if (cam.size(0) < 2) throw Error("--official-flip-pair: needs a batch of at least 2 images");
  return cam[0] + cam[1].flip({-1});
}
}  // namespace

LossTerms amr_loss(const AmrOutput& out, const at::Tensor& labels, const LossOptions& opt) {
  if (labels.dim() != 2 || labels.size(1) != out.logits_s.size(1) || labels.size(0) != out.logits_s.size(0))
    throw Error("labels: expected shape [" + std::to_string(out.logits_s.size(0)) + ", " +
                std::to_string(out.logits_s.size(1)) + "], got " + c10::str(labels.sizes()));
  LossTerms t;
  t.cls_s = multilabel_soft_margin(out.logits_s, labels);
  if (!out.logits_c.defined()) {
    t.cls = t.cls_s;
    t.total = t.cls;
    if (opt.area_weight != 0.0) {
      t.area = area_regularization(out.cam_s, labels);
      t.total = t.total + opt.area_weight * t.area;
    }
    return t;
  }
  t.cls_c = multilabel_soft_margin(out.logits_c, labels);
  t.cls = 0.5 * (t.cls_s + t.cls_c);
  if (opt.official_flip_pair) {
    t.cps = (flip_pair(out.cam_s) - flip_pair(out.cam_c)).abs().mean();
  } else {
    t.cps = (out.cam_s - out.cam_c).abs().mean();
  }
  t.total = t.cls + opt.cps_weight * t.cps;
  if (opt.area_weight != 0.0) {
    t.area = opt.area_on_spotlight
                 ? 0.5 * (area_regularization(out.cam_s, labels) + area_regularization(out.cam_c, labels))
                 : area_regularization(out.cam_c, labels);
    t.total = t.total + opt.area_weight * t.area;
  }
  return t;
}

}  // namespace amr

#pragma once
#include <ATen/core/Tensor.h>

#include "amr/model/amr_net.h"

namespace amr {

struct LossOptions {
  double cps_weight = 0.05;   // lambda_cps (official 0.05)
  double area_weight = 0.0;   // lambda_area (seed Eq. 10); 0 = plain AMR
  // Official code quirk 2: each branch's CAM is reduced to cam[0] + cam[1].flip(-1) before
  // the CPS term (meant for an image + its mirror). Off: the per-image L1 of AMR Eq. 6.
  bool official_flip_pair = false;
  // Which CAMs L_area regularizes in a two-branch net. With the official routing the spotlight
  // gets no classification gradient (its logits are detached), so an area term on its CAM is
  // unopposed and its trivial minimum, an all-zero ReLU'd CAM, collapses the spotlight; there
  // the term acts on the compensation CAM only (the branch the improvements modify).
  bool area_on_spotlight = true;
};

struct LossTerms {
  at::Tensor total;
  at::Tensor cls, cls_s, cls_c;  // cls = (cls_s + cls_c) / 2 (cls_c undefined for one branch)
  at::Tensor cps;                // mean |CAM_s - CAM_c| (undefined for one branch)
  at::Tensor area;               // seed Eq. 10 (undefined when its weight is 0)
};

// PyTorch's MultiLabelSoftMarginLoss (mean reduction).
at::Tensor multilabel_soft_margin(const at::Tensor& logits, const at::Tensor& labels);

// Seed Eq. 10: mean over present classes k and pixels of P_k = CAM_k / (max_hw CAM_k + 1e-5).
at::Tensor area_regularization(const at::Tensor& cam, const at::Tensor& labels);

// Total = L_cls + lambda_cps * L_cps + lambda_area * L_area (AMR Eq. 7 + seed Eq. 10);
// for a single-branch net, L_cls = MLSM(logits_s) (+ the area term).
LossTerms amr_loss(const AmrOutput& out, const at::Tensor& labels, const LossOptions& opt);

}  // namespace amr

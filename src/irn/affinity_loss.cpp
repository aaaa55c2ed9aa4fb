#include "amr/irn/affinity_loss.h"

#include <cmath>

#include <ATen/ATen.h>

#include "amr/base/error.h"

namespace amr {
namespace {

constexpr int64_t kUnsure = 255;

// PIL's NEAREST source indices for a resize from `in` to `out` pixels.
at::Tensor nearest_sources(int64_t in, int64_t out) {
  const at::Tensor centres = (at::arange(out, at::kDouble) + 0.5) * (double(in) / double(out));
  return centres.floor().clamp_max(in - 1).to(at::kLong);
}

// disp [B, 2, h, w] -> d_source - d_destination for every pair: [B, 2, directions, sources].
at::Tensor pair_displacement(const at::Tensor& disp, const PathIndices& index) {
  const int64_t rf = index.paths.radius_floor, ch = index.cropped_height(), cw = index.cropped_width();
  const at::Tensor src = disp.slice(2, 0, ch).slice(3, rf, rf + cw);
  std::vector<at::Tensor> dst;
  for (const Offset& d : index.paths.directions) dst.push_back(disp.slice(2, d[0], d[0] + ch).slice(3, rf + d[1], rf + d[1] + cw));
  const at::Tensor pair = src.unsqueeze(2) - at::stack(dst, 2);
  return pair.reshape({pair.size(0), pair.size(1), pair.size(2), -1});
}

at::Tensor masked_mean(const at::Tensor& terms, const at::Tensor& mask, double count_scale = 1.0) {
  return (terms * mask).sum() / (count_scale * mask.sum() + 1e-5);
}

}  // namespace

at::Tensor reduce_label(const at::Tensor& label) {
  if (label.dim() != 2) throw Error("reduce_label: expected a label map [H, W], got " + c10::str(label.sizes()));
  const int64_t h = label.size(0), w = label.size(1);
  // np.round: halves to even, as nearbyint in the default rounding mode.
  const auto oh = static_cast<int64_t>(std::nearbyint(h * 0.25)), ow = static_cast<int64_t>(std::nearbyint(w * 0.25));
  if (oh < 1 || ow < 1) throw Error("reduce_label: a " + std::to_string(h) + "x" + std::to_string(w) + " label map is too small");
  return label.index_select(0, nearest_sources(h, oh)).index_select(1, nearest_sources(w, ow));
}

AffinityLabels affinity_labels(const at::Tensor& reduced, const PathIndices& index) {
  if (reduced.dim() != 3 || reduced.size(1) != index.height || reduced.size(2) != index.width)
    throw Error("affinity labels: label maps " + c10::str(reduced.sizes()) + " do not match the path indices' " +
                std::to_string(index.height) + "x" + std::to_string(index.width));
  const at::Tensor flat = reduced.reshape({reduced.size(0), -1}).to(at::kLong);
  const at::Tensor from = flat.index_select(1, index.sources).unsqueeze(1);
  const at::Tensor to = flat.index_select(1, index.destinations.reshape({-1})).view({flat.size(0), index.destinations.size(0), -1});
  const at::Tensor valid = from.ne(kUnsure).logical_and(to.ne(kUnsure));
  const at::Tensor equal = from.eq(to);
  const at::Tensor pos = equal.logical_and(valid);
  AffinityLabels l;
  l.bg_pos = pos.logical_and(from.eq(0)).to(at::kFloat);
  l.fg_pos = pos.logical_and(from.gt(0)).to(at::kFloat);
  l.neg = equal.logical_not().logical_and(valid).to(at::kFloat);
  return l;
}

AffinityLossTerms affinity_displacement_loss(const at::Tensor& edge_logits, const at::Tensor& displacement,
                                             const AffinityLabels& labels, const PathIndices& index) {
  if (edge_logits.size(2) != index.height || edge_logits.size(3) != index.width)
    throw Error("IRN loss: an edge map of " + c10::str(edge_logits.sizes()) + ", the path indices expect " +
                std::to_string(index.height) + "x" + std::to_string(index.width));
  AffinityLossTerms t;
  const at::Tensor aff = edge_to_affinity(at::sigmoid(edge_logits), index);
  t.pos_aff = -at::log(aff + 1e-5);
  t.neg_aff = -at::log(1. + 1e-5 - aff);
  const at::Tensor pair = pair_displacement(displacement, index);
  std::vector<int64_t> dirs;
  for (const Offset& d : index.paths.directions) dirs.insert(dirs.end(), d.begin(), d.end());
  const at::Tensor target = at::tensor(dirs).view({-1, 2}).t().to(pair.options()).view({1, 2, -1, 1});
  t.dp_fg = (pair - target).abs();
  t.dp_bg = pair.abs();
  t.pos_aff_loss = masked_mean(t.pos_aff, labels.bg_pos) / 2 + masked_mean(t.pos_aff, labels.fg_pos) / 2;
  t.neg_aff_loss = masked_mean(t.neg_aff, labels.neg);
  t.dp_fg_loss = masked_mean(t.dp_fg, labels.fg_pos.unsqueeze(1), 2.0);
  t.dp_bg_loss = masked_mean(t.dp_bg, labels.bg_pos.unsqueeze(1), 2.0);
  t.total = (t.pos_aff_loss + t.neg_aff_loss) / 2 + (t.dp_fg_loss + t.dp_bg_loss) / 2;
  return t;
}

}  // namespace amr

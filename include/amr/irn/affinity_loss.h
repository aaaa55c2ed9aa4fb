#pragma once
#include <ATen/core/Tensor.h>

#include "amr/irn/path_index.h"

namespace amr {

// A label map at the network's stride: PIL's nearest-neighbour rescale by 1/4 (pil_rescale(label,
// 0.25, 0)): size round(H/4) x round(W/4), source pixel floor((i + 0.5) * H / round(H/4)).
at::Tensor reduce_label(const at::Tensor& label);  // [H, W] uint8 -> [h, w] uint8

// Pair labels of IRN's training (voc12 GetAffinityLabelFromIndices): for every path's (source,
// destination) pair, positive background (both 0), positive foreground (same class > 0) and
// negative (different classes); pairs touching 255 (unsure) count in none.
struct AffinityLabels {
  at::Tensor bg_pos, fg_pos, neg;  // [B, directions, sources] float
};
AffinityLabels affinity_labels(const at::Tensor& reduced, const PathIndices& index);  // reduced [B, h, w] uint8

// AffinityDisplacementLoss (Ahn et al. 2019, Eq. 4-8) as per-pair maps and train_irn.py's
// reduction: affinity terms -log(a) / -log(1 - a) over the paths of sigmoid(edge), displacement
// terms |d_i - d_j - (j - i)| (same class) and |d_i - d_j| (background).
struct AffinityLossTerms {
  at::Tensor pos_aff, neg_aff;  // [B, directions, sources] per-pair terms
  at::Tensor dp_fg, dp_bg;      // [B, 2, directions, sources]
  at::Tensor pos_aff_loss, neg_aff_loss, dp_fg_loss, dp_bg_loss, total;  // scalars
};
AffinityLossTerms affinity_displacement_loss(const at::Tensor& edge_logits, const at::Tensor& displacement,
                                             const AffinityLabels& labels, const PathIndices& index);

}  // namespace amr

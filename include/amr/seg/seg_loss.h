#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace amr {

// Source index of each of `out` output positions in PIL's Image.resize(..., NEAREST) from `in`
// (ImagingScaleAffine: x = 0.5 * in / out, then += in / out per position, truncated): the
// reference resizes its label maps this way for each logit size.
std::vector<int64_t> pil_nearest_index(int64_t in, int64_t out);
// Label maps [B, H, W] (any integer dtype) -> [B, h, w] int64, as the reference's resize_labels.
at::Tensor resize_labels_nearest(const at::Tensor& labels, int64_t h, int64_t w);

// The reference's loss of one batch: the sum over outputs (MSC: full, each scale, max) of the
// mean cross-entropy over the pixels not labelled 255, the labels resized to each output. An
// output with no labelled pixel adds 0 (PyTorch's mean would be NaN). `class_weights` [C]
// (defined): the weighted mean of the balanced loss.
at::Tensor segmentation_loss(const std::vector<at::Tensor>& logits, const at::Tensor& labels, const at::Tensor& class_weights = {});

// Median-frequency class weights (Eigen & Fergus 2015) from per-class pixel counts: w_c =
// median(f) / f_c over the classes present; absent classes get weight 0 (they never occur as
// targets). Float [C].
at::Tensor median_frequency_weights(const std::vector<int64_t>& pixel_counts);

}  // namespace amr

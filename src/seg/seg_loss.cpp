#include "amr/seg/seg_loss.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "amr/base/error.h"

namespace amr {

std::vector<int64_t> pil_nearest_index(int64_t in, int64_t out) {
  std::vector<int64_t> index(static_cast<size_t>(out));
  const double step = static_cast<double>(in) / static_cast<double>(out);
  double x = 0.5 * step;
  for (int64_t i = 0; i < out; ++i, x += step) index[static_cast<size_t>(i)] = std::min<int64_t>(static_cast<int64_t>(x), in - 1);
  return index;
}

at::Tensor resize_labels_nearest(const at::Tensor& labels, int64_t h, int64_t w) {
  const auto rows = pil_nearest_index(labels.size(1), h), cols = pil_nearest_index(labels.size(2), w);
  const at::Tensor r = at::tensor(rows, at::kLong).to(labels.device()), c = at::tensor(cols, at::kLong).to(labels.device());
  return labels.to(at::kLong).index_select(1, r).index_select(2, c);
}

at::Tensor segmentation_loss(const std::vector<at::Tensor>& logits, const at::Tensor& labels, const at::Tensor& class_weights) {
  if (logits.empty()) throw Error("segmentation loss: no outputs");
  at::Tensor total = at::zeros({}, logits.front().options());
  for (const at::Tensor& l : logits) {
    const at::Tensor target = resize_labels_nearest(labels, l.size(2), l.size(3));
    if (!(target != 255).any().item<bool>()) continue;
    total = total + at::cross_entropy_loss(l, target, class_weights, at::Reduction::Mean, /*ignore_index=*/255);
  }
  return total;
}

at::Tensor median_frequency_weights(const std::vector<int64_t>& counts) {
  std::vector<double> present;
  int64_t total = 0;
  for (int64_t n : counts) total += n;
  if (total == 0) throw Error("balanced loss: the training masks hold no labelled pixel");
  for (int64_t n : counts)
    if (n > 0) present.push_back(static_cast<double>(n) / static_cast<double>(total));
  std::sort(present.begin(), present.end());
  const size_t m = present.size();
  const double median = m % 2 ? present[m / 2] : 0.5 * (present[m / 2 - 1] + present[m / 2]);
  std::vector<float> w;
  for (int64_t n : counts) w.push_back(n > 0 ? static_cast<float>(median / (static_cast<double>(n) / static_cast<double>(total))) : 0.f);
  return at::tensor(w, at::kFloat);
}

}  // namespace amr

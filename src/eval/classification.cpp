#include "amr/eval/classification.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

namespace amr {

ClassificationMetrics classification_metrics(const at::Tensor& logits, const at::Tensor& labels) {
  ClassificationMetrics m;
  const at::Tensor s = logits.to(torch::kFloat64).contiguous(), y = labels.to(torch::kFloat64).contiguous();
  const int64_t n = s.size(0), k = s.size(1);
  auto sa = s.accessor<double, 2>();
  auto ya = y.accessor<double, 2>();
  double ap_sum = 0, f1_sum = 0;
  int64_t ap_classes = 0, f1_classes = 0, tp_all = 0, fp_all = 0, fn_all = 0;
  for (int64_t c = 0; c < k; ++c) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sa[a][c] > sa[b][c]; });
    int64_t positives = 0, tp = 0, fp = 0, fn = 0;
    for (int64_t i = 0; i < n; ++i) positives += ya[i][c] > 0.5;
    double ap = 0;
    int64_t hits = 0;
    for (int64_t r = 0; r < n; ++r) {
      if (ya[order[r]][c] > 0.5) {
        ++hits;
        ap += static_cast<double>(hits) / static_cast<double>(r + 1);
      }
    }
    if (positives > 0) {
      ap_sum += ap / static_cast<double>(positives);
      ++ap_classes;
    }
    for (int64_t i = 0; i < n; ++i) {
      const bool pred = sa[i][c] >= 0.0, truth = ya[i][c] > 0.5;
      tp += pred && truth;
      fp += pred && !truth;
      fn += !pred && truth;
    }
    if (tp + fp + fn > 0) {
      f1_sum += 2.0 * tp / static_cast<double>(2 * tp + fp + fn);
      ++f1_classes;
    }
    tp_all += tp;
    fp_all += fp;
    fn_all += fn;
  }
  m.map = ap_classes ? ap_sum / static_cast<double>(ap_classes) : 0.0;
  m.f1_macro = f1_classes ? f1_sum / static_cast<double>(f1_classes) : 0.0;
  m.f1_micro = (tp_all + fp_all + fn_all) ? 2.0 * tp_all / static_cast<double>(2 * tp_all + fp_all + fn_all) : 0.0;
  return m;
}

}  // namespace amr

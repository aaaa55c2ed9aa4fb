#pragma once
#include <ATen/core/Tensor.h>

namespace amr {

struct ClassificationMetrics {
  double map = 0;       // mean over classes with positives of average precision
  double f1_micro = 0;  // at sigmoid(logit) >= 0.5
  double f1_macro = 0;  // mean over classes with positives or predictions
};

// scores: [N, K] logits; labels: [N, K] zeros/ones.
ClassificationMetrics classification_metrics(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace amr

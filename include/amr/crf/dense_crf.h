#pragma once
#include <vector>

#include <opencv2/core/mat.hpp>

namespace amr {

// Fully connected CRF (Krähenbühl & Koltun, NIPS 2011) with Potts compatibilities, a smoothness
// kernel exp(-|p_i - p_j|^2 / 2 sxy^2) and an appearance kernel exp(-|p_i - p_j|^2 / 2 bi_sxy^2
// - |I_i - I_j|^2 / 2 bi_srgb^2), both symmetrically normalized; defaults are IRN's.
// Mean field converges in ~10 iterations (Kraehenbuehl & Koltun 2011); more is a typo, and
// each costs seconds on a large image.
constexpr int kMaxCrfIterations = 100;

struct CrfOptions {
  int iterations = 10;  // 0 .. kMaxCrfIterations
  float gauss_sxy = 3, gauss_compat = 3;
  float bi_sxy = 50, bi_srgb = 5, bi_compat = 10;
  float gt_prob = 0.7f;  // unary from a hard label: P(label) = gt_prob, the rest shared
};

// Mean-field inference. `rgb`: 8-bit RGB image (h x w); `unary`: energies [labels, h, w]
// (-log probabilities). Returns the marginals Q [labels, h, w].
std::vector<float> dense_crf(const cv::Mat& rgb, const std::vector<float>& unary, int labels, const CrfOptions& opt);

// IRN's crf_inference_label: unary from the hard `label` map (CV_8UC1, values < labels), then
// the argmax of the CRF marginals.
cv::Mat crf_refine_label(const cv::Mat& rgb, const cv::Mat& label, int labels, const CrfOptions& opt);

}  // namespace amr

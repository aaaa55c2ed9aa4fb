#include "amr/crf/dense_crf.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "amr/crf/permutohedral.h"
#include "amr/base/error.h"

namespace amr {

namespace {

// K~ = D^-1/2 K D^-1/2 with D = K 1 (densecrf's NORMALIZE_SYMMETRIC): the lattice's constant
// scale cancels.
class NormalizedKernel {
 public:
  NormalizedKernel(const std::vector<float>& features, int n, int d) : lattice_(features.data(), n, d), norm_(n, 1.0f) {
    lattice_.filter(norm_.data(), norm_.data(), 1);
    for (float& v : norm_) v = 1.0f / std::sqrt(v + 1e-20f);
  }
  // out = K~ q for q: n x labels.
  void apply(const std::vector<float>& q, std::vector<float>& out, int labels) const {
    const size_t n = norm_.size();
    out.resize(q.size());
    for (size_t i = 0; i < n; ++i)
      for (int l = 0; l < labels; ++l) out[i * labels + l] = q[i * labels + l] * norm_[i];
    lattice_.filter(out.data(), out.data(), labels);
    for (size_t i = 0; i < n; ++i)
      for (int l = 0; l < labels; ++l) out[i * labels + l] *= norm_[i];
  }

 private:
  PermutohedralLattice lattice_;
  std::vector<float> norm_;
};

void softmax_rows(const std::vector<float>& energy_neg, std::vector<float>& q, int labels) {
  q.resize(energy_neg.size());
  const size_t n = energy_neg.size() / labels;
  for (size_t i = 0; i < n; ++i) {
    const float* e = &energy_neg[i * labels];
    const float mx = *std::max_element(e, e + labels);
    float s = 0;
    for (int l = 0; l < labels; ++l) s += q[i * labels + l] = std::exp(e[l] - mx);
    for (int l = 0; l < labels; ++l) q[i * labels + l] /= s;
  }
}

}  // namespace

std::vector<float> dense_crf(const cv::Mat& rgb, const std::vector<float>& unary, int labels, const CrfOptions& opt) {
  if (rgb.type() != CV_8UC3) throw Error("dense CRF: expected an 8-bit 3-channel image");
  const int h = rgb.rows, w = rgb.cols, n = h * w;
  if (labels < 1 || unary.size() != static_cast<size_t>(labels) * n)
    throw Error("dense CRF: unary has " + std::to_string(unary.size()) + " values, expected " + std::to_string(labels) +
                " x " + std::to_string(h) + " x " + std::to_string(w));
  if (opt.iterations < 0 || opt.iterations > kMaxCrfIterations)
    throw Error("--crf-iterations: must be between 0 and " + std::to_string(kMaxCrfIterations) + ", got " +
                std::to_string(opt.iterations));
  if (!(opt.gauss_sxy > 0 && opt.bi_sxy > 0 && opt.bi_srgb > 0))
    throw Error("--crf-*: standard deviations must be > 0");
  std::vector<float> fg(static_cast<size_t>(n) * 2), fb(static_cast<size_t>(n) * 5);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      const cv::Vec3b c = rgb.at<cv::Vec3b>(y, x);
      fg[2 * i] = x / opt.gauss_sxy;
      fg[2 * i + 1] = y / opt.gauss_sxy;
      fb[5 * i] = x / opt.bi_sxy;
      fb[5 * i + 1] = y / opt.bi_sxy;
      for (int k = 0; k < 3; ++k) fb[5 * i + 2 + k] = c[k] / opt.bi_srgb;
    }
  const NormalizedKernel smooth(fg, n, 2), appearance(fb, n, 5);

  // Pixel-major working layout (n x labels) for the lattice.
  std::vector<float> neg_unary(static_cast<size_t>(n) * labels), energy, q, m1, m2;
  for (int l = 0; l < labels; ++l)
    for (int i = 0; i < n; ++i) neg_unary[static_cast<size_t>(i) * labels + l] = -unary[static_cast<size_t>(l) * n + i];
  softmax_rows(neg_unary, q, labels);
  for (int it = 0; it < opt.iterations; ++it) {
    // Potts: Q_i(l) ~ exp(-U_i(l) + sum_m w_m (K~_m Q)_i(l)).
    smooth.apply(q, m1, labels);
    appearance.apply(q, m2, labels);
    energy = neg_unary;
    for (size_t k = 0; k < energy.size(); ++k) energy[k] += opt.gauss_compat * m1[k] + opt.bi_compat * m2[k];
    softmax_rows(energy, q, labels);
  }
  std::vector<float> out(q.size());
  for (int l = 0; l < labels; ++l)
    for (int i = 0; i < n; ++i) out[static_cast<size_t>(l) * n + i] = q[static_cast<size_t>(i) * labels + l];
  return out;
}

cv::Mat crf_refine_label(const cv::Mat& rgb, const cv::Mat& label, int labels, const CrfOptions& opt) {
  if (label.type() != CV_8UC1 || label.size() != rgb.size()) throw Error("dense CRF: label map must be 8-bit and image-sized");
  if (opt.gt_prob <= 0 || opt.gt_prob >= 1) throw Error("--crf-gt-prob: expected a value in (0, 1)");
  const int n = rgb.rows * rgb.cols;
  // pydensecrf's unary_from_labels (zero_unsure false): -log(gt_prob) on the label, -log of
  // the remaining mass shared by the other labels elsewhere.
  const float on = -std::log(opt.gt_prob);
  const float off = labels > 1 ? -std::log((1.0f - opt.gt_prob) / (labels - 1)) : on;
  std::vector<float> unary(static_cast<size_t>(labels) * n, off);
  for (int y = 0; y < label.rows; ++y)
    for (int x = 0; x < label.cols; ++x) {
      const int l = label.at<uint8_t>(y, x);
      if (l >= labels) throw Error("dense CRF: label " + std::to_string(l) + " >= " + std::to_string(labels) + " labels");
      unary[static_cast<size_t>(l) * n + static_cast<size_t>(y) * label.cols + x] = on;
    }
  const std::vector<float> q = dense_crf(rgb, unary, labels, opt);
  cv::Mat out(label.size(), CV_8UC1);
  for (int i = 0; i < n; ++i) {
    int best = 0;
    for (int l = 1; l < labels; ++l)
      if (q[static_cast<size_t>(l) * n + i] > q[static_cast<size_t>(best) * n + i]) best = l;
    out.at<uint8_t>(i / label.cols, i % label.cols) = static_cast<uint8_t>(best);
  }
  return out;
}

}  // namespace amr

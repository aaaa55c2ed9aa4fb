#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

#include "amr/crf/dense_crf.h"
#include "amr/crf/permutohedral.h"
#include "amr/base/error.h"

namespace {

// A smooth random colour image: a few blobs on a gradient.
cv::Mat smooth_image(int h, int w, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  cv::Mat img(h, w, CV_8UC3);
  std::vector<std::array<float, 5>> blobs(4);
  for (auto& b : blobs) b = {u(rng) * w, u(rng) * h, u(rng) * 255, u(rng) * 255, u(rng) * 255};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float c[3] = {60.0f + 100.0f * x / w, 80.0f, 200.0f - 100.0f * y / h};
      for (const auto& b : blobs) {
        const float r2 = (x - b[0]) * (x - b[0]) + (y - b[1]) * (y - b[1]);
        const float g = std::exp(-r2 / (2 * 16.0f));
        for (int k = 0; k < 3; ++k) c[k] = (1 - g) * c[k] + g * b[2 + k];
      }
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(cv::saturate_cast<uint8_t>(c[0]), cv::saturate_cast<uint8_t>(c[1]),
                                          cv::saturate_cast<uint8_t>(c[2]));
    }
  return img;
}

struct FilterError {
  double max_abs = 0, mean_abs = 0;
};

// Normalized filtering (K v / K 1), lattice vs the exact O(N^2) Gaussian sum.
FilterError compare_with_brute_force(const std::vector<float>& f, int n, int d, int vs, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> v(static_cast<size_t>(n) * vs);
  for (auto& x : v) x = u(rng);
  amr::PermutohedralLattice lattice(f.data(), n, d);
  std::vector<float> out(v.size()), ones(n, 1.0f), norm(n);
  lattice.filter(v.data(), out.data(), vs);
  lattice.filter(ones.data(), norm.data(), 1);
  FilterError e;
  for (int i = 0; i < n; ++i) {
    std::vector<double> acc(vs, 0.0);
    double z = 0;
    for (int j = 0; j < n; ++j) {
      double r2 = 0;
      for (int k = 0; k < d; ++k) r2 += std::pow(f[i * d + k] - f[j * d + k], 2);
      const double g = std::exp(-r2 / 2);
      z += g;
      for (int k = 0; k < vs; ++k) acc[k] += g * v[j * vs + k];
    }
    for (int k = 0; k < vs; ++k) {
      const double err = std::abs(out[i * vs + k] / norm[i] - acc[k] / z);
      e.max_abs = std::max(e.max_abs, err);
      e.mean_abs += err / (static_cast<double>(n) * vs);
    }
  }
  return e;
}

}  // namespace

TEST(Permutohedral, MatchesBruteForceGaussianBilateral) {
  const int h = 30, w = 40, n = h * w;
  cv::Mat img = smooth_image(h, w, 1);
  std::vector<float> f(static_cast<size_t>(n) * 5);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      const cv::Vec3b c = img.at<cv::Vec3b>(y, x);
      f[5 * i] = x / 6.0f;
      f[5 * i + 1] = y / 6.0f;
      for (int k = 0; k < 3; ++k) f[5 * i + 2 + k] = c[k] / 20.0f;
    }
  const FilterError e = compare_with_brute_force(f, n, 5, 3, 2);
  std::cout << "bilateral d=5: max abs " << e.max_abs << ", mean abs " << e.mean_abs << "\n";
  EXPECT_LT(e.max_abs, 0.05);
  EXPECT_LT(e.mean_abs, 0.005);
}

TEST(Permutohedral, MatchesBruteForceSpatialGaussian) {
  const int h = 30, w = 40, n = h * w;
  std::vector<float> f(static_cast<size_t>(n) * 2);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      f[2 * (y * w + x)] = x / 3.0f;
      f[2 * (y * w + x) + 1] = y / 3.0f;
    }
  const FilterError e = compare_with_brute_force(f, n, 2, 2, 3);
  std::cout << "gaussian d=2: max abs " << e.max_abs << ", mean abs " << e.mean_abs << "\n";
  EXPECT_LT(e.max_abs, 0.05);
  EXPECT_LT(e.mean_abs, 0.005);
}

TEST(Permutohedral, FilteringAConstantGivesAConstantAwayFromBorders) {
  // The lattice's kernel sums (K 1) are equal for points with the same neighbourhood.
  const int h = 40, w = 40, n = h * w;
  std::vector<float> f(static_cast<size_t>(n) * 2);
  for (int i = 0; i < n; ++i) {
    f[2 * i] = (i % w) / 2.0f;
    f[2 * i + 1] = (i / w) / 2.0f;
  }
  amr::PermutohedralLattice lattice(f.data(), n, 2);
  std::vector<float> ones(n, 1.0f), out(n);
  lattice.filter(ones.data(), out.data(), 1);
  const float centre = out[20 * w + 20];
  EXPECT_GT(centre, 0.0f);
  EXPECT_NEAR(out[15 * w + 22] / centre, 1.0, 0.05);
  EXPECT_LT(out[0] / centre, 0.6);  // a corner sees a quarter of the kernel
}

namespace {
double iou(const cv::Mat& a, const cv::Mat& b, int cls) {
  const double inter = cv::countNonZero((a == cls) & (b == cls)), uni = cv::countNonZero((a == cls) | (b == cls));
  return inter / uni;
}
}  // namespace

TEST(DenseCrf, RaisesIoUOfANoisyLabelOnTwoRegions) {
  // Two regions split by a curved boundary: noisy colours, a label with 25% of pixels flipped
  // and a boundary shifted by 4 px.
  const int h = 80, w = 100;
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0, 12);
  std::uniform_real_distribution<float> u(0, 1);
  cv::Mat img(h, w, CV_8UC3), truth(h, w, CV_8UC1), noisy(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const float boundary = 45 + 12 * std::sin(y / 9.0f);
      const int cls = x > boundary ? 1 : 0;
      truth.at<uint8_t>(y, x) = static_cast<uint8_t>(cls);
      const float base[2][3] = {{70, 110, 60}, {180, 90, 150}};
      for (int k = 0; k < 3; ++k) img.at<cv::Vec3b>(y, x)[k] = cv::saturate_cast<uint8_t>(base[cls][k] + noise(rng));
      int l = x > boundary + 4 ? 1 : 0;
      if (u(rng) < 0.25f) l = 1 - l;
      noisy.at<uint8_t>(y, x) = static_cast<uint8_t>(l);
    }
  const cv::Mat refined = amr::crf_refine_label(img, noisy, 2, amr::CrfOptions{});
  const double before = (iou(noisy, truth, 0) + iou(noisy, truth, 1)) / 2;
  const double after = (iou(refined, truth, 0) + iou(refined, truth, 1)) / 2;
  std::cout << "mIoU noisy " << before << " -> after CRF " << after << "\n";
  EXPECT_LT(before, 0.65);
  EXPECT_GT(after, 0.95);
}

TEST(DenseCrf, ZeroIterationsKeepsTheUnaryArgmax) {
  cv::Mat img = smooth_image(20, 30, 7), label(20, 30, CV_8UC1);
  cv::randu(label, 0, 3);
  amr::CrfOptions o;
  o.iterations = 0;
  EXPECT_EQ(cv::countNonZero(amr::crf_refine_label(img, label, 3, o) != label), 0);
}

TEST(DenseCrf, RejectsBadInput) {
  cv::Mat img = smooth_image(10, 10, 1), label(10, 10, CV_8UC1, cv::Scalar(3));
  EXPECT_THROW(amr::crf_refine_label(img, label, 3, amr::CrfOptions{}), amr::Error);
  EXPECT_THROW(amr::dense_crf(img, std::vector<float>(5), 2, amr::CrfOptions{}), amr::Error);
  cv::Mat small(5, 5, CV_8UC1, cv::Scalar(0));
  EXPECT_THROW(amr::crf_refine_label(img, small, 3, amr::CrfOptions{}), amr::Error);
}

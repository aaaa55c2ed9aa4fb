#include "scene_canvas.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace amr::scene {

cv::Vec3f random_colour(SampleRng& rng, double lo, double hi) {
  return cv::Vec3f(static_cast<float>(rng.uniform(lo, hi)), static_cast<float>(rng.uniform(lo, hi)),
                   static_cast<float>(rng.uniform(lo, hi)));
}

double luminance(double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

cv::Mat background(int s, SampleRng& rng, bool textured) {
  if (!textured) return cv::Mat(s, s, CV_32FC3, cv::Scalar(random_colour(rng, 40, 215)));
  const int g = static_cast<int>(rng.integer(2, 6));
  cv::Mat grid(g, g, CV_32FC3);
  const cv::Vec3f base = random_colour(rng, 40, 215);
  for (int y = 0; y < g; ++y)
    for (int x = 0; x < g; ++x) grid.at<cv::Vec3f>(y, x) = base + random_colour(rng, -45, 45);
  cv::Mat bg;
  cv::resize(grid, bg, cv::Size(s, s), 0, 0, cv::INTER_CUBIC);
  const double freq = rng.uniform(0.05, 0.5), angle = rng.uniform(0, M_PI), amp = rng.uniform(0, 25);
  const double ca = std::cos(angle), sa = std::sin(angle);
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < s; ++x) {
      const float stripe = static_cast<float>(amp * std::sin(freq * (ca * x + sa * y)));
      const float noise = static_cast<float>(rng.uniform(-12, 12));
      bg.at<cv::Vec3f>(y, x) += cv::Vec3f(stripe + noise, stripe + noise, stripe + noise);
    }
  return bg;
}

Scene finish_scene(const cv::Mat& rgb, const cv::Mat& label, int classes) {
  Scene sc;
  cv::Mat dil, ero, kernel = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(3, 3));
  cv::dilate(label, dil, kernel);
  cv::erode(label, ero, kernel);
  sc.mask = label.clone();
  sc.mask.setTo(255, dil != ero);
  const int s = label.rows;
  sc.labels.assign(static_cast<size_t>(classes), 0);
  std::vector<int> count(256, 0);
  for (int y = 0; y < s; ++y)
    for (int x = 0; x < label.cols; ++x) ++count[sc.mask.at<uint8_t>(y, x)];
  for (int c = 0; c < classes; ++c) sc.labels[c] = count[c + 1] >= std::max(8, s * label.cols / 400) ? 1 : 0;
  for (int c = 0; c < classes; ++c)
    if (!sc.labels[c]) sc.mask.setTo(255, sc.mask == c + 1);  // too small to be tagged: ignore
  cv::Mat rgb8;
  rgb.convertTo(rgb8, CV_8UC3);  // saturating
  cv::cvtColor(rgb8, sc.image, cv::COLOR_RGB2BGR);
  return sc;
}

}  // namespace amr::scene

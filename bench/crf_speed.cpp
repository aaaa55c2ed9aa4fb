// Dense CRF time per image (IRN's parameters, 10 iterations) on a photo resized to 500x375 with
// a 3-label map (background + two classes from thresholded blobs). Usage:
//   bench_crf IMAGE [repeats]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>

#include <opencv2/imgproc.hpp>

#include "amr/crf/dense_crf.h"
#include "amr/data/voc.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_crf IMAGE [repeats]\n";
    return 2;
  }
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  cv::Mat rgb;
  cv::resize(amr::read_rgb(argv[1]), rgb, cv::Size(500, 375), 0, 0, cv::INTER_AREA);
  cv::Mat label(rgb.size(), CV_8UC1);
  for (int y = 0; y < label.rows; ++y)
    for (int x = 0; x < label.cols; ++x) {
      const double a = std::hypot(x - 150, y - 180) / 90, b = std::hypot(x - 360, y - 200) / 110;
      label.at<uint8_t>(y, x) = a < 1 ? 1 : (b < 1 ? 2 : 0);
    }
  std::vector<double> ms;
  amr::CrfOptions opt;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    cv::Mat out = amr::crf_refine_label(rgb, label, 3, opt);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::cout << "| dense CRF, 500x375, 3 labels, 10 iterations (1 thread) | " << ms[ms.size() / 2] << " ms (median of "
            << repeats << ") |\n";
}

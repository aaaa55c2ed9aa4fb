#pragma once
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "amr/crf/dense_crf.h"

namespace amr {

struct LabelOptions {
  std::string cams, data, list, out;
  double bg_threshold = 0.2;
  // Two thresholds (IRN's cam_to_ir_label): fg where the best class > fg, background where it
  // is <= bg, 255 ("unsure") between. Both < 0: one threshold (bg_threshold).
  double fg = -1, bg = -1;
  bool crf = false;  // refine each thresholded map with the dense CRF (IRN's cam_to_ir_label)
  CrfOptions crf_options;
  int threads = 0;
};

// A pseudo-label (class-index map, VOC indices: 0 background, k+1 class k; without background
// class k) from one CAM file's content. `rgb` (the image) is needed with opt.crf.
cv::Mat cam_to_label(const std::vector<int64_t>& keys, const float* cam, int n, int h, int w, bool has_background,
                     const LabelOptions& opt, const cv::Mat& rgb = cv::Mat());

// The dense CRF on a prediction in dataset indices: its labels are background (if any) + keys.
cv::Mat crf_on_prediction(const cv::Mat& rgb, const cv::Mat& pred, const std::vector<int64_t>& keys, bool has_background,
                          const CrfOptions& opt);

// `amr label`: LABELS/<id>.png palette PNGs for every id of the list. Returns the count.
size_t write_pseudo_labels(const LabelOptions& opt);

struct VizOptions {
  std::string cams, data, list, out;
  double bg_threshold = 0.2;
  int max_images = 0;  // 0: all
  int threads = 0;
};
// `amr viz`: OUT/<id>.png = image | CAM overlay per class | pseudo-label | ground truth.
size_t write_visualizations(const VizOptions& opt);

}  // namespace amr

#pragma once
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "amr/base/runtime.h"
#include "amr/crf/dense_crf.h"
#include "amr/data/voc.h"

namespace amr {

struct LabelOptions {
  std::string cams, data, list, out;
  double bg_threshold = 0.2;
  // Two thresholds (IRN's cam_to_ir_label): fg where the best class > fg, background where it
  // is <= bg, 255 ("unsure") between. Neither given: one threshold (bg_threshold).
  std::optional<double> fg, bg;
  bool crf = false;  // refine each thresholded map with the dense CRF (IRN's cam_to_ir_label)
  CrfOptions crf_options;
  bool resume = false;  // keep labels that are readable PNGs of their image's size
};

// A pseudo-label (class-index map, VOC indices: 0 background, k+1 class k; without background
// class k) from one CAM file's content. `rgb` (the image) is needed with opt.crf.
cv::Mat cam_to_label(const std::vector<int64_t>& keys, const float* cam, int n, int h, int w, bool has_background,
                     const LabelOptions& opt, const cv::Mat& rgb = cv::Mat());

// The dense CRF on a prediction in dataset indices: its labels are background (if any) + keys.
cv::Mat crf_on_prediction(const cv::Mat& rgb, const cv::Mat& pred, const std::vector<int64_t>& keys, bool has_background,
                          const CrfOptions& opt);

// The data set whose CAMs a stage reads (image labels not loaded; images required when asked).
VocDataset open_for_cams(const std::string& data, const std::string& list, bool need_images);

// `amr label`: LABELS/<id>.png palette PNGs for every id of the list (with resume, those not
// already there). Returns the count written.
size_t write_pseudo_labels(const LabelOptions& opt, const Runtime& rt);

}  // namespace amr

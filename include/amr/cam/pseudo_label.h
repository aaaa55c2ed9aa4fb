#pragma once
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace amr {

struct LabelOptions {
  std::string cams, data, list, out;
  double bg_threshold = 0.2;
  // Two thresholds (IRN's cam_to_ir_label): fg where the best class > fg, background where it
  // is <= bg, 255 ("unsure") between. Both < 0: one threshold (bg_threshold).
  double fg = -1, bg = -1;
  int threads = 0;
};

// A pseudo-label (class-index map, VOC indices: 0 background, k+1 class k; without background
// class k) from one CAM file's content.
cv::Mat cam_to_label(const std::vector<int64_t>& keys, const float* cam, int n, int h, int w, bool has_background,
                     const LabelOptions& opt);

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

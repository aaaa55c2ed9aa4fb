#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core/mat.hpp>

#include "amr/base/runtime.h"

namespace amr {

// Confusion matrix over n classes (rows: ground truth, columns: prediction), the chainercv /
// IRN formula. Ground-truth 255 is ignored; a prediction of 255 ("nothing predicted") still
// counts the pixel in its ground-truth row.
class Confusion {
 public:
  explicit Confusion(int n = 0) : n_(n), m_(static_cast<size_t>(n) * (n + 1), 0) {}
  void add(const cv::Mat& pred, const cv::Mat& gt);  // CV_8UC1 each, same size
  void merge(const Confusion& o);
  // n more pixels of ground truth `gt` predicted `pred` (pred == size(): nothing predicted).
  void add_count(int gt, int pred, int64_t n) { m_[static_cast<size_t>(gt) * (n_ + 1) + pred] += n; }
  int64_t at(int gt, int pred) const { return m_[static_cast<size_t>(gt) * (n_ + 1) + pred]; }
  int64_t none(int gt) const { return m_[static_cast<size_t>(gt) * (n_ + 1) + n_]; }
  int size() const { return n_; }

 private:
  int n_;
  std::vector<int64_t> m_;
};

struct SegMetrics {
  std::vector<std::string> classes;
  std::vector<double> iou, precision, recall, fp_rate, fn_rate;  // NaN for absent classes
  double miou = 0, pixel_accuracy = 0, mean_precision = 0, mean_recall = 0;
};
// IoU_k = TP / (GT_k + PRED_k - TP); FP_k = (PRED_k - TP) / union; FN_k = (GT_k - TP) / union
// (so IoU + FP + FN = 1); mIoU = mean over classes with a non-empty union.
SegMetrics segmentation_metrics(const Confusion& c, const std::vector<std::string>& classes);

struct EvalOptions {
  std::string cams, data, list;
  std::string labels;  // evaluate_labels: directory of <id>.png predictions
  std::vector<double> thresholds{0.2};  // background thresholds (datasets with background)
  std::vector<double> xis;              // empty: the files' fused `cam`; else xi*cam_s + (1-xi)*cam_c
  // The constant-map baseline: each CAM replaced by ones of its shape, so every pixel takes the
  // image's first labelled class (the floor any CAM must beat).
  bool constant = false;
};

// PartScenes (ROOT/SegmentationPart/<id>.png: 1 body, 2 part): the share of part pixels and
// of body pixels predicted as their object's class. A CAM stuck on the discriminative part
// has body recall << part recall.
struct PartRecall {
  int64_t part = 0, part_hit = 0, body = 0, body_hit = 0;
  void merge(const PartRecall& o) {
    part += o.part, part_hit += o.part_hit, body += o.body, body_hit += o.body_hit;
  }
  double part_recall() const;  // NaN when there are no part pixels
  double body_recall() const;
};

struct EvalPoint {
  double threshold = 0;
  std::optional<double> xi;  // unset: the stored fused CAM
  SegMetrics metrics;
  PartRecall parts;  // all zero unless the dataset has SegmentationPart/
};

struct EvalResult {
  std::vector<EvalPoint> points;  // every (xi, threshold) evaluated
  size_t best = 0;                // index of the highest mIoU
  size_t images = 0;
  bool has_background = true;
  bool has_parts = false;         // the dataset has SegmentationPart/ (PartScenes)
};

// `amr eval`: predictions from CAMS/<id>.npz (background where every class is <= threshold
// when the dataset has a background class; else argmax over the image's classes).
EvalResult evaluate_cams(const EvalOptions& opt, const Runtime& rt);
// mIoU of label PNGs (dataset indices; 255 = unsure, counted as a miss) against the masks.
EvalResult evaluate_labels(const EvalOptions& opt, const Runtime& rt);

// Adds one image to `r`: pixels of part map `parts` (1 body, 2 part) whose ground-truth class
// `gt` is predicted by `pred`.
void count_part_recall(const cv::Mat& pred, const cv::Mat& gt, const cv::Mat& parts, PartRecall& r);

// The fused CAM against each branch alone, from a xi sweep (xi 1: the spotlight alone, xi 0:
// the compensation alone), each at its best threshold.
struct FusionSummary {
  double fused = 0, best_xi = 0;  // the best point of the sweep
  std::optional<double> spotlight_alone, compensation_alone;  // when xi 1 / xi 0 were evaluated
  bool one_branch_best() const { return best_xi == 0.0 || best_xi == 1.0; }
  // When one branch alone is best: that the fusion did not help, with each branch's best mIoU;
  // else the fused mIoU beside each branch's.
  std::string sentence() const;
};
// (xi, mIoU) of every point evaluated; nothing unless two xi values or more were.
std::optional<FusionSummary> fusion_summary(const std::vector<std::pair<double, double>>& xi_miou);
std::optional<FusionSummary> fusion_summary(const EvalResult& r);

std::string markdown_report(const EvalResult& r);
nlohmann::json to_json(const EvalResult& r);

}  // namespace amr

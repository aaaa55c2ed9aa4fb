#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "amr/base/runtime.h"
#include "amr/crf/dense_crf.h"
#include "amr/model/deeplab.h"

namespace amr {

// How the logits of the test-time inputs are fused: max (the reference's MSC) or mean.
enum class SegFusion { Max, Mean };
SegFusion parse_seg_fusion(const std::string& s);  // max | mean; throws naming --fusion
std::string to_string(SegFusion f);

// The reference's test-time CRF (configs/voc12.yaml: 10 iterations, pos_w 3, pos_xy_std 1,
// bi_w 4, bi_xy_std 67, bi_rgb_std 3) on the softmax probabilities.
CrfOptions reference_test_crf();

struct SegmentOptions {
  // Input scales; empty: the model's own (1 and its MSC scales: the reference's test). Each
  // scale s < 1 or > 1 resizes the input as MSC does (bilinear, size floor(s x size)).
  std::vector<double> scales;
  bool flip = false;  // also the mirrored input at each scale
  SegFusion fusion = SegFusion::Max;
  bool crf = false;
  CrfOptions crf_options = reference_test_crf();
  bool bf16 = false;  // bfloat16 autocast (CUDA, or a CPU with native bf16)
  // Inputs in channels-last (the network's weights must be: SegNetImpl::use_channels_last).
  bool channels_last = false;
};

// Softmax probabilities [C, H, W] (float, CPU) at the image's size: the fused logits of every
// (scale, flip) input, resized bilinearly to the image (the reference's test), then the CRF on
// request. `rgb`: 8-bit RGB.
at::Tensor segment_image(SegNetImpl& net, const cv::Mat& rgb, const SegmentOptions& opt, const c10::Device& device);

// Class indices (CV_8UC1) of probabilities [C, H, W].
cv::Mat argmax_labels(const at::Tensor& probabilities);

// `amr segment`: every image of a folder (JPEG/PNG) or of a VOC list -> OUT/<name>.png (class
// indices, VOC palette), and with `probabilities` OUT/probs/<name>.npz ("probs" [C, H, W] float16).
struct SegmentRun {
  std::string model;                // a segmentation model (amr's, or the reference's .pth)
  std::string images;               // a folder of images; or:
  std::string data, list;           // a VOC-layout data set and a list of ids
  std::string out;
  DeepLabOptions fallback;          // for reference checkpoints: what their tensors do not say
  int64_t num_classes_or_0 = 0;     // > 0: the model must predict this many classes
  SegmentOptions options;
  bool probabilities = false;
  bool resume = false;
  bool quiet = false;
};
struct SegmentSummary {
  size_t written = 0, skipped = 0;  // skipped: already done (--resume)
  double seconds_per_image = 0;     // network + CRF + writing, the first image excluded (warm-up) when there are several
};
SegmentSummary run_segment(const SegmentRun& run, const Runtime& rt);

}  // namespace amr

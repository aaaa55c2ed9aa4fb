#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "amr/base/runtime.h"
#include "amr/irn/random_walk.h"

namespace amr {

// make_sem_seg_labels' settings (the official run_sample.py values).
struct MaskOptions {
  RandomWalkOptions walk;     // beta 10, 2^8 steps, radius 5
  double cam_power = 1.5;     // --cam-power: the stride-4 CAMs are raised to it before the walk
  double bg_threshold = 0.25; // --bg-threshold: background where every walked class is <= it
};
void validate(const MaskOptions& opt);  // throws naming the flag

// One image's walked class scores: the stride-4 CAMs [K, h, w] to the power cam_power, walked
// over `boundary` [h, w] (h = ceil(H/4), w = ceil(W/4)), then divided by the maximum of their
// x4 bilinear upsampling cropped to H x W. `stride4` [K, h, w], `full` [K, H, W], float32 in
// [0, 1]; all zero when nothing survives the walk.
struct WalkScores {
  at::Tensor stride4, full;
};
WalkScores walk_scores(const std::vector<int64_t>& keys, const at::Tensor& cam_stride4, const at::Tensor& boundary, int64_t H,
                       int64_t W, const MaskOptions& opt);

// One image's pseudo-mask (VOC indices: 0 background, key + 1): argmax of walk_scores' `full`
// against the background threshold (make_sem_seg_labels).
cv::Mat walk_to_mask(const std::vector<int64_t>& keys, const at::Tensor& cam_stride4, const at::Tensor& boundary, int64_t H,
                     int64_t W, const MaskOptions& opt);

struct MaskRunOptions {
  std::string cams, data, list, irn, out;  // --cams, --data, --list, --irn (model file), --out
  std::string scores;  // --scores: also SCORES/<id>.npz, the walked scores as a CAM file (empty: none)
  MaskOptions mask;
  int64_t crop = 512;  // --crop: boundary inference pads images to at least crop x crop
  int shard_index = 0, shard_count = 1;
  bool resume = false;
  bool quiet = false;
};
struct MaskRunSummary {
  size_t written = 0, skipped = 0, in_shard = 0;
  double seconds = 0;
};

// `amr masks`: OUT/<id>.png (palette) for every id of the list (of this shard), from
// CAMS/<id>.npz (their cam_stride4) and the IRN model's boundary map of the image; with
// `scores`, also SCORES/<id>.npz (keys, cam = walk_scores' full, cam_stride4 = its stride4, the
// boundary map), which `amr eval --cams --sweep` scores at every background threshold. Written
// atomically; --resume skips ids whose mask is a readable PNG of the image's size (and whose
// scores file is valid).
MaskRunSummary make_masks(const MaskRunOptions& opt, const Runtime& rt);

}  // namespace amr

#pragma once
#include <array>
#include <string>

#include "amr/cam/make_cam.h"

namespace amr {

struct CamRunOptions {
  std::string run;      // a training run directory (config.yaml + model.pt)
  std::string weights;  // or a weights file (e.g. from import-weights) with...
  std::string arch = "resnet50";
  std::array<int64_t, 4> strides{2, 2, 2, 1};
  // With --weights: the compensation AMMs' Gaussian threshold (an amr-improved model was
  // trained with tau 0.3, relative). A run's config.yaml has its own: giving them with --run
  // is an error.
  std::string tau, tau_mode;  // empty = not given (tau 0, relative)
  std::string data, list, out;
  bool labels_from_masks = false;
  CamOptions cam;
  int shard_index = 0, shard_count = 1;
  bool fold_batchnorm = true;  // BN folded into the convolutions (inference speed-up)
  bool resume = false;
  bool quiet = false;
};

struct CamRunSummary {
  size_t written = 0, skipped = 0, in_shard = 0;
  double seconds = 0;
};

// `amr cam`: one CAMS/<id>.npz per image of the list (keys int32 [n], cam float32 [n, H, W];
// with keep_branches also cam_s, cam_c), written atomically; --resume skips valid files.
CamRunSummary run_cam(const CamRunOptions& opt);

// Parses "i/n" into shard index/count; throws naming --shard.
void parse_shard(const std::string& spec, CamRunOptions* opt);

// True when `path` is a complete CAM file (it parses and has keys and cam).
bool valid_cam_file(const std::string& path);

}  // namespace amr

#pragma once
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "amr/cam/cam_file.h"
#include "amr/cam/refine.h"
#include "amr/model/amr_net.h"

namespace amr {

enum class CamBranch { Spotlight, Compensation, Fused };
CamBranch parse_branch(const std::string& s);  // throws naming --branch
std::string to_string(CamBranch b);
// "1.0,0.5,1.5,2.0": at least one scale, each in [0.1, 4] (smaller ones leave no CAM cell).
std::vector<double> parse_scales(const std::string& s);
// --classes labels | predicted -> CamOptions::predicted_classes (--precision: base/parse.h).
bool parse_class_source(const std::string& s);
std::string class_source_name(bool predicted);

// Where CAM generation spends its time (amr cam --profile): seconds summed over images, keyed
// "scale <s>/<branch>/<stage>" (stage: stem, layer1..layer4, classifier), "prepare" (rescaling,
// normalization, flip), "accumulate" (flip merge, upsampling, sums), "normalize", "decode" and
// "write" (in amr cam). Profiling runs each branch stage by stage (same results).
struct CamProfile {
  std::map<std::string, double> seconds;
  void add(const std::string& key, double s) { seconds[key] += s; }
};

struct CamOptions {
  std::vector<double> scales{1.0, 0.5, 1.5, 2.0};
  bool flip = true;         // each scale runs as the batch [image, mirrored image]
  double xi = 0.5;          // M = xi * M_S + (1 - xi) * M_C (AMR Eq. 8)
  CamBranch branch = CamBranch::Fused;
  bool predicted_classes = false;  // classes from the classifier instead of the labels
  double score_threshold = 0.5;    // sigmoid score for predicted classes
  bool keep_branches = false;      // also return the normalized per-branch CAMs
  bool bf16 = false;               // --precision bf16: autocast (convolutions in bfloat16)
  bool channels_last = false;      // NHWC inputs (with a use_channels_last model: faster on CPUs)
  Refine refine = Refine::None;    // Grad-CAM / AdvCAM instead of the plain CAM
  AdvCamOptions adv;
  CamProfile* profile = nullptr;   // set: time every part (plain CAMs)
};

// keys, cam in [0, 1], and with keep_branches cam_s / cam_c; xi set when cam is a fusion.
using ImageCam = CamFile;

// IRN make_cam for both AMR branches: per scale (image + mirror as one batch), ReLU CAM summed
// with the un-mirrored mirror CAM, upsampled (bilinear, align_corners false) to the image size
// rounded up to the output stride and cropped, summed over scales; then per class divided by its
// spatial max + 1e-5; the branches fused with xi.
// `rgb`: 8-bit RGB image; `labels`: K zeros/ones (used unless predicted_classes).
ImageCam compute_cam(AmrNet& net, const cv::Mat& rgb, const std::vector<float>& labels, const CamOptions& opt);

// Rescales an RGB image by `scale` as the multi-scale inference does (cubic up, area down).
cv::Mat rescale_image(const cv::Mat& rgb, double scale);

int64_t output_stride(const AmrNetOptions& opt);

// Shared by compute_cam and refined_cam. The indices k with labels[k] > 0.5.
std::vector<int64_t> label_keys(const std::vector<float>& labels);
// No class to localize: empty [0, H, W] maps (per branch too with keep_branches).
ImageCam empty_cam(int64_t H, int64_t W, bool dual, const CamOptions& opt);
// [n, h, w] -> bilinear (align_corners false) to the
// image size rounded up to `stride`, then cropped to H x W.
at::Tensor upsample_cam(const at::Tensor& cam, int64_t H, int64_t W, int64_t stride);
// [n, h, w] -> bilinear (align_corners false) to ceil(H/4) x ceil(W/4): the official make_cam's
// strided CAM (IRN's `cam` key), what the random walk of the IRN stage starts from.
at::Tensor stride4_cam(const at::Tensor& cam, int64_t H, int64_t W);
inline int64_t stride4_side(int64_t side) { return (side + 3) / 4; }
// A branch's sums over scales at full resolution and at stride 4 (undefined: not computed).
struct BranchSums {
  at::Tensor full, stride4;
  void add(const at::Tensor& c, int64_t H, int64_t W, int64_t stride);  // c: [n, h, w] at the feature stride
};
// Per-branch scale sums -> max-normalized, xi-fused result.cam and result.cam_stride4.
void finish_cam(ImageCam& result, const BranchSums& sum_s, const BranchSums& sum_c, bool dual, const CamOptions& opt,
                int64_t H, int64_t W);

}  // namespace amr

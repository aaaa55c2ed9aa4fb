#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "amr/cam/cam_file.h"
#include "amr/model/amr_net.h"

namespace amr {

struct CamOptions;
using ImageCam = CamFile;

// CAM refinement by gradients (`amr cam --refine`):
//  gradcam  Grad-CAM of the last stage of each branch (Selvaraju et al. 2017), with the
//           official code's weights: spatial sum of d(sum ReLU CAM_c)/d(features) divided by
//           the count of positive gradients;
//  advcam   AdvCAM's adversarial climbing (Lee et al. 2021) as the official make_cam: per class,
//           K steps of x <- clamp(x + step * g / max|g|) on the image, g the gradient of
//           y_c - sum_{k != c} y_k - ad_coeff * || mask * |A - A_0| ||_1, mask = A > score_th *
//           max A; the Grad-CAMs A of every step summed.
enum class Refine { None, GradCam, AdvCam };
Refine parse_refine(const std::string& s);  // throws naming --refine
std::string to_string(Refine r);

struct AdvCamOptions {
  int iterations = 27;           // K
  double step = 0.08;            // AD_stepsize
  double ad_coeff = 7;           // AD_coeff
  double score_threshold = 0.5;  // score_th of the restricting mask
  // Official quirk: the scale at this position of the list climbs K/2 steps when K > 10 (5 if
  // 6 <= K <= 10). -1: every scale climbs K steps.
  int half_scale_index = 1;
};

// Number of climbing steps (Grad-CAMs summed) at scale position `scale_index`.
int advcam_steps(const AdvCamOptions& opt, int scale_index);

// Grad-CAM / AdvCAM per branch, then the same multi-scale upsampling, max normalization and xi
// fusion as compute_cam. `keys`: the classes to localize.
ImageCam refined_cam(AmrNet& net, const cv::Mat& rgb, const std::vector<int64_t>& keys, const CamOptions& opt);

}  // namespace amr

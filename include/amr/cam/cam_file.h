#pragma once
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

namespace amr {

// One image's CAMs, in memory and as `amr cam` writes them (<id>.npz, numpy.load reads it):
//  keys   int32 [n]          foreground class indices
//  cam    float32 [n, H, W]  the CAM in [0, 1]; for a dual model xi * cam_s + (1 - xi) * cam_c
//  cam_stride4 float32 [n, ceil(H/4), ceil(W/4)]  the same CAM at stride 4 (the official
//                            make_cam's `cam` key): where the IRN random walk starts
//  cam_s, cam_c              per-branch CAMs (--save-branches; cam_c only for dual models)
//  xi     float64 [1]        the fusion weight `cam` was made with (fused dual CAMs only)
//  boundary float32 [ceil(H/4), ceil(W/4)]  the IRN boundary map the scores were walked over
//                            (amr masks --scores only)
struct CamFile {
  std::vector<int64_t> keys;
  at::Tensor cam, cam_stride4, cam_s, cam_c, boundary;
  std::optional<double> xi;

  bool has_branches() const { return cam_s.defined() && cam_c.defined(); }
  // xi * cam_s + (1 - xi) * cam_c (AMR Eq. 8); throws naming `what` without both branches.
  at::Tensor fused(double xi, const std::string& what) const;
};

// Throws naming `flag` unless 0 <= xi <= 1 (NaN included).
void check_xi(double xi, const std::string& flag);
// AMR Eq. 8 on two [n, H, W] maps of the same shape.
at::Tensor fuse_branches(const at::Tensor& cam_s, const at::Tensor& cam_c, double xi);

void write_cam_file(const std::string& path, const CamFile& file);  // atomic

// DIR/<id>.npz, or DIR/<id>.npy when only that exists (the official make_cam's files).
std::string find_cam_file(const std::string& dir, const std::string& id);

// Reads and checks a CAM file (amr's .npz, or the official make_cam's .npy dict: keys, cam at
// stride 4 -> cam_stride4, high_res -> cam): keys within [0, num_classes) (num_classes 0: not checked), maps
// of shape [n, H, W] matching the keys and each other, finite values. With need_branches,
// cam_s and cam_c must be there. Throws one line naming the file.
CamFile read_cam_file(const std::string& path, int64_t num_classes, bool need_branches = false);

// The label map of one image's CAMs (keys, cam [n, H, W]): with a background class, 0 where
// every class is <= threshold (IRN's rule: a background channel placed first wins ties), else
// key + 1 of the highest; without one, the highest key (255 where there is no key).
cv::Mat cam_to_prediction(const std::vector<int64_t>& keys, const float* cam, int n, int h, int w, bool has_background,
                          double threshold);

// True when `path` is a complete, readable CAM file with its cam_stride4 (what --resume skips).
bool valid_cam_file(const std::string& path);

}  // namespace amr

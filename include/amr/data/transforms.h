#pragma once
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

namespace amr {

// Deterministic per-sample random stream: the same (seed, epoch, index) always gives the
// same augmentation, whatever the worker thread or a resume.
class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t epoch, uint64_t index);
  double uniform(double lo, double hi);  // [lo, hi)
  int64_t integer(int64_t lo, int64_t hi);  // [lo, hi]
  bool coin();

 private:
  std::mt19937_64 gen_;
};

constexpr std::array<float, 3> kImageNetMean{0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImageNetStd{0.229f, 0.224f, 0.225f};

struct AugmentOptions {
  int64_t resize_long_min = 320, resize_long_max = 640;  // random long side (0: keep size)
  bool hflip = true;
  int64_t crop = 512;  // square random crop with padding (0: no crop)
  // scale_max > 0: instead of resize_long, rescale by a factor drawn in [scale_min, scale_max) (IRN's
  // rescale (0.5, 1.5): bicubic image, PIL-style nearest mask).
  double scale_min = 0, scale_max = 0;
};

// An RGB uint8 image (and optionally its label mask) after augmentation.
struct Augmented {
  cv::Mat image;  // RGB uint8 (padding: 0 after normalization, i.e. the mean colour)
  cv::Mat valid;  // CV_8UC1, 1 where the crop holds image pixels
  cv::Mat mask;   // CV_8UC1 class indices, padding 255 (empty if no mask given)
};

// IRN's training transforms: random long-side rescale (bilinear image, nearest mask),
// horizontal flip, random crop to crop x crop (the image is placed at a random offset in a
// padded canvas when smaller).
Augmented augment(const cv::Mat& rgb, const cv::Mat& mask, const AugmentOptions& opt, SampleRng& rng);

// The official imutils.cutout: `boxes` squares of side `side`, centres (y, x) drawn uniformly
// over the image, clipped to it, set to 0 on the normalized [3, H, W] tensor (after the crop).
struct CutoutBox {
  int64_t y = 0, x = 0;  // centre
};
std::vector<CutoutBox> draw_cutout_centres(int64_t h, int64_t w, int64_t boxes, SampleRng& rng);
at::Tensor cutout_mask(int64_t h, int64_t w, int64_t side, const std::vector<CutoutBox>& centres);  // [H, W] 0/1
void apply_cutout(at::Tensor& chw, int64_t side, int64_t boxes, SampleRng& rng);

// RGB uint8 HxWx3 -> float [3, H, W], ImageNet-normalized; pixels with valid == 0 become 0.
at::Tensor to_normalized_tensor(const cv::Mat& rgb, const cv::Mat& valid = cv::Mat());

}  // namespace amr

#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "amr/data/transforms.h"
#include "amr/data/voc.h"
#include "amr/model/deeplab.h"
#include "amr/seg/seg_config.h"

namespace amr {

// Classes the segmentation network predicts: background + the foreground classes when the data
// set has a background, else its classes (mask values are the class indices either way).
int64_t segmentation_classes(const VocDataset& ds);
std::vector<std::string> segmentation_class_names(const VocDataset& ds);

// RGB uint8 image -> the network's input [3, H, W] float (SegInput's convention).
at::Tensor seg_input(const cv::Mat& rgb, SegInput input);

// The training mask of id i: `masks`/<id>.png, or the data set's ground truth when `masks` is
// empty. Throws one line naming the file when it is missing or unreadable, of another size than
// the image, or holds a value that is neither 255 nor a class index (< `classes`).
cv::Mat read_training_mask(const std::string& masks, const VocDataset& ds, size_t i, const cv::Size& image_size, int64_t classes);

struct SegSample {
  at::Tensor image;  // [3, crop, crop] network input (padding 0: the mean colour)
  at::Tensor label;  // [crop, crop] int64 (padding 255)
};
// The reference's training transform (libs/datasets/base.py): optional long side to base_size,
// a scale drawn from `scales`, bilinear image and PIL-nearest mask, padding at the bottom and
// right to the crop, a random crop, a random horizontal flip.
SegSample augment_for_segmentation(const cv::Mat& rgb, const cv::Mat& mask, const SegTrainConfig& c, SampleRng& rng);

// Per-class pixel counts of the training masks (for the balanced loss); `classes` entries.
std::vector<int64_t> mask_class_counts(const std::vector<cv::Mat>& masks, int64_t classes);

}  // namespace amr

#include "amr/seg/seg_data.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <opencv2/imgproc.hpp>

#include "amr/base/error.h"
#include "amr/io/png.h"
#include "amr/seg/seg_loss.h"

namespace amr {
namespace {

constexpr std::array<float, 3> kCaffeMeanBgr{104.008f, 116.669f, 122.675f};

std::string size_text(const cv::Size& s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

at::Tensor mat_to_tensor(const cv::Mat& m) {  // CV_8UC1 -> [H, W] uint8
  return at::from_blob(const_cast<uint8_t*>(m.ptr<uint8_t>()), {m.rows, m.cols}, at::kByte).clone();
}

}  // namespace

int64_t segmentation_classes(const VocDataset& ds) { return ds.num_classes() + (ds.has_background ? 1 : 0); }

std::vector<std::string> segmentation_class_names(const VocDataset& ds) {
  std::vector<std::string> names;
  if (ds.has_background) names.push_back("background");
  names.insert(names.end(), ds.classes.begin(), ds.classes.end());
  return names;
}

at::Tensor seg_input(const cv::Mat& rgb, SegInput input) {
  cv::Mat f;
  rgb.convertTo(f, CV_32FC3);
  at::Tensor t = at::from_blob(f.ptr<float>(), {f.rows, f.cols, 3}, at::kFloat).permute({2, 0, 1}).clone();
  if (input == SegInput::Caffe) {
    t = t.flip({0});  // RGB -> BGR
    for (int c = 0; c < 3; ++c) t[c].sub_(kCaffeMeanBgr[static_cast<size_t>(c)]);
    return t;
  }
  for (int c = 0; c < 3; ++c) t[c].div_(255.f).sub_(kImageNetMean[static_cast<size_t>(c)]).div_(kImageNetStd[static_cast<size_t>(c)]);
  return t;
}

cv::Mat read_training_mask(const std::string& masks, const VocDataset& ds, size_t i, const cv::Size& image_size, int64_t classes) {
  const std::string path = masks.empty() ? ds.mask_path(i) : masks + "/" + ds.ids[i] + ".png";
  if (!std::filesystem::exists(path))
    throw Error("masks: missing " + path + (masks.empty() ? " (the data set has no ground-truth mask for it)" : " (one <id>.png per training id)"));
  const cv::Mat mask = read_label_png(path);
  if (mask.size() != image_size)
    throw Error(path + ": mask of " + size_text(mask.size()) + ", its image " + ds.image_path(i) + " is " + size_text(image_size));
  double hi = 0;
  cv::Mat labelled = mask != 255;
  cv::minMaxLoc(mask, nullptr, &hi, nullptr, nullptr, labelled);
  if (cv::countNonZero(labelled) > 0 && hi >= static_cast<double>(classes))
    throw Error(path + ": value " + std::to_string(static_cast<int>(hi)) + " is neither 255 nor a class index (0.." + std::to_string(classes - 1) + ")");
  return mask;
}

SegSample augment_for_segmentation(const cv::Mat& rgb, const cv::Mat& mask, const SegTrainConfig& c, SampleRng& rng) {
  int64_t h = rgb.rows, w = rgb.cols;
  if (c.base_size > 0) {
    if (h > w) w = static_cast<int64_t>(static_cast<double>(c.base_size) * static_cast<double>(w) / static_cast<double>(h)), h = c.base_size;
    else h = static_cast<int64_t>(static_cast<double>(c.base_size) * static_cast<double>(h) / static_cast<double>(w)), w = c.base_size;
  }
  const double s = c.scales[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(c.scales.size()) - 1))];
  h = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(h) * s));
  w = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(w) * s));
  cv::Mat scaled;
  cv::Mat as_float;
  rgb.convertTo(as_float, CV_32FC3);
  cv::resize(as_float, scaled, cv::Size(static_cast<int>(w), static_cast<int>(h)), 0, 0, cv::INTER_LINEAR);
  at::Tensor image = seg_input(scaled, c.model.input);  // float input: no rounding to uint8
  at::Tensor label = resize_labels_nearest(mat_to_tensor(mask).unsqueeze(0), h, w)[0];
  const int64_t ph = std::max<int64_t>(c.crop, h), pw = std::max<int64_t>(c.crop, w);
  at::Tensor padded_image = at::zeros({3, ph, pw});
  at::Tensor padded_label = at::full({ph, pw}, 255, at::kLong);
  padded_image.slice(1, 0, h).slice(2, 0, w).copy_(image);
  padded_label.slice(0, 0, h).slice(1, 0, w).copy_(label);
  const int64_t y0 = rng.integer(0, ph - c.crop), x0 = rng.integer(0, pw - c.crop);
  image = padded_image.slice(1, y0, y0 + c.crop).slice(2, x0, x0 + c.crop);
  label = padded_label.slice(0, y0, y0 + c.crop).slice(1, x0, x0 + c.crop);
  if (c.flip && rng.coin()) image = image.flip({2}), label = label.flip({1});
  return {image.contiguous(), label.contiguous()};
}

std::vector<int64_t> mask_class_counts(const std::vector<cv::Mat>& masks, int64_t classes) {
  std::vector<int64_t> counts(static_cast<size_t>(classes), 0);
  for (const cv::Mat& m : masks)
    for (int y = 0; y < m.rows; ++y) {
      const uint8_t* row = m.ptr<uint8_t>(y);
      for (int x = 0; x < m.cols; ++x)
        if (row[x] < classes) ++counts[row[x]];
    }
  return counts;
}

}  // namespace amr

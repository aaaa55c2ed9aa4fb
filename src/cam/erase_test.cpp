#include "amr/cam/erase_test.h"

#include <torch/torch.h>

#include <iomanip>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "amr/data/transforms.h"
#include "amr/data/voc.h"
#include "amr/base/error.h"
#include "amr/cam/cam_file.h"
#include "amr/io/png.h"
#include "amr/model/model_file.h"

namespace amr {

namespace {

// The shift of `peak` (by up to the image size) that puts most of it on `background`; returns
// the shifted mask restricted to the background and off the peak itself.
cv::Mat background_region(const cv::Mat& peak, const cv::Mat& background, int shifts, SampleRng& rng) {
  cv::Mat best = cv::Mat::zeros(peak.size(), CV_8UC1);
  int best_count = -1;
  for (int t = 0; t < shifts; ++t) {
    const double dx = rng.uniform(-peak.cols, peak.cols), dy = rng.uniform(-peak.rows, peak.rows);
    const cv::Mat m = (cv::Mat_<double>(2, 3) << 1, 0, std::round(dx), 0, 1, std::round(dy));
    cv::Mat shifted;
    cv::warpAffine(peak, shifted, m, peak.size(), cv::INTER_NEAREST, cv::BORDER_CONSTANT, cv::Scalar(0));
    shifted &= background;
    shifted.setTo(0, peak);
    const int count = cv::countNonZero(shifted);
    if (count > best_count) best_count = count, best = shifted;
  }
  return best;
}

}  // namespace

EraseTestResult erase_test(const EraseTestOptions& opt) {
  if (!(opt.peak_fraction > 0 && opt.peak_fraction < 1)) throw Error("--peak: expected a fraction in (0, 1)");
  DatasetOptions d;
  d.root = opt.data;
  d.list = opt.list;
  d.require_masks = true;
  d.labels_from_masks = opt.labels_from_masks;
  VocDataset ds = open_voc(d);
  AmrNet net = load_run_model(opt.run, ds.num_classes());
  net->eval();
  torch::NoGradGuard no_grad;
  EraseTestResult r;
  auto scores = [&](const std::vector<cv::Mat>& images) {
    std::vector<at::Tensor> batch;
    for (const auto& im : images) batch.push_back(to_normalized_tensor(im));
    return torch::sigmoid(net->forward(torch::stack(batch)).logits_s);
  };
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    const std::string path = opt.cams + "/" + ds.ids[i] + ".npz";
    const CamFile file = read_cam_file(path, ds.num_classes());
    const cv::Mat rgb = read_rgb(ds.image_path(i)), gt = read_mask(ds, i);
    if (file.cam.size(1) != rgb.rows || file.cam.size(2) != rgb.cols)
      throw Error(path + ": cam has shape " + c10::str(file.cam.sizes()) + ", expected [" + std::to_string(file.keys.size()) +
                  ", " + std::to_string(rgb.rows) + ", " + std::to_string(rgb.cols) + "]");
    const cv::Scalar mean = cv::mean(rgb);
    const at::Tensor original = scores({rgb})[0];
    SampleRng rng(0, 0, i);
    for (size_t j = 0; j < file.keys.size(); ++j) {
      const int64_t k = file.keys[j];
      at::Tensor c = file.cam[static_cast<int64_t>(j)].contiguous();
      const float threshold = static_cast<float>(opt.peak_fraction) * c.max().item<float>();
      cv::Mat peak = cv::Mat(rgb.rows, rgb.cols, CV_32FC1, c.data_ptr<float>()) > threshold;
      // Background: the dataset's background class, or (no background class) every other class.
      cv::Mat background = ds.has_background ? gt == 0 : (gt != ds.mask_value(k)) & (gt != 255);
      cv::Mat region = background_region(peak, background, opt.shifts, rng);
      cv::Mat without_peak = rgb.clone(), without_background = rgb.clone();
      without_peak.setTo(mean, peak);
      without_background.setTo(mean, region);
      const at::Tensor s = scores({without_peak, without_background});
      const double peak_px = std::max(1, cv::countNonZero(peak));
      r.score += original[k].item<double>();
      r.score_peak_erased += s[0][k].item<double>();
      r.score_background_erased += s[1][k].item<double>();
      r.peak_area += peak_px / static_cast<double>(rgb.total());
      r.background_area += cv::countNonZero(region) / peak_px;
      ++r.samples;
    }
  }
  if (r.samples) {
    const double n = static_cast<double>(r.samples);
    r.score /= n, r.score_peak_erased /= n, r.score_background_erased /= n, r.peak_area /= n, r.background_area /= n;
  }
  return r;
}

std::string markdown_report(const EraseTestResult& r) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(3) << "| class score | erasing | area |\n|---|---:|---:|\n"
    << "| " << r.score << " | none | - |\n"
    << "| " << r.score_peak_erased << " | CAM peak | " << r.peak_area << " of the image |\n"
    << "| " << r.score_background_erased << " | background | " << r.background_area << " x the peak |\n\n"
    << "score drop: peak " << r.score - r.score_peak_erased << ", background " << r.score - r.score_background_erased
    << " (" << r.samples << " image-class pairs)\n";
  return o.str();
}

nlohmann::json to_json(const EraseTestResult& r) {
  return {{"samples", r.samples},
          {"score", r.score},
          {"score_peak_erased", r.score_peak_erased},
          {"score_background_erased", r.score_background_erased},
          {"peak_area", r.peak_area},
          {"background_area_ratio", r.background_area}};
}

}  // namespace amr

#include "amr/cam/pseudo_label.h"

#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/cam/cam_file.h"
#include "amr/io/png.h"
#include "amr/base/parallel.h"

namespace fs = std::filesystem;

namespace amr {

cv::Mat crf_on_prediction(const cv::Mat& rgb, const cv::Mat& pred, const std::vector<int64_t>& keys, bool has_background,
                          const CrfOptions& opt) {
  if (keys.empty()) return pred;
  // Dataset index -> CRF label (position in [background] + keys) and back.
  std::array<uint8_t, 256> to_local{}, to_dataset{};
  const int offset = has_background ? 1 : 0;
  for (size_t k = 0; k < keys.size(); ++k) {
    const int idx = static_cast<int>(keys[k]) + offset;
    to_local[static_cast<size_t>(idx)] = static_cast<uint8_t>(k + offset);
    to_dataset[k + offset] = static_cast<uint8_t>(idx);
  }
  cv::Mat local(pred.size(), CV_8UC1);
  for (int y = 0; y < pred.rows; ++y)
    for (int x = 0; x < pred.cols; ++x) local.at<uint8_t>(y, x) = to_local[pred.at<uint8_t>(y, x)];
  cv::Mat refined = crf_refine_label(rgb, local, static_cast<int>(keys.size()) + offset, opt);
  for (int y = 0; y < pred.rows; ++y)
    for (int x = 0; x < pred.cols; ++x) refined.at<uint8_t>(y, x) = to_dataset[refined.at<uint8_t>(y, x)];
  return refined;
}

cv::Mat cam_to_label(const std::vector<int64_t>& keys, const float* cam, int n, int h, int w, bool has_background,
                     const LabelOptions& opt, const cv::Mat& rgb) {
  const bool two = opt.fg || opt.bg;
  if (two && (!opt.fg || !opt.bg || *opt.bg > *opt.fg)) throw Error("--fg/--bg: give both, with bg <= fg");
  if (opt.crf && (rgb.empty() || rgb.rows != h || rgb.cols != w))
    throw Error("--crf: the image is missing or its size differs from the CAM");
  auto predict = [&](double threshold) {
    cv::Mat p = cam_to_prediction(keys, cam, n, h, w, has_background, threshold);
    return opt.crf ? crf_on_prediction(rgb, p, keys, has_background, opt.crf_options) : p;
  };
  if (!two) return predict(opt.bg_threshold);
  cv::Mat fg = predict(*opt.fg);
  if (!has_background) {
    // No background: a pixel whose best class score is below fg is unsure.
    const size_t plane = static_cast<size_t>(h) * w;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        float best = 0;
        for (int k = 0; k < n; ++k) best = std::max(best, cam[k * plane + static_cast<size_t>(y) * w + x]);
        if (best < *opt.fg) fg.at<uint8_t>(y, x) = 255;
      }
    return fg;
  }
  cv::Mat bg = predict(*opt.bg);
  cv::Mat label = fg.clone();
  label.setTo(255, fg == 0);
  label.setTo(0, bg == 0);
  return label;
}

VocDataset open_for_cams(const std::string& data, const std::string& list, bool need_images) {
  DatasetOptions d;
  d.root = data;
  d.list = list;
  d.require_images = need_images;
  d.load_labels = false;
  return open_voc(d);
}

size_t write_pseudo_labels(const LabelOptions& opt, const Runtime& rt) {
  VocDataset ds = open_for_cams(opt.data, opt.list, opt.crf);
  refuse_output_inside_dataset(opt.out, ds, "--out");
  ensure_dir(opt.out, "--out");
  std::vector<size_t> todo;
  for (size_t i = 0; i < ds.ids.size(); ++i)
    if (!opt.resume || !label_png_done(opt.out + "/" + ds.ids[i] + ".png", ds.image_path(i))) todo.push_back(i);
  c10::InferenceMode guard;
  parallel_for(todo.size(), rt.threads, [&](size_t n, int) {
    c10::InferenceMode g;
    const size_t i = todo[n];
    const std::string path = find_cam_file(opt.cams, ds.ids[i]);
    CamFile f = read_cam_file(path, ds.num_classes());
    // The image is decoded also without the CRF (when present): a label of another size than
    // its image is useless downstream.
    cv::Mat rgb = opt.crf || fs::exists(ds.image_path(i)) ? read_rgb(ds.image_path(i)) : cv::Mat();
    if (!rgb.empty() && (rgb.rows != f.cam.size(1) || rgb.cols != f.cam.size(2)))
      throw Error(path + ": CAM size " + std::to_string(f.cam.size(2)) + "x" + std::to_string(f.cam.size(1)) +
                  " differs from image " + ds.image_path(i) + " (" + std::to_string(rgb.cols) + "x" +
                  std::to_string(rgb.rows) + ")");
    if (!opt.crf) rgb = cv::Mat();
    cv::Mat label = cam_to_label(f.keys, f.cam.data_ptr<float>(), static_cast<int>(f.cam.size(0)),
                                 static_cast<int>(f.cam.size(1)), static_cast<int>(f.cam.size(2)), ds.has_background, opt,
                                 rgb);
    write_label_png(opt.out + "/" + ds.ids[i] + ".png", label);
  });
  return todo.size();
}

}  // namespace amr

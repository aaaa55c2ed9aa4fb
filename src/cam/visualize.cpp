#include "amr/cam/visualize.h"

#include <torch/torch.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "amr/base/error.h"
#include "amr/base/parallel.h"
#include "amr/cam/cam_file.h"
#include "amr/cam/pseudo_label.h"
#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/io/png.h"

namespace fs = std::filesystem;

namespace amr {
namespace {

cv::Mat palette_bgr(const cv::Mat& label) {
  cv::Mat out(label.size(), CV_8UC3);
  for (int y = 0; y < label.rows; ++y)
    for (int x = 0; x < label.cols; ++x) {
      const auto& c = voc_palette()[label.at<uint8_t>(y, x)];
      out.at<cv::Vec3b>(y, x) = cv::Vec3b(c[2], c[1], c[0]);
    }
  return out;
}

void caption(cv::Mat& tile, const std::string& text) {
  const double scale = std::max(0.3, tile.rows / 400.0);
  cv::putText(tile, text, cv::Point(3, static_cast<int>(14 * scale) + 2), cv::FONT_HERSHEY_SIMPLEX, scale,
              cv::Scalar(0, 0, 0), 3);
  cv::putText(tile, text, cv::Point(3, static_cast<int>(14 * scale) + 2), cv::FONT_HERSHEY_SIMPLEX, scale,
              cv::Scalar(255, 255, 255), 1);
}

}  // namespace

size_t write_visualizations(const VizOptions& opt, const Runtime& rt) {
  VocDataset ds = open_for_cams(opt.data, opt.list, true);
  refuse_output_inside_dataset(opt.out, ds, "--out");
  ensure_dir(opt.out, "--out");
  const size_t count = opt.max_images > 0 ? std::min(ds.ids.size(), static_cast<size_t>(opt.max_images)) : ds.ids.size();
  parallel_for(count, rt.threads, [&](size_t i, int) {
    c10::InferenceMode g;
    const std::string path = opt.cams + "/" + ds.ids[i] + ".npz";
    CamFile f = read_cam_file(path, ds.num_classes());
    cv::Mat rgb = read_rgb(ds.image_path(i)), bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    const int h = bgr.rows, w = bgr.cols;
    if (f.cam.size(1) != h || f.cam.size(2) != w) throw Error(path + ": CAM size differs from image " + ds.image_path(i));
    std::vector<cv::Mat> tiles{bgr.clone()};
    caption(tiles[0], ds.ids[i]);
    for (size_t k = 0; k < f.keys.size(); ++k) {
      cv::Mat cam(h, w, CV_32FC1, f.cam[static_cast<int64_t>(k)].data_ptr<float>()), cam8, heat, tile;
      cam.convertTo(cam8, CV_8UC1, 255.0);
      cv::applyColorMap(cam8, heat, cv::COLORMAP_JET);
      cv::addWeighted(bgr, 0.5, heat, 0.5, 0, tile);
      caption(tile, ds.classes[static_cast<size_t>(f.keys[k])]);
      tiles.push_back(tile);
    }
    LabelOptions lo;
    lo.bg_threshold = opt.bg_threshold;
    cv::Mat label = cam_to_label(f.keys, f.cam.data_ptr<float>(), static_cast<int>(f.keys.size()), h, w, ds.has_background, lo);
    tiles.push_back(palette_bgr(label));
    caption(tiles.back(), "pseudo-label");
    if (!ds.mask_dir.empty() && fs::exists(ds.mask_path(i))) {
      const cv::Mat gt = read_mask(ds, i);
      if (gt.rows != h || gt.cols != w)
        throw Error("mask " + ds.mask_path(i) + ": size " + std::to_string(gt.cols) + "x" + std::to_string(gt.rows) +
                    " differs from its image's " + std::to_string(w) + "x" + std::to_string(h));
      tiles.push_back(palette_bgr(gt));
      caption(tiles.back(), "ground truth");
    }
    cv::Mat strip;
    cv::hconcat(tiles, strip);
    std::vector<uchar> buf;
    cv::imencode(".png", strip, buf);
    write_bytes_atomically(opt.out + "/" + ds.ids[i] + ".png", buf);
  });
  return count;
}

}  // namespace amr

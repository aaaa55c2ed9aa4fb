#include "amr/irn/masks.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <torch/types.h>

#include "amr/base/error.h"
#include "amr/base/progress.h"
#include "amr/base/text.h"
#include "amr/cam/cam_file.h"
#include "amr/cam/pseudo_label.h"
#include "amr/data/transforms.h"
#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/io/png.h"
#include "amr/model/irn_net.h"

namespace fs = std::filesystem;

namespace amr {
namespace {

void refuse_output_onto_cams(const std::string& out, const std::string& flag, const MaskRunOptions& opt) {
  std::error_code ec;
  if (fs::exists(out) && fs::exists(opt.cams) && fs::equivalent(out, opt.cams, ec))
    throw Error(flag + ": " + out + " is the CAM directory --cams; write elsewhere");
}

// IRN's argmax against a background plane of bg_threshold placed first (it wins ties).
cv::Mat scores_to_mask(const std::vector<int64_t>& keys, const WalkScores& s, double bg_threshold) {
  return cam_to_prediction(keys, s.full.data_ptr<float>(), static_cast<int>(keys.size()), static_cast<int>(s.full.size(1)),
                           static_cast<int>(s.full.size(2)), /*has_background=*/true, bg_threshold);
}

bool already_done(const VocDataset& ds, size_t i, const MaskRunOptions& opt) {
  if (!opt.scores.empty() && !valid_cam_file(opt.scores + "/" + ds.ids[i] + ".npz")) return false;
  return label_png_done(opt.out + "/" + ds.ids[i] + ".png", ds.image_path(i));
}

void mask_image(IrnNetImpl& net, const VocDataset& ds, size_t i, const MaskRunOptions& opt, const c10::Device& device) {
  const std::string cam_path = find_cam_file(opt.cams, ds.ids[i]);
  const CamFile f = read_cam_file(cam_path, ds.num_classes());
  if (!f.cam_stride4.defined())
    throw Error(cam_path + ": no cam_stride4 (the stride-4 CAM the random walk starts from); write the CAMs with this amr's `amr cam`");
  const cv::Mat rgb = read_rgb(ds.image_path(i));
  if (rgb.rows != f.cam.size(1) || rgb.cols != f.cam.size(2))
    throw Error(cam_path + ": CAM size " + std::to_string(f.cam.size(2)) + "x" + std::to_string(f.cam.size(1)) + " differs from image " +
                ds.image_path(i) + " (" + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + ")");
  const at::Tensor boundary = infer_boundary(net, to_normalized_tensor(rgb).to(device)).to(at::kCPU);
  const WalkScores s = walk_scores(f.keys, f.cam_stride4, boundary, rgb.rows, rgb.cols, opt.mask);
  if (!opt.scores.empty()) {
    CamFile out;
    out.keys = f.keys, out.cam = s.full, out.cam_stride4 = s.stride4, out.boundary = boundary;
    write_cam_file(opt.scores + "/" + ds.ids[i] + ".npz", out);
  }
  write_label_png(opt.out + "/" + ds.ids[i] + ".png", scores_to_mask(f.keys, s, opt.mask.bg_threshold));
}

}  // namespace

void validate(const MaskOptions& opt) {
  validate(opt.walk);
  if (!(opt.cam_power > 0) || !std::isfinite(opt.cam_power))
    throw Error("--cam-power: expected a number > 0, got " + shortest_double(opt.cam_power));
  if (!(opt.bg_threshold >= 0 && opt.bg_threshold <= 1))
    throw Error("--bg-threshold: expected a number in [0, 1], got " + shortest_double(opt.bg_threshold));
}

WalkScores walk_scores(const std::vector<int64_t>& keys, const at::Tensor& cam_stride4, const at::Tensor& boundary, int64_t H,
                       int64_t W, const MaskOptions& opt) {
  validate(opt);
  const int64_t h = (H + 3) / 4, w = (W + 3) / 4;
  if (boundary.dim() != 2 || boundary.size(0) != h || boundary.size(1) != w)
    throw Error("masks: a boundary map of " + c10::str(boundary.sizes()) + " for a " + std::to_string(W) + "x" + std::to_string(H) +
                " image (expected [" + std::to_string(h) + ", " + std::to_string(w) + "])");
  if (cam_stride4.dim() != 3 || cam_stride4.size(0) != static_cast<int64_t>(keys.size()) || cam_stride4.size(1) != h ||
      cam_stride4.size(2) != w)
    throw Error("masks: stride-4 CAMs of " + c10::str(cam_stride4.sizes()) + " for " + std::to_string(keys.size()) + " classes of a " +
                std::to_string(W) + "x" + std::to_string(H) + " image");
  const int64_t K = static_cast<int64_t>(keys.size());
  if (K == 0) return {at::zeros({0, h, w}), at::zeros({0, H, W})};
  const at::Tensor walked = random_walk(cam_stride4.to(at::kFloat).clamp_min(0).pow(opt.cam_power), boundary, opt.walk);
  const at::Tensor up = at::upsample_bilinear2d(walked.unsqueeze(1), {4 * h, 4 * w}, false, 4.0, 4.0).squeeze(1).slice(1, 0, H).slice(2, 0, W);
  const double peak = up.max().item<double>();
  if (!(peak > 0)) return {at::zeros({K, h, w}), at::zeros({K, H, W})};  // nothing survived the walk: all background
  return {(walked / peak).contiguous(), (up / peak).contiguous()};
}

cv::Mat walk_to_mask(const std::vector<int64_t>& keys, const at::Tensor& cam_stride4, const at::Tensor& boundary, int64_t H,
                     int64_t W, const MaskOptions& opt) {
  return scores_to_mask(keys, walk_scores(keys, cam_stride4, boundary, H, W, opt), opt.bg_threshold);
}

MaskRunSummary make_masks(const MaskRunOptions& opt, const Runtime& rt) {
  validate(opt.mask);
  const VocDataset ds = open_for_cams(opt.data, opt.list, /*need_images=*/true);
  refuse_output_inside_dataset(opt.out, ds, "--out");
  refuse_output_onto_cams(opt.out, "--out", opt);
  if (!opt.scores.empty()) {
    refuse_output_inside_dataset(opt.scores, ds, "--scores");
    refuse_output_onto_cams(opt.scores, "--scores", opt);
  }
  const c10::Device device = torch_device(rt.device);
  IrnNet net = load_irn_model(opt.irn, opt.crop);
  net->eval();
  net->resnet50->fold_batchnorm();  // inference only: the frozen backbone's BatchNorm into its convolutions
  net->to(device);
  ensure_dir(opt.out, "--out");
  if (!opt.scores.empty()) ensure_dir(opt.scores, "--scores");
  MaskRunSummary s;
  std::vector<size_t> todo;
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(opt.shard_count)) != opt.shard_index) continue;
    ++s.in_shard;
    if (opt.resume && already_done(ds, i, opt))
      ++s.skipped;
    else
      todo.push_back(i);
  }
  Progress progress(static_cast<int64_t>(todo.size()), opt.quiet, 50);
  c10::InferenceMode guard;
  for (size_t n = 0; n < todo.size(); ++n) {
    const size_t i = todo[n];
    mask_image(*net, ds, i, opt, device);
    ++s.written;
    progress.update(static_cast<int64_t>(n + 1), "masks " + std::to_string(n + 1) + "/" + std::to_string(todo.size()));
  }
  progress.end_line();
  s.seconds = progress.seconds();
  return s;
}

}  // namespace amr

#include "amr/cam/make_cam.h"

#include <chrono>
#include <sstream>

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include "amr/base/torch_compat.h"
#include "amr/data/transforms.h"
#include "amr/base/enum_names.h"
#include "amr/base/error.h"

namespace amr {

namespace {
constexpr EnumNames<CamBranch, 3> kBranches{
    {{CamBranch::Spotlight, "spotlight"}, {CamBranch::Compensation, "compensation"}, {CamBranch::Fused, "fused"}}};
constexpr EnumNames<bool, 2> kClassSources{{{false, "labels"}, {true, "predicted"}}};
}  // namespace
CamBranch parse_branch(const std::string& s) { return parse_enum(kBranches, s, "--branch"); }
bool parse_class_source(const std::string& s) { return parse_enum(kClassSources, s, "--classes"); }
std::string class_source_name(bool predicted) { return enum_name(kClassSources, predicted); }
std::string to_string(CamBranch b) { return enum_name(kBranches, b); }

std::vector<double> parse_scales(const std::string& s) {
  std::vector<double> scales;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != tok.size()) throw Error("--scales: expected a comma list of numbers, got '" + s + "'");
    if (!(v >= 0.1 && v <= 4.0)) throw Error("--scales: each scale must be in [0.1, 4], got " + tok);
    scales.push_back(v);
  }
  if (scales.empty()) throw Error("--scales: at least one scale (e.g. 1.0,0.5,1.5,2.0)");
  return scales;
}

int64_t output_stride(const AmrNetOptions& opt) {
  const auto& s = opt.backbone.strides;
  return s[0] * 2 * s[1] * s[2] * s[3];  // conv1, max-pool, layer2..4
}

cv::Mat rescale_image(const cv::Mat& rgb, double scale) {
  if (scale == 1.0) return rgb;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(rgb.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(rgb.rows * scale))));
  cv::Mat out;
  cv::resize(rgb, out, size, 0, 0, scale > 1.0 ? cv::INTER_CUBIC : cv::INTER_AREA);
  return out;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One branch's CAM stage by stage, each stage's time added to the profile.
at::Tensor profiled_branch_cam(ResNet& r, const at::Tensor& weight, const at::Tensor& x, CamProfile& p,
                               const std::string& prefix) {
  auto t = std::chrono::steady_clock::now();
  auto lap = [&](const char* stage, at::Tensor y) {
    p.add(prefix + stage, seconds_since(t));
    t = std::chrono::steady_clock::now();
    return y;
  };
  at::Tensor y = lap("stem", r->stem(x));
  y = lap("layer1", r->layer1->forward(y));
  y = lap("layer2", r->layer2->forward(y));
  y = lap("layer3", r->layer3->forward(y));
  y = lap("layer4", r->layer4->forward(y));
  return lap("classifier", class_activation_map(y, weight));
}

at::Tensor normalize_by_max(const at::Tensor& cam) {
  if (cam.size(0) == 0) return cam;
  return cam / (std::get<0>(cam.flatten(1).max(1)).view({-1, 1, 1}) + 1e-5);
}

std::vector<int64_t> predicted_keys(const at::Tensor& logits, double threshold) {
  const at::Tensor p = torch::sigmoid(logits);
  std::vector<int64_t> keys;
  for (int64_t k = 0; k < p.size(0); ++k)
    if (p[k].item<double>() >= threshold) keys.push_back(k);
  if (keys.empty()) keys.push_back(p.argmax().item<int64_t>());
  return keys;
}

}  // namespace

std::vector<int64_t> label_keys(const std::vector<float>& labels) {
  std::vector<int64_t> keys;
  for (size_t k = 0; k < labels.size(); ++k)
    if (labels[k] > 0.5f) keys.push_back(static_cast<int64_t>(k));
  return keys;
}

ImageCam empty_cam(int64_t H, int64_t W, bool dual, const CamOptions& opt) {
  ImageCam result;
  result.cam = torch::zeros({0, H, W});
  result.cam_stride4 = torch::zeros({0, stride4_side(H), stride4_side(W)});
  if (opt.keep_branches) {
    result.cam_s = result.cam;
    if (dual) result.cam_c = result.cam;
  }
  return result;
}

at::Tensor upsample_cam(const at::Tensor& cam, int64_t H, int64_t W, int64_t stride) {
  const int64_t Hu = (H + stride - 1) / stride * stride, Wu = (W + stride - 1) / stride * stride;
  return torch::upsample_bilinear2d(cam.unsqueeze(1), {Hu, Wu}, /*align_corners=*/false)
      .squeeze(1)
      .slice(1, 0, H)
      .slice(2, 0, W);
}

at::Tensor stride4_cam(const at::Tensor& cam, int64_t H, int64_t W) {
  return torch::upsample_bilinear2d(cam.unsqueeze(0), {stride4_side(H), stride4_side(W)}, /*align_corners=*/false).squeeze(0);
}

void BranchSums::add(const at::Tensor& c, int64_t H, int64_t W, int64_t stride) {
  const at::Tensor up = upsample_cam(c, H, W, stride), s4 = stride4_cam(c, H, W);
  full = full.defined() ? full + up : up;
  stride4 = stride4.defined() ? stride4 + s4 : s4;
}

namespace {

at::Tensor select_branch(const at::Tensor& sum_s, const at::Tensor& sum_c, bool dual, const CamOptions& opt) {
  const at::Tensor ns = sum_s.defined() ? normalize_by_max(sum_s) : at::Tensor();
  const at::Tensor nc = sum_c.defined() ? normalize_by_max(sum_c) : at::Tensor();
  switch (opt.branch) {
    case CamBranch::Spotlight: return ns;
    case CamBranch::Compensation: return nc;
    case CamBranch::Fused: break;
  }
  return dual ? fuse_branches(ns, nc, opt.xi) : ns;
}

}  // namespace

void finish_cam(ImageCam& result, const BranchSums& sum_s, const BranchSums& sum_c, bool dual, const CamOptions& opt,
                int64_t H, int64_t W) {
  result.cam = select_branch(sum_s.full, sum_c.full, dual, opt);
  result.cam_stride4 = select_branch(sum_s.stride4, sum_c.stride4, dual, opt);
  if (opt.branch == CamBranch::Fused && dual) result.xi = opt.xi;
  if (opt.keep_branches) {
    result.cam_s = sum_s.full.defined() ? normalize_by_max(sum_s.full) : at::Tensor();
    result.cam_c = sum_c.full.defined() ? normalize_by_max(sum_c.full) : at::Tensor();
  }
  if (!result.cam.defined()) result.cam = torch::zeros({0, H, W});
  if (!result.cam_stride4.defined()) result.cam_stride4 = torch::zeros({0, stride4_side(H), stride4_side(W)});
  for (at::Tensor* t : {&result.cam, &result.cam_stride4, &result.cam_s, &result.cam_c})  // off the GPU for the writer
    if (t->defined()) *t = t->to(at::kCPU);
}

ImageCam compute_cam(AmrNet& net, const cv::Mat& rgb, const std::vector<float>& labels, const CamOptions& opt) {
  if (opt.scales.empty()) throw Error("--scales: at least one scale");
  check_xi(opt.xi, "--xi");
  const bool dual = net->options().dual;
  if (!dual && opt.branch == CamBranch::Compensation)
    throw Error("--branch compensation: this run has a single (cam) branch");
  if (opt.refine != Refine::None) {
    if (!opt.predicted_classes) return refined_cam(net, rgb, label_keys(labels), opt);
    CamOptions plain = opt;  // the classes from a plain pass at scale 1.0
    plain.refine = Refine::None;
    plain.scales = {1.0};
    plain.keep_branches = false;
    return refined_cam(net, rgb, compute_cam(net, rgb, labels, plain).keys, opt);
  }
  c10::InferenceMode guard;
  ImageCam result;
  if (!opt.predicted_classes) result.keys = label_keys(labels);

  const int64_t H = rgb.rows, W = rgb.cols, os = output_stride(net->options());
  if (!opt.predicted_classes && result.keys.empty()) return empty_cam(H, W, dual, opt);
  const bool want_s = opt.branch != CamBranch::Compensation || opt.keep_branches;
  const bool want_c = dual && (opt.branch != CamBranch::Spotlight || opt.keep_branches);
  BranchSums sum_s, sum_c;
  at::Tensor index;
  bool keys_ready = !opt.predicted_classes;
  const c10::Device device = net->classifier->weight.device();
  if (keys_ready) index = torch::tensor(result.keys, torch::kLong).to(device);

  // The scale 1.0 first: with predicted classes, its logits choose the keys.
  std::vector<double> scales = opt.scales;
  std::stable_partition(scales.begin(), scales.end(), [](double s) { return s == 1.0; });
  CamProfile* profile = opt.profile;
  for (double s : scales) {
    auto t = std::chrono::steady_clock::now();
    at::Tensor x = to_normalized_tensor(rescale_image(rgb, s)).unsqueeze(0).to(device);
    if (opt.flip) x = torch::cat({x, x.flip({3})});
    if (opt.channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    if (profile) profile->add("prepare", seconds_since(t));
    AmrOutput out;  // only the branches asked for
    {
      compat::Bf16AutocastScope autocast(device.type(), opt.bf16);
      if (profile && keys_ready) {
        std::ostringstream prefix;
        prefix << "scale " << s << "/";
        if (want_s) out.cam_s = profiled_branch_cam(net->spotlight, net->classifier->weight, x, *profile, prefix.str() + "spotlight/");
        if (want_c)
          out.cam_c = profiled_branch_cam(net->compensation, net->classifier2->weight, x, *profile, prefix.str() + "compensation/");
      } else if (!keys_ready || (want_s && want_c))
        out = net->forward(x);
      else if (want_s)
        out.cam_s = class_activation_map(net->spotlight->forward(x), net->classifier->weight);
      else
        out.cam_c = class_activation_map(net->compensation->forward(x), net->classifier2->weight);
    }
    for (at::Tensor* t : {&out.cam_s, &out.cam_c, &out.logits_s, &out.logits_c})
      if (t->defined()) *t = t->to(torch::kFloat32);
    if (!keys_ready) {
      at::Tensor logits = dual ? 0.5 * (out.logits_s.mean(0) + out.logits_c.mean(0)) : out.logits_s.mean(0);
      result.keys = predicted_keys(logits, opt.score_threshold);
      index = torch::tensor(result.keys, torch::kLong).to(device);
      keys_ready = true;
    }
    t = std::chrono::steady_clock::now();
    auto accumulate = [&](const at::Tensor& cam, BranchSums& sum) {
      const at::Tensor c = opt.flip ? cam[0] + cam[1].flip({2}) : cam[0];
      sum.add(c.index_select(0, index), H, W, os);
    };
    if (want_s) accumulate(out.cam_s, sum_s);
    if (want_c) accumulate(out.cam_c, sum_c);
    if (profile) profile->add("accumulate", seconds_since(t));
  }
  const auto t = std::chrono::steady_clock::now();
  finish_cam(result, sum_s, sum_c, dual, opt, H, W);
  for (at::Tensor* m : {&result.cam, &result.cam_stride4, &result.cam_s, &result.cam_c})
    if (m->defined()) *m = m->cpu().contiguous();
  if (profile) profile->add("normalize", seconds_since(t));
  return result;
}

}  // namespace amr

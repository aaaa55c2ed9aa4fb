#include "amr/cam/cam_runner.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>

#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/io/error.h"
#include "amr/io/npz.h"
#include "amr/io/weights.h"
#include "amr/train/trainer.h"

namespace fs = std::filesystem;

namespace amr {

void parse_shard(const std::string& spec, CamRunOptions* opt) {
  const auto slash = spec.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("");
    opt->shard_index = std::stoi(spec.substr(0, slash));
    opt->shard_count = std::stoi(spec.substr(slash + 1));
  } catch (const std::exception&) {
    throw Error("--shard: expected i/n, got '" + spec + "'");
  }
  if (opt->shard_count < 1 || opt->shard_index < 0 || opt->shard_index >= opt->shard_count)
    throw Error("--shard: expected 0 <= i < n, got '" + spec + "'");
}

bool valid_cam_file(const std::string& path) {
  if (!fs::exists(path)) return false;
  try {
    NamedArrays a = read_npz(path);
    at::Tensor keys = npz_get(a, "keys", path), cam = npz_get(a, "cam", path);
    return cam.dim() == 3 && keys.dim() == 1 && keys.size(0) == cam.size(0);
  } catch (const Error&) {
    return false;
  }
}

namespace {

GaussianThreshold weights_threshold(const CamRunOptions& opt) {
  double tau = 0.0;
  if (!opt.tau.empty()) {
    size_t used = 0;
    try {
      tau = std::stod(opt.tau, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != opt.tau.size()) throw Error("--tau: expected a number, got '" + opt.tau + "'");
  }
  return parse_threshold_mode(tau, opt.tau_mode.empty() ? "relative" : opt.tau_mode);
}

AmrNet load_model(const CamRunOptions& opt, int64_t num_classes) {
  if (!opt.run.empty()) {
    if (!opt.tau.empty() || !opt.tau_mode.empty())
      throw Error("--tau/--tau-mode: only with --weights (--run " + opt.run + " has them in its config.yaml)");
    return load_run(opt.run, num_classes).net;
  }
  if (opt.weights.empty()) throw Error("--run or --weights: one of them is required");
  NamedTensors w = read_pth(opt.weights);
  bool dual = false;
  int64_t classes = 0;
  for (const auto& [k, v] : w) {
    if (k.rfind("compensation.", 0) == 0) dual = true;
    if (k == "classifier.weight") classes = v.size(0);
  }
  if (classes == 0) throw Error("--weights " + opt.weights + ": no classifier.weight (not a CAM/AMR model)");
  if (classes != num_classes)
    throw Error("--weights " + opt.weights + ": the model has " + std::to_string(classes) + " classes, the data " +
                std::to_string(num_classes));
  AmrNetOptions o;
  o.backbone.arch = opt.arch;
  o.backbone.strides = opt.strides;
  o.backbone.bn = BnMode::FixedStats;
  o.num_classes = classes;
  o.dual = dual;
  o.amm.threshold = weights_threshold(opt);
  if (!dual && o.amm.threshold.tau > 0)
    throw Error("--tau: " + opt.weights + " is a single-branch CAM model (no AMM to threshold)");
  AmrNet net(o);
  load_state_dict(*net, w, /*strict=*/true, opt.weights);
  net->eval();
  return net;
}

}  // namespace

CamRunSummary run_cam(const CamRunOptions& opt) {
  if (opt.out.empty()) throw Error("--out: required");
  DatasetOptions d;
  d.root = opt.data;
  d.list = opt.list;
  d.labels_from_masks = opt.labels_from_masks;
  VocDataset ds = open_voc(d);
  AmrNet net = load_model(opt, ds.num_classes());
  net->eval();
  // Not under --refine: adversarial climbing amplifies the last-bit changes of folded weights
  // (measured: 5e-4 -> 1.3e-3 max difference to the official loop after 7 steps).
  if (opt.fold_batchnorm && opt.cam.refine == Refine::None) {
    net->spotlight->fold_batchnorm();
    if (net->compensation) net->compensation->fold_batchnorm();
  }
  ensure_dir(opt.out, "--out");

  std::vector<size_t> todo;
  CamRunSummary summary;
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(opt.shard_count)) != opt.shard_index) continue;
    ++summary.in_shard;
    if (opt.resume && valid_cam_file(opt.out + "/" + ds.ids[i] + ".npz")) {
      ++summary.skipped;
      continue;
    }
    todo.push_back(i);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const bool tty = !opt.quiet && isatty(STDERR_FILENO);
  // Decoding of the next image overlaps the network.
  auto read = [&](size_t k) { return std::async(std::launch::async, [&ds, &todo, k] { return read_rgb(ds.image_path(todo[k])); }); };
  std::future<cv::Mat> next = todo.empty() ? std::future<cv::Mat>() : read(0);
  for (size_t k = 0; k < todo.size(); ++k) {
    cv::Mat rgb = next.get();
    if (k + 1 < todo.size()) next = read(k + 1);
    const size_t i = todo[k];
    ImageCam cam = compute_cam(net, rgb, ds.labels[i], opt.cam);
    std::vector<int32_t> keys(cam.keys.begin(), cam.keys.end());
    NamedArrays arrays = {{"keys", torch::tensor(keys, torch::kInt32).view({static_cast<int64_t>(keys.size())})},
                          {"cam", cam.cam.to(torch::kFloat32)}};
    if (opt.cam.keep_branches) {
      if (cam.cam_s.defined()) arrays.emplace_back("cam_s", cam.cam_s.to(torch::kFloat32));
      if (cam.cam_c.defined()) arrays.emplace_back("cam_c", cam.cam_c.to(torch::kFloat32));
    }
    write_npz(opt.out + "/" + ds.ids[i] + ".npz", arrays);
    ++summary.written;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (tty) {
      std::cerr << "\rcam " << k + 1 << "/" << todo.size() << " (" << el / static_cast<double>(k + 1) << " s/image)   " << std::flush;
    } else if (!opt.quiet && ((k + 1) % 100 == 0 || k + 1 == todo.size())) {
      std::cerr << "cam " << k + 1 << "/" << todo.size() << " (" << el / static_cast<double>(k + 1) << " s/image)\n";
    }
  }
  if (tty && !todo.empty()) std::cerr << "\n";
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace amr

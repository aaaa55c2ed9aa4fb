#include "amr/cam/cam_runner.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <fstream>
#include <iostream>
#include <set>
#include <nlohmann/json.hpp>

#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/io/error.h"
#include "amr/model/model_file.h"

namespace fs = std::filesystem;

namespace amr {

void parse_shard(const std::string& spec, CamRunOptions* opt) {
  const auto slash = spec.find('/');
  auto number = [&](const std::string& t) {
    size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != t.size()) throw Error("--shard: expected i/n, got '" + spec + "'");
    return v;
  };
  if (slash == std::string::npos) throw Error("--shard: expected i/n, got '" + spec + "'");
  opt->shard_index = number(spec.substr(0, slash));
  opt->shard_count = number(spec.substr(slash + 1));
  if (opt->shard_count < 1 || opt->shard_index < 0 || opt->shard_index >= opt->shard_count)
    throw Error("--shard: expected 0 <= i < n, got '" + spec + "'");
}

namespace {

GaussianThreshold threshold_flags(const CamRunOptions& opt) {
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

// A described model is rebuilt as described; flags given anyway must say the same.
void check_flags_agree(const CamRunOptions& opt, const AmrNetOptions& d, const std::string& source) {
  auto differ = [&](const std::string& flag, const std::string& given, const std::string& described) {
    throw Error(flag + " " + given + ": " + source + " was trained with " + described + " (its model description)");
  };
  if (!opt.arch.empty() && opt.arch != d.backbone.arch) differ("--arch", opt.arch, d.backbone.arch);
  if (opt.strides && *opt.strides != d.backbone.strides) differ("--strides", "given", "other strides");
  if (!opt.tau.empty() || !opt.tau_mode.empty()) {
    const GaussianThreshold t = threshold_flags(opt);
    if (t.tau != d.amm.threshold.tau || (!opt.tau_mode.empty() && t.relative != d.amm.threshold.relative))
      differ("--tau/--tau-mode", opt.tau + " " + opt.tau_mode,
             "tau " + std::to_string(d.amm.threshold.tau) + (d.amm.threshold.relative ? " relative" : " absolute"));
  }
}

AmrNet load_cam_model(const CamRunOptions& opt, int64_t num_classes) {
  if (!opt.run.empty()) {
    if (!opt.weights.empty()) throw Error("--run and --weights: give one of them");
    if (!opt.tau.empty() || !opt.tau_mode.empty())
      throw Error("--tau/--tau-mode: only with --weights (--run " + opt.run + " has them in its model description)");
    AmrNet net = load_run_model(opt.run, num_classes);
    check_flags_agree(opt, net->options(), "--run " + opt.run);
    return net;
  }
  if (opt.weights.empty()) throw Error("--run or --weights: one of them is required");
  ModelFile file = read_model_file(opt.weights);
  if (file.description) check_flags_agree(opt, *file.description, opt.weights);
  if (file.num_classes() != num_classes)
    throw Error("--weights " + opt.weights + ": the model has " + std::to_string(file.num_classes()) + " classes, the data " +
                std::to_string(num_classes));
  AmrNetOptions fallback;
  fallback.backbone.arch = opt.arch.empty() ? "resnet50" : opt.arch;
  if (opt.strides) fallback.backbone.strides = *opt.strides;
  fallback.backbone.bn = BnMode::FixedStats;
  fallback.amm.threshold = threshold_flags(opt);
  return load_model(file, fallback);
}

// Everything that decides the CAM values: the model (its description) and the CAM options.
// Shards and --resume of one job write the same settings; CAMs of other settings in --out are
// refused rather than mixed.
nlohmann::json cam_settings(const CamRunOptions& opt, AmrNet& net) {
  const CamOptions& c = opt.cam;
  nlohmann::json j = {
      {"model", opt.run.empty() ? opt.weights : opt.run + "/model.pt"},
      {"model_description", nlohmann::json::parse(describe(net->options()))},
      {"scales", c.scales},
      {"flip", c.flip},
      {"branch", to_string(c.branch)},
      {"classes", c.predicted_classes ? "predicted" : "labels"},
      {"precision", c.bf16 ? "bf16" : "fp32"},
      {"refine", to_string(c.refine)},
      {"save_branches", c.keep_branches},
      {"labels_from_masks", opt.labels_from_masks},
  };
  if (net->options().dual && c.branch == CamBranch::Fused) j["xi"] = c.xi;
  if (c.predicted_classes) j["score_threshold"] = c.score_threshold;
  if (c.refine == Refine::AdvCam)
    j["advcam"] = {{"iterations", c.adv.iterations},
                   {"step", c.adv.step},
                   {"ad_coeff", c.adv.ad_coeff},
                   {"score_threshold", c.adv.score_threshold},
                   {"half_scale_index", c.adv.half_scale_index}};
  return j;
}

void record_settings(const CamRunOptions& opt, const nlohmann::json& settings) {
  const std::string path = opt.out + "/cam_settings.json";
  if (fs::exists(path)) {
    std::ifstream in(path);
    nlohmann::json old;
    try {
      old = nlohmann::json::parse(in);
    } catch (const std::exception&) {
      throw Error(path + ": not valid JSON (remove it, or use another --out)");
    }
    auto without_path = [](nlohmann::json j) {  // the same model moved elsewhere is the same model
      j.erase("model");
      return j;
    };
    if (without_path(old) == without_path(settings)) return;
    throw Error("--out " + opt.out + ": holds CAMs made with other settings (" + path +
                "); use another --out or remove it");
  }
  const std::string text = settings.dump(1) + "\n";
  write_bytes_atomically(path, std::vector<char>(text.begin(), text.end()));
}

}  // namespace

CamCoverage check_cam_coverage(const std::string& out, const std::vector<std::string>& ids) {
  if (!fs::is_directory(out)) throw Error("--out " + out + ": not a directory");
  CamCoverage c;
  c.expected = ids.size();
  std::set<std::string> wanted(ids.begin(), ids.end());
  for (const auto& id : ids) {
    if (valid_cam_file(out + "/" + id + ".npz")) ++c.valid;
    else c.missing.push_back(id);
  }
  for (const auto& e : fs::directory_iterator(out)) {
    const fs::path p = e.path();
    if (p.extension() == ".npz" && !wanted.count(p.stem().string())) c.extra.push_back(p.filename().string());
  }
  std::sort(c.extra.begin(), c.extra.end());
  return c;
}

CamRunSummary run_cam(const CamRunOptions& opt) {
  if (opt.out.empty()) throw Error("--out: required");
  DatasetOptions d;
  d.root = opt.data;
  d.list = opt.list;
  d.labels_from_masks = opt.labels_from_masks;
  if (opt.check_only) {
    d.require_images = false;
    d.load_labels = false;
    const VocDataset ds = open_voc(d);
    const CamCoverage c = check_cam_coverage(opt.out, ds.ids);
    if (!c.complete()) {
      std::string msg = "--out " + opt.out + ": " + std::to_string(c.missing.size()) + " of " +
                        std::to_string(c.expected) + " CAMs of " + opt.list + " missing or invalid";
      if (!c.missing.empty()) msg += " (first: " + c.missing.front() + ")";
      msg += ", " + std::to_string(c.extra.size()) + " .npz not in the list";
      if (!c.extra.empty()) msg += " (first: " + c.extra.front() + ")";
      throw Error(msg);
    }
    CamRunSummary s;
    s.in_shard = s.skipped = c.valid;
    return s;
  }
  VocDataset ds = open_voc(d);
  refuse_output_inside_dataset(opt.out, ds, "--out");
  if (!opt.profile.empty()) {  // checked before hours of CAMs, not when the profile is written
    if (opt.cam.refine != Refine::None) throw Error("--profile: plain CAMs only (not with --refine)");
    refuse_output_inside_dataset(opt.profile, ds, "--profile");
    const fs::path parent = fs::absolute(opt.profile).parent_path();
    if (!fs::is_directory(parent)) throw Error("--profile " + opt.profile + ": directory " + parent.string() + " does not exist");
  }
  AmrNet net = load_cam_model(opt, ds.num_classes());
  net->eval();
  if (opt.cam.bf16 && !opt.device.is_cuda() && !cpu_has_native_bf16())
    throw Error("--precision bf16: this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16 in /proc/cpuinfo); "
                "autocast would emulate it, about 11x slower than fp32: use --precision fp32");
  if (opt.device.is_cuda()) {
    if (opt.cam.refine != Refine::None) throw Error("--refine: runs on the CPU only for now (drop --device)");
    if (opt.cam.bf16) throw Error("--precision bf16: the CPU's autocast; on CUDA use fp32");
    net->to(torch_device(opt.device));  // before folding: the folded biases are made where the weights are
  }
  // Not under --refine: adversarial climbing amplifies the last-bit changes of folded weights
  // (measured: 5e-4 -> 1.3e-3 max difference to the official loop after 7 steps).
  if (opt.fold_batchnorm && opt.cam.refine == Refine::None) {
    net->spotlight->fold_batchnorm();
    if (net->compensation) net->compensation->fold_batchnorm();
  }
  ensure_dir(opt.out, "--out");
  record_settings(opt, cam_settings(opt, net));

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
  CamOptions cam = opt.cam;
  CamProfile profile;
  if (!opt.profile.empty()) cam.profile = &profile;
  for (size_t k = 0; k < todo.size(); ++k) {
    auto t_wait = std::chrono::steady_clock::now();
    cv::Mat rgb = next.get();
    profile.add("decode (waited)", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_wait).count());
    if (k + 1 < todo.size()) next = read(k + 1);
    if (k == 0 && cam.refine == Refine::None) {
      using MF = CamRunOptions::MemoryFormat;
      cam.channels_last = opt.memory_format == MF::ChannelsLast ||
                          (opt.memory_format == MF::Auto && static_cast<int64_t>(rgb.rows) * rgb.cols >= 256 * 256);
      if (cam.channels_last) use_channels_last(net);
    }
    const size_t i = todo[k];
    ImageCam result = compute_cam(net, rgb, ds.labels[i], cam);
    const auto t_write = std::chrono::steady_clock::now();
    write_cam_file(opt.out + "/" + ds.ids[i] + ".npz", result);
    profile.add("write", std::chrono::duration<double>(std::chrono::steady_clock::now() - t_write).count());
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
  if (!opt.profile.empty()) {
    nlohmann::json j;
    j["images"] = summary.written;
    j["total_s"] = summary.seconds;
    j["seconds"] = profile.seconds;
    j["channels_last"] = cam.channels_last;
    j["bf16"] = cam.bf16;
    const std::string text = j.dump(1) + "\n";
    write_bytes_atomically(opt.profile, std::vector<char>(text.begin(), text.end()));
  }
  return summary;
}

}  // namespace amr

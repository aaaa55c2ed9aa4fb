#include "amr/cam/cam_runner.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/base/parse.h"
#include "amr/base/progress.h"
#include "amr/base/text.h"
#include "amr/cam/cam_config.h"
#include "amr/model/model_file.h"

namespace fs = std::filesystem;

namespace amr {

void parse_shard(const std::string& spec, CamRunOptions* opt) {
  const Shard s = parse_shard_spec(spec);
  opt->shard_index = s.index;
  opt->shard_count = s.count;
}

Shard parse_shard_spec(const std::string& spec) {
  Shard s;
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
  s.index = number(spec.substr(0, slash));
  s.count = number(spec.substr(slash + 1));
  if (s.count < 1 || s.index < 0 || s.index >= s.count) throw Error("--shard: expected 0 <= i < n, got '" + spec + "'");
  return s;
}

namespace {
using MF = CamRunOptions::MemoryFormat;
constexpr EnumNames<MF, 3> kMemoryFormats{{{MF::Auto, "auto"}, {MF::ChannelsLast, "channels-last"}, {MF::Contiguous, "contiguous"}}};
}  // namespace

CamRunOptions::MemoryFormat parse_memory_format(const std::string& s) { return parse_enum(kMemoryFormats, s, "--memory-format"); }
std::string memory_format_name(CamRunOptions::MemoryFormat f) { return enum_name(kMemoryFormats, f); }

std::array<int64_t, 4> parse_strides(const std::string& s) {
  const std::vector<double> v = parse_range(s, "--strides");
  std::array<int64_t, 4> out{};
  if (v.size() != 4) throw Error("--strides: expected 4 values, got '" + s + "'");
  for (size_t i = 0; i < 4; ++i) {
    if (v[i] != 1 && v[i] != 2) throw Error("--strides: each stride must be 1 or 2, got '" + s + "'");
    out[i] = static_cast<int64_t>(v[i]);
  }
  return out;
}

namespace {

GaussianThreshold threshold_flags(const CamRunOptions& opt) {
  return gaussian_threshold(opt.tau.value_or(0.0), opt.tau_mode.value_or(TauMode::Relative));
}

// A described model is rebuilt as described; flags given anyway must say the same.
void check_flags_agree(const CamRunOptions& opt, const AmrNetOptions& d, const std::string& source) {
  auto differ = [&](const std::string& flag, const std::string& given, const std::string& described) {
    throw Error(flag + " " + given + ": " + source + " was trained with " + described + " (its model description)");
  };
  if (opt.arch && *opt.arch != d.backbone.arch) differ("--arch", *opt.arch, d.backbone.arch);
  if (opt.strides && *opt.strides != d.backbone.strides) differ("--strides", "given", "other strides");
  const GaussianThreshold& t = d.amm.threshold;
  if ((opt.tau && *opt.tau != t.tau) || (opt.tau_mode && *opt.tau_mode != t.mode))
    differ("--tau/--tau-mode", shortest_double(opt.tau.value_or(t.tau)) + " " + to_string(opt.tau_mode.value_or(t.mode)),
           "tau " + shortest_double(t.tau) + " " + to_string(t.mode));
}

AmrNet load_cam_model(const CamRunOptions& opt, int64_t num_classes) {
  if (!opt.run.empty()) {
    if (!opt.weights.empty()) throw Error("--run and --weights: give one of them");
    if (opt.tau || opt.tau_mode)
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
  fallback.backbone.arch = opt.arch.value_or("resnet50");
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
      {"classes", class_source_name(c.predicted_classes)},
      {"precision", precision_name(c.bf16)},
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
  write_text_atomically(path, settings.dump(1) + "\n");
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

namespace {

DatasetOptions cam_dataset(const CamRunOptions& opt) {
  DatasetOptions d;
  d.root = opt.data;
  d.list = opt.list;
  d.labels_from_masks = opt.labels_from_masks;
  return d;
}

// --check: OUT must hold exactly the list's CAMs.
CamRunSummary check_only(const CamRunOptions& opt) {
  DatasetOptions d = cam_dataset(opt);
  d.require_images = false;
  d.load_labels = false;
  const VocDataset ds = open_voc(d);
  const CamCoverage c = check_cam_coverage(opt.out, ds.ids);
  if (!c.complete()) {
    std::string msg = "--out " + opt.out + ": " + std::to_string(c.missing.size()) + " of " + std::to_string(c.expected) +
                      " CAMs of " + opt.list + " missing or invalid";
    if (!c.missing.empty()) msg += " (first: " + c.missing.front() + ")";
    msg += ", " + std::to_string(c.extra.size()) + " .npz not in the list";
    if (!c.extra.empty()) msg += " (first: " + c.extra.front() + ")";
    throw Error(msg);
  }
  CamRunSummary s;
  s.in_shard = s.skipped = c.valid;
  return s;
}

// Everything refused before a model is loaded or a file written.
void check_run(const CamRunOptions& opt, const VocDataset& ds, const Runtime& rt) {
  if (opt.cam.bf16 && opt.cam.refine != Refine::None) throw Error("--precision bf16: plain CAMs only (not with --refine)");
  refuse_output_inside_dataset(opt.out, ds, "--out");
  if (!opt.profile.empty()) {  // checked before hours of CAMs, not when the profile is written
    if (opt.cam.refine != Refine::None) throw Error("--profile: plain CAMs only (not with --refine)");
    refuse_output_inside_dataset(opt.profile, ds, "--profile");
    const fs::path parent = fs::absolute(opt.profile).parent_path();
    if (!fs::is_directory(parent)) throw Error("--profile " + opt.profile + ": directory " + parent.string() + " does not exist");
  }
  if (opt.cam.bf16 && !rt.device.is_cuda() && !cpu_has_native_bf16())
    throw Error("--precision bf16: this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16 in /proc/cpuinfo); "
                "autocast would emulate it, about 11x slower than fp32: use --precision fp32");
}

// The model on its device, in eval mode, BatchNorm folded where that keeps the CAMs.
AmrNet prepare_model(const CamRunOptions& opt, const VocDataset& ds, const Runtime& rt) {
  AmrNet net = load_cam_model(opt, ds.num_classes());
  net->eval();
  if (rt.device.is_cuda()) net->to(torch_device(rt.device));  // before folding: the folded biases are made where the weights are
  // Not under --refine: adversarial climbing amplifies the last-bit changes of folded weights
  // (measured: 5e-4 -> 1.3e-3 max difference to the official loop after 7 steps).
  if (opt.fold_batchnorm && opt.cam.refine == Refine::None) {
    net->spotlight->fold_batchnorm();
    if (net->compensation) net->compensation->fold_batchnorm();
  }
  return net;
}

// The indices of this shard's ids still to do (--resume skips valid files).
std::vector<size_t> shard_todo(const CamRunOptions& opt, const VocDataset& ds, CamRunSummary& summary) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(opt.shard_count)) != opt.shard_index) continue;
    ++summary.in_shard;
    if (opt.resume && valid_cam_file(opt.out + "/" + ds.ids[i] + ".npz")) {
      ++summary.skipped;
      continue;
    }
    todo.push_back(i);
  }
  return todo;
}

bool wants_channels_last(CamRunOptions::MemoryFormat f, const cv::Mat& first_image) {
  using MF = CamRunOptions::MemoryFormat;
  return f == MF::ChannelsLast || (f == MF::Auto && static_cast<int64_t>(first_image.rows) * first_image.cols >= 256 * 256);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void write_profile(const std::string& path, const CamRunSummary& s, const CamOptions& cam, const CamProfile& profile) {
  nlohmann::json j;
  j["images"] = s.written;
  j["total_s"] = s.seconds;
  j["seconds"] = profile.seconds;
  j["channels_last"] = cam.channels_last;
  j["bf16"] = cam.bf16;
  write_text_atomically(path, j.dump(1) + "\n");
}

// The CAM of each todo image, written as it is done; decoding of the next image overlaps the
// network.
void cam_loop(const CamRunOptions& opt, const VocDataset& ds, const std::vector<size_t>& todo, AmrNet& net,
              CamRunSummary& summary) {
  auto read = [&](size_t k) { return std::async(std::launch::async, [&ds, &todo, k] { return read_rgb(ds.image_path(todo[k])); }); };
  std::future<cv::Mat> next = todo.empty() ? std::future<cv::Mat>() : read(0);
  CamOptions cam = opt.cam;
  CamProfile profile;
  if (!opt.profile.empty()) cam.profile = &profile;
  Progress progress(static_cast<int64_t>(todo.size()), opt.quiet, 100);
  for (size_t k = 0; k < todo.size(); ++k) {
    auto t_wait = std::chrono::steady_clock::now();
    cv::Mat rgb = next.get();
    profile.add("decode (waited)", seconds_since(t_wait));
    if (k + 1 < todo.size()) next = read(k + 1);
    if (k == 0 && cam.refine == Refine::None) {
      cam.channels_last = wants_channels_last(opt.memory_format, rgb);
      if (cam.channels_last) use_channels_last(net);
    }
    const size_t i = todo[k];
    ImageCam result = compute_cam(net, rgb, ds.labels[i], cam);
    const auto t_write = std::chrono::steady_clock::now();
    write_cam_file(opt.out + "/" + ds.ids[i] + ".npz", result);
    profile.add("write", seconds_since(t_write));
    ++summary.written;
    const auto done = static_cast<int64_t>(k + 1);
    progress.update(done, "cam " + std::to_string(done) + "/" + std::to_string(todo.size()) + " (" +
                              std::to_string(progress.seconds() / static_cast<double>(done)) + " s/image)");
  }
  if (!todo.empty()) progress.end_line();
  summary.seconds = progress.seconds();
  if (!opt.profile.empty()) write_profile(opt.profile, summary, cam, profile);
}

}  // namespace

CamRunSummary run_cam(const CamRunOptions& opt, const Runtime& rt) {
  if (opt.out.empty()) throw Error("--out: required");
  validate(opt);
  if (opt.check_only) return check_only(opt);
  const VocDataset ds = open_voc(cam_dataset(opt));
  check_run(opt, ds, rt);
  AmrNet net = prepare_model(opt, ds, rt);
  ensure_dir(opt.out, "--out");
  record_settings(opt, cam_settings(opt, net));
  CamRunSummary summary;
  const std::vector<size_t> todo = shard_todo(opt, ds, summary);
  cam_loop(opt, ds, todo, net, summary);
  return summary;
}

}  // namespace amr

#include "amr/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "amr/data/loader.h"
#include "amr/data/voc.h"
#include "amr/eval/classification.h"
#include "amr/io/atomic_file.h"
#include "amr/io/error.h"
#include "amr/io/weights.h"
#include "amr/model/model_file.h"
#include "amr/model/losses.h"
#include "amr/runtime.h"
#include "amr/train/optimizer.h"

namespace fs = std::filesystem;

namespace amr {

AmrNetOptions net_options(const TrainConfig& c, int64_t num_classes) {
  AmrNetOptions o;
  o.backbone.arch = c.arch;
  o.backbone.strides = c.strides;
  o.backbone.bn = parse_bn_mode(c.bn);
  o.num_classes = num_classes;
  o.dual = c.dual();
  o.amm.threshold = parse_threshold_mode(c.tau, c.tau_mode);
  o.routing = parse_routing(c.routing);
  return o;
}

std::vector<ParamGroup> param_groups(AmrNet& net, const TrainConfig& c) {
  std::vector<ParamGroup> g;
  g.push_back({"spotlight", net->spotlight_backbone_parameters(), c.lr * c.lr_mult_backbone, c.weight_decay});
  if (net->compensation)
    g.push_back({"compensation", net->compensation_backbone_parameters(), c.lr * c.lr_mult_compensation, c.weight_decay});
  g.push_back({"classifier", net->classifier_parameters(), c.lr * c.lr_mult_classifier, c.weight_decay});
  return g;
}

LossOptions loss_options(const TrainConfig& c) {
  LossOptions o;
  o.cps_weight = c.cps_weight;
  o.area_weight = c.area_weight;
  o.official_flip_pair = c.official_flip_pair;
  o.area_on_spotlight = c.routing != "official";
  return o;
}

StepLosses forward_backward(AmrNet& net, const at::Tensor& images, const at::Tensor& labels, const LossOptions& lopt,
                            int64_t accumulate) {
  StepLosses s;
  const int64_t micro = images.size(0) / accumulate;
  const double share = 1.0 / static_cast<double>(accumulate);
  auto add = [share](double& sum, const at::Tensor& t) {
    if (t.defined()) sum += t.item<double>() * share;
  };
  for (int64_t m = 0; m < accumulate; ++m) {
    LossTerms t = amr_loss(net->forward(images.narrow(0, m * micro, micro)), labels.narrow(0, m * micro, micro), lopt);
    (t.total * share).backward();
    add(s.total, t.total);
    add(s.cls, t.cls);
    add(s.cls_s, t.cls_s);
    add(s.cls_c, t.cls_c);
    add(s.cps, t.cps);
    add(s.area, t.area);
  }
  return s;
}

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// Loads backbone weights under `prefix` + name into `net`; AMM parameters may be missing (they
// are new), anything else missing or unexpected is an error.
void load_branch(AmrNet& net, const NamedTensors& tensors, const std::string& prefix, const std::string& what) {
  NamedTensors renamed;
  for (const auto& [k, v] : tensors) renamed.emplace_back(prefix + k, v);
  LoadReport r = load_state_dict(*net, renamed, /*strict=*/false, what);
  for (const auto& k : r.unexpected)
    throw Error(what + ": unexpected key '" + k.substr(prefix.size()) + "' for a " + net->options().backbone.arch + " backbone");
  for (const auto& k : r.missing)
    if (starts_with(k, prefix) && k.find(".amm.") == std::string::npos)
      throw Error(what + ": weights do not cover '" + k + "'");
}

NamedTensors with_prefix_stripped(const NamedTensors& t, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [k, v] : t)
    if (starts_with(k, prefix)) out.emplace_back(k.substr(prefix.size()), v);
  return out;
}

std::string weights_file_of(const std::string& path) {
  return fs::is_directory(path) ? path + "/model.pt" : path;
}

// Backbone weights: an `amr import-weights` file (torchvision names), or a run (directory or
// model.pt) whose spotlight backbone is taken (a pretraining run playing ImageNet).
NamedTensors pretrained_backbone(const std::string& path) {
  NamedTensors t = read_pth(weights_file_of(path));
  NamedTensors spot = with_prefix_stripped(t, "spotlight.");
  return spot.empty() ? t : spot;
}

void copy_classifier(const torch::nn::Conv2d& dst, const at::Tensor& src, const std::string& what) {
  if (src.sizes() != dst->weight.sizes())
    throw Error(what + ": classifier has " + std::to_string(src.size(0)) + " classes, the data has " +
                std::to_string(dst->weight.size(0)));
  torch::NoGradGuard no_grad;
  dst->weight.copy_(src);
}

// A cam run's weights and its classifier.weight; throws when it is not one.
NamedTensors cam_run(const std::string& path, const std::string& key, at::Tensor* classifier) {
  const std::string file = weights_file_of(path);
  NamedTensors run = read_pth(file);
  if (!with_prefix_stripped(run, "compensation.").empty())
    throw Error(key + " " + file + ": a dual-branch model, expected a cam run");
  NamedTensors backbone = with_prefix_stripped(run, "spotlight.");
  if (backbone.empty()) throw Error(key + " " + file + ": no spotlight.* weights (expected a cam run)");
  for (const auto& [k, v] : run)
    if (k == "classifier.weight") *classifier = v;
  if (!classifier->defined()) throw Error(key + " " + file + ": no classifier.weight (expected a cam run)");
  return backbone;
}

}  // namespace

void initialize_weights(AmrNet& net, const TrainConfig& c) {
  if (!c.init_from.empty()) {
    // A whole model of the same variant: a dual-branch model for amr variants, a cam run for cam.
    const std::string file = weights_file_of(c.init_from);
    NamedTensors run = read_pth(file);
    const bool dual_file = !with_prefix_stripped(run, "compensation.").empty();
    if (dual_file != static_cast<bool>(net->compensation))
      throw Error("init_from " + file + ": a " + (dual_file ? "dual-branch model" : "cam run") + " cannot initialize the " +
                  c.variant + " variant" + (dual_file ? "" : " (use spotlight_from, or copy_cam_to_both)"));
    load_state_dict(*net, run, /*strict=*/true, "init_from " + file);
    return;
  }
  if (!c.init.empty()) {
    NamedTensors backbone = pretrained_backbone(c.init);
    if (c.spotlight_from.empty() && c.copy_cam_to_both.empty()) load_branch(net, backbone, "spotlight.", "init " + c.init);
    if (net->compensation && c.copy_cam_to_both.empty()) load_branch(net, backbone, "compensation.", "init " + c.init);
  }
  if (!c.spotlight_from.empty()) {
    at::Tensor cls;
    NamedTensors backbone = cam_run(c.spotlight_from, "spotlight_from", &cls);
    load_branch(net, backbone, "spotlight.", "spotlight_from " + c.spotlight_from);
    copy_classifier(net->classifier, cls, "spotlight_from " + c.spotlight_from);
  }
  if (!c.copy_cam_to_both.empty()) {
    // Not the official recipe: both branches start at the cam solution, classifier2 = classifier.
    at::Tensor cls;
    NamedTensors backbone = cam_run(c.copy_cam_to_both, "copy_cam_to_both", &cls);
    load_branch(net, backbone, "spotlight.", "copy_cam_to_both " + c.copy_cam_to_both);
    load_branch(net, backbone, "compensation.", "copy_cam_to_both " + c.copy_cam_to_both);
    copy_classifier(net->classifier, cls, "copy_cam_to_both " + c.copy_cam_to_both);
    copy_classifier(net->classifier2, cls, "copy_cam_to_both " + c.copy_cam_to_both);
  }
}

namespace {

struct Position {
  int64_t epoch = 0, samples = 0, step = 0;
};

NamedTensors prefixed(const NamedTensors& t, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [k, v] : t) out.emplace_back(prefix + k, v);
  return out;
}

void save_checkpoint(const std::string& path, AmrNet& net, const PolySgd& opt, const Position& pos) {
  NamedTensors all = prefixed(state_dict(*net), "model.");
  for (auto& kv : prefixed(opt.state(), "optim.")) all.push_back(kv);
  all.emplace_back("meta.epoch", torch::tensor(pos.epoch, torch::kInt64));
  all.emplace_back("meta.samples", torch::tensor(pos.samples, torch::kInt64));
  all.emplace_back("meta.step", torch::tensor(pos.step, torch::kInt64));
  auto gen = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    all.emplace_back("meta.torch_rng", gen.get_state());
  }
  write_pth(path, all);
}

Position load_checkpoint(const std::string& path, AmrNet& net, PolySgd& opt) {
  NamedTensors all = read_pth(path);
  NamedTensors model, optim;
  Position pos;
  for (const auto& [k, v] : all) {
    if (starts_with(k, "model.")) model.emplace_back(k.substr(6), v);
    else if (starts_with(k, "optim.")) optim.emplace_back(k.substr(6), v);
    else if (k == "meta.epoch") pos.epoch = v.item<int64_t>();
    else if (k == "meta.samples") pos.samples = v.item<int64_t>();
    else if (k == "meta.step") pos.step = v.item<int64_t>();
    else if (k == "meta.torch_rng") {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(v);
    }
  }
  load_state_dict(*net, model, /*strict=*/true, path);
  opt.load_state(optim, path);
  return pos;
}

// Keeps the log lines of steps <= `step` (a resumed run rewrites what came after).
void truncate_log(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      auto j = nlohmann::json::parse(line);
      if (j.value("step", int64_t(0)) > step) continue;
    } catch (const std::exception&) {
      continue;  // a line cut by the interruption
    }
    kept += line + "\n";
  }
  in.close();
  write_bytes_atomically(path, std::vector<char>(kept.begin(), kept.end()));
}

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  std::ostringstream o;
  o << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2) << s % 60;
  return o.str();
}

ClassificationMetrics validate(AmrNet& net, const VocDataset& val, const TrainConfig& c, ClassificationMetrics* comp) {
  LoaderOptions lo;
  lo.batch = c.batch;
  lo.workers = c.workers;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.seed = c.seed;
  lo.augment = AugmentOptions{c.crop, c.crop, false, c.crop};
  BatchLoader loader(val, lo);
  loader.start_epoch(0);
  std::vector<at::Tensor> ls, lc, ys;
  net->eval();
  {
    torch::NoGradGuard no_grad;
    while (auto b = loader.next()) {
      AmrOutput out = net->forward(b->images);
      ls.push_back(out.logits_s);
      if (out.logits_c.defined()) lc.push_back(out.logits_c);
      ys.push_back(b->labels);
    }
  }
  net->train();
  at::Tensor y = torch::cat(ys);
  if (comp && !lc.empty()) *comp = classification_metrics(torch::cat(lc), y);
  return classification_metrics(torch::cat(ls), y);
}

}  // namespace

TrainSummary train(TrainConfig c, const TrainOptions& opt) {
  const std::string run = opt.run_dir;
  if (run.empty()) throw Error("--out: required (the run directory)");
  if (opt.resume && !fs::exists(run + "/last.pt")) throw Error("--resume: no " + run + "/last.pt to resume from");
  c.resolve();
  validate(net_options(c, 1).backbone);  // bad arch/strides/bn/tau/routing fail before RUN exists
  ensure_dir(run, "--out");
  configure_runtime(c.threads);

  DatasetOptions dopt;
  dopt.root = c.data;
  dopt.list = c.list;
  dopt.labels_from_masks = c.labels_from_masks;
  dopt.label_min_fraction = c.label_min_fraction;
  dopt.skip_bad = c.skip_bad;
  dopt.require_masks = c.labels_from_masks;
  VocDataset ds = open_voc(dopt);
  std::unique_ptr<VocDataset> val;
  if (!c.val_list.empty()) {
    dopt.list = c.val_list;
    val = std::make_unique<VocDataset>(open_voc(dopt));
  }

  torch::manual_seed(c.seed);
  AmrNet net(net_options(c, ds.num_classes()));
  if (!opt.resume) initialize_weights(net, c);
  net->train();

  LoaderOptions lo;
  lo.batch = c.batch;
  lo.workers = c.workers;
  lo.seed = c.seed;
  lo.augment = AugmentOptions{c.resize_long[0], c.resize_long[1], c.hflip, c.crop};
  lo.cutout = c.cutout;
  lo.cutout_boxes = c.cutout_boxes;
  lo.crop_labels = c.labels_from_masks;
  lo.label_min_fraction = c.label_min_fraction;
  lo.skip_bad = c.skip_bad;
  BatchLoader loader(ds, lo);
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  if (steps_per_epoch < 1)
    throw Error("--list " + c.list + ": " + std::to_string(ds.ids.size()) + " images make no batch of " + std::to_string(c.batch));
  const int64_t max_step = steps_per_epoch * c.epochs;
  PolySgd sgd(param_groups(net, c), c.momentum, c.poly_power, max_step, c.warmup_steps);

  Position pos;
  const std::string last = run + "/last.pt", log_path = run + "/log.jsonl";
  if (opt.resume) {
    pos = load_checkpoint(last, net, sgd);
    truncate_log(log_path, pos.step);
  } else {
    std::error_code ec;
    fs::remove(log_path, ec);
  }
  {
    const std::string yaml = to_yaml(c);
    write_bytes_atomically(run + "/config.yaml", std::vector<char>(yaml.begin(), yaml.end()));
  }
  std::ofstream log(log_path, std::ios::app);
  if (!log) throw Error("--out " + run + ": cannot write log.jsonl");

  const LossOptions lopt = loss_options(c);
  const bool tty = !opt.quiet && isatty(STDERR_FILENO);
  TrainSummary summary;
  int64_t steps_this_run = 0;
  const auto run_start = std::chrono::steady_clock::now();
  double images_done = 0;

  for (int64_t epoch = pos.epoch; epoch < c.epochs; ++epoch) {
    loader.start_epoch(epoch, epoch == pos.epoch ? pos.samples : 0);
    while (auto batch = loader.next()) {
      const auto t0 = std::chrono::steady_clock::now();
      sgd.zero_grad();
      const StepLosses losses = forward_backward(net, batch->images, batch->labels, lopt, c.accumulate);
      const double total = losses.total;
      if (!std::isfinite(total))
        throw Error("step " + std::to_string(pos.step + 1) + ": loss is " + std::to_string(total) +
                    "; stopped (lower lr?); " + last + " keeps the last good checkpoint");
      const double lr_now = sgd.lr(0, pos.step);  // the base (backbone) group
      sgd.step(pos.step);
      ++pos.step;
      ++steps_this_run;
      pos.samples = loader.samples_consumed();
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      images_done += static_cast<double>(batch->images.size(0));
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
      nlohmann::json j = {{"type", "step"}, {"epoch", epoch}, {"step", pos.step}, {"loss", total}, {"cls", losses.cls},
                          {"lr", lr_now}, {"images_per_s", batch->images.size(0) / dt}};
      if (c.dual()) j["cps"] = losses.cps;
      if (c.area_weight > 0) j["area"] = losses.area;
      log << j.dump() << "\n" << std::flush;
      summary.last_loss = total;
      const double eta = elapsed / static_cast<double>(steps_this_run) * static_cast<double>(max_step - pos.step);
      if (tty) {
        std::cerr << "\r[" << std::setw(3) << (100 * pos.step / max_step) << "%] epoch " << epoch + 1 << "/" << c.epochs
                  << " step " << pos.step << "/" << max_step << " loss " << std::fixed << std::setprecision(4) << total
                  << " " << std::setprecision(1) << images_done / elapsed << " img/s ETA " << format_duration(eta)
                  << "   " << std::flush;
      } else if (!opt.quiet && (pos.step % c.log_every == 0 || pos.step == max_step)) {
        std::cerr << "epoch " << epoch + 1 << "/" << c.epochs << " step " << pos.step << "/" << max_step << " loss "
                  << std::fixed << std::setprecision(4) << total << " lr " << std::setprecision(5) << lr_now << " "
                  << std::setprecision(1) << images_done / elapsed << " img/s ETA " << format_duration(eta) << "\n";
      }
      if (c.checkpoint_every > 0 && pos.step % c.checkpoint_every == 0) save_checkpoint(last, net, sgd, pos);
      if (opt.stop_after_steps > 0 && steps_this_run >= opt.stop_after_steps) {
        save_checkpoint(last, net, sgd, pos);
        summary.steps = pos.step;
        if (tty) std::cerr << "\n";
        return summary;
      }
    }
    if (tty) std::cerr << "\n";
    pos.epoch = epoch + 1;
    pos.samples = 0;
    nlohmann::json ej = {{"type", "epoch"}, {"epoch", epoch + 1}, {"step", pos.step}};
    if (val) {
      ClassificationMetrics mc;
      ClassificationMetrics ms = validate(net, *val, c, c.dual() ? &mc : nullptr);
      ej["val_map"] = ms.map;
      ej["val_f1"] = ms.f1_micro;
      ej["val_f1_macro"] = ms.f1_macro;
      if (c.dual()) {
        ej["val_map_compensation"] = mc.map;
        ej["val_f1_compensation"] = mc.f1_micro;
      }
      if (!opt.quiet)
        std::cerr << "epoch " << epoch + 1 << " validation: mAP " << std::setprecision(3) << ms.map << " F1 "
                  << ms.f1_micro << (c.dual() ? " (compensation mAP " + std::to_string(mc.map) + " F1 " + std::to_string(mc.f1_micro) + ")" : "")
                  << "\n";
    }
    log << ej.dump() << "\n" << std::flush;
    save_model(run + "/epoch_" + std::to_string(epoch + 1) + ".pt", net);
    save_checkpoint(last, net, sgd, pos);
  }
  save_model(run + "/model.pt", net);
  summary.steps = pos.step;
  summary.finished = true;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  summary.images_per_second = elapsed > 0 ? images_done / elapsed : 0;
  return summary;
}

LoadedRun load_run(const std::string& run_dir, int64_t num_classes_or_0) {
  const std::string cfg_path = run_dir + "/config.yaml";
  if (!fs::is_directory(run_dir)) throw Error("--run " + run_dir + ": not a directory");
  if (!fs::exists(cfg_path)) throw Error("--run " + run_dir + ": no config.yaml (not a run directory)");
  std::ifstream in(cfg_path);
  std::stringstream ss;
  ss << in.rdbuf();
  LoadedRun r;
  r.config = config_from_yaml_text(ss.str(), cfg_path);
  r.net = load_run_model(run_dir, num_classes_or_0);
  return r;
}

}  // namespace amr

#include "amr/train/trainer.h"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "amr/data/loader.h"
#include "amr/data/voc.h"
#include "amr/dist/gradients.h"
#include "amr/io/error.h"
#include "amr/model/batch_stats.h"
#include "amr/model/model_file.h"
#include "amr/runtime.h"
#include "amr/train/data_parallel.h"
#include "amr/train/run_dir.h"
#include "amr/train/validation.h"

namespace fs = std::filesystem;

namespace amr {

std::vector<ParamGroup> param_groups(AmrNet& net, const TrainConfig& c) {
  std::vector<ParamGroup> g;
  g.push_back({"spotlight", net->spotlight_backbone_parameters(), c.lr * c.lr_mult_backbone, c.weight_decay});
  if (net->compensation)
    g.push_back({"compensation", net->compensation_backbone_parameters(), c.lr * c.lr_mult_compensation, c.weight_decay});
  g.push_back({"classifier", net->classifier_parameters(), c.lr * c.lr_mult_classifier_value(), c.weight_decay});
  return g;
}

LossOptions loss_options(const TrainConfig& c) {
  LossOptions o;
  o.cps_weight = c.cps_weight;
  o.area_weight = c.area_weight_value();
  o.official_flip_pair = c.official_flip_pair;
  o.area_on_spotlight = c.routing != Routing::Official;
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

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  std::ostringstream o;
  o << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2) << s % 60;
  return o.str();
}

// The progress line: a live bar on a terminal, every log_every steps otherwise.
class Progress {
 public:
  Progress(const TrainConfig& c, int64_t max_step, bool quiet)
      : c_(c), max_step_(max_step), quiet_(quiet), tty_(!quiet && isatty(STDERR_FILENO)), start_(clock::now()) {}

  void step(int64_t epoch, int64_t step, double loss, double lr, int64_t images) {
    ++steps_;
    images_ += static_cast<double>(images);
    const double elapsed = seconds();
    const double eta = elapsed / static_cast<double>(steps_) * static_cast<double>(max_step_ - step);
    if (tty_) {
      std::cerr << "\r[" << std::setw(3) << (100 * step / max_step_) << "%] epoch " << epoch + 1 << "/" << c_.epochs
                << " step " << step << "/" << max_step_ << " loss " << std::fixed << std::setprecision(4) << loss << " "
                << std::setprecision(1) << images_ / elapsed << " img/s ETA " << format_duration(eta) << "   " << std::flush;
    } else if (!quiet_ && (step % c_.log_every == 0 || step == max_step_)) {
      std::cerr << "epoch " << epoch + 1 << "/" << c_.epochs << " step " << step << "/" << max_step_ << " loss " << std::fixed
                << std::setprecision(4) << loss << " lr " << std::setprecision(5) << lr << " " << std::setprecision(1)
                << images_ / elapsed << " img/s ETA " << format_duration(eta) << "\n";
    }
  }
  void end_line() const {
    if (tty_) std::cerr << "\n";
  }
  void validation(int64_t epoch, const BranchMetrics& m) const {
    if (quiet_) return;
    std::cerr << "epoch " << epoch + 1 << " validation: mAP " << std::setprecision(3) << m.spotlight.map << " F1 "
              << m.spotlight.f1_micro;
    if (m.compensation)
      std::cerr << " (compensation mAP " << m.compensation->map << " F1 " << m.compensation->f1_micro << ")";
    std::cerr << "\n";
  }
  int64_t steps() const { return steps_; }
  double images_per_second() const { return seconds() > 0 ? images_ / seconds() : 0; }

 private:
  using clock = std::chrono::steady_clock;
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }
  const TrainConfig& c_;
  int64_t max_step_;
  bool quiet_, tty_;
  clock::time_point start_;
  int64_t steps_ = 0;
  double images_ = 0;
};

VocDataset open_list(const TrainConfig& c, const std::string& list) {
  DatasetOptions d;
  d.root = c.data;
  d.list = list;
  d.labels_from_masks = c.labels_from_masks;
  d.label_min_fraction = c.label_min_fraction;
  d.skip_bad = c.skip_bad;
  d.require_masks = c.labels_from_masks;
  return open_voc(d);
}

LoaderOptions train_loader_options(const TrainConfig& c, const World& world, bool pin_memory) {
  LoaderOptions lo;
  lo.pin_memory = pin_memory;
  lo.batch = c.batch / world.size();
  lo.rank = world.rank();
  lo.world_size = world.size();
  lo.workers = c.workers;
  lo.seed = c.seed;
  lo.augment = AugmentOptions{c.resize_long[0], c.resize_long[1], c.hflip, c.crop};
  lo.cutout = c.cutout;
  lo.cutout_boxes = c.cutout_boxes;
  lo.crop_labels = c.labels_from_masks;
  lo.label_min_fraction = c.label_min_fraction;
  lo.skip_bad = c.skip_bad;
  return lo;
}

nlohmann::json epoch_line(int64_t epoch, int64_t step, const BranchMetrics* m) {
  nlohmann::json j = {{"type", "epoch"}, {"epoch", epoch}, {"step", step}};
  if (m) {
    j["val_map"] = m->spotlight.map;
    j["val_f1"] = m->spotlight.f1_micro;
    j["val_f1_macro"] = m->spotlight.f1_macro;
    if (m->compensation) {
      j["val_map_compensation"] = m->compensation->map;
      j["val_f1_compensation"] = m->compensation->f1_micro;
    }
  }
  return j;
}

// What must be the same on every rank: the config without the paths that only rank 0 reads
// (initial weights) or that may differ between machines (the data root).
std::string shared_settings(TrainConfig c) {
  c.data.clear();
  c.init.clear();
  c.spotlight_from.clear();
  c.copy_cam_to_both.clear();
  c.init_from.clear();
  return to_yaml(c);
}

void check_split(const TrainConfig& c, int world_size) {
  if (c.batch % world_size != 0)
    throw Error("batch " + std::to_string(c.batch) + ": the global batch must split evenly over " +
                std::to_string(world_size) + " ranks");
  if ((c.batch / world_size) % c.accumulate != 0)
    throw Error("accumulate " + std::to_string(c.accumulate) + ": must divide the per-rank batch " +
                std::to_string(c.batch / world_size));
}

std::vector<at::Tensor> optimized_parameters(const PolySgd& sgd) {
  std::vector<at::Tensor> out;
  for (const auto& g : sgd.groups()) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

}  // namespace

TrainSummary train(TrainConfig c, const TrainOptions& opt) {
  c.resolve();
  validate(net_options(c, 1).backbone);  // bad arch/strides/bn/tau/routing fail before RUN exists
  check_split(c, opt.world.world_size);
  World world(opt.world);
  world.agree("config", shared_settings(c), "the resolved config");
  refuse_output_inside_data_root(opt.run_dir, c.data, "--out");
  RunDir run(opt.run_dir, opt.resume, world.is_root(), opt.overwrite);
  int threads = c.threads;
  if (threads <= 0 && opt.local_world_size > 1) threads = std::max(1, available_cores() / opt.local_world_size);
  configure_runtime(threads);

  VocDataset ds = open_list(c, c.list);
  std::unique_ptr<VocDataset> val;
  if (!c.val_list.empty()) val = std::make_unique<VocDataset>(open_list(c, c.val_list));
  world.agree("data", std::to_string(ds.ids.size()) + " training ids, " + std::to_string(ds.num_classes()) + " classes, " +
                          std::to_string(val ? val->ids.size() : 0) + " validation ids",
              "the data set");

  torch::manual_seed(c.seed);
  AmrNet net(net_options(c, ds.num_classes()));
  if (!opt.resume && world.is_root()) initialize_weights(net, c);  // the other ranks get rank 0's
  net->train();

  BatchLoader loader(ds, train_loader_options(c, world, opt.device.is_cuda()));
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  if (steps_per_epoch < 1)
    throw Error("--list " + c.list + ": " + std::to_string(ds.ids.size()) + " images make no batch of " + std::to_string(c.batch));
  const int64_t max_step = steps_per_epoch * c.epochs;
  PolySgd sgd(param_groups(net, c), c.momentum, c.poly_power, max_step, c.warmup_steps);

  Position pos;
  if (opt.resume && world.is_root()) {
    pos = run.load_checkpoint(net, sgd);
    if (pos.epoch < 0 || pos.epoch > c.epochs || pos.step < 0 || pos.step > max_step || pos.samples < 0 ||
        pos.samples > static_cast<int64_t>(ds.ids.size()))
      throw Error(run.last_checkpoint() + ": its position (epoch " + std::to_string(pos.epoch) + ", step " +
                  std::to_string(pos.step) + ", sample " + std::to_string(pos.samples) + ") does not fit this run (" +
                  std::to_string(c.epochs) + " epochs, " + std::to_string(max_step) + " steps, " +
                  std::to_string(ds.ids.size()) + " images)");
  }
  share_root_state(world, net, sgd, pos);
  const c10::Device device = torch_device(opt.device, opt.world.local_rank);
  if (device.is_cuda()) {
    net->to(device);
    sgd.to(device);
  }
  run.open_log(opt.resume, pos.step);
  run.write_config(c);

  const LossOptions lopt = loss_options(c);
  GradientAverager averager(optimized_parameters(sgd));
  Progress progress(c, max_step, opt.quiet || !world.is_root());
  TrainSummary summary;
  // With one rank too: the same (synced) formulas, so 1 x N·B and N x B differ only in the
  // order of the sums.
  ScopedStatsAllReduce synced_stats(c.sync_stats ? StatsAllReduce([&world](std::vector<at::Tensor>& t) {
                                            world.all_reduce_sum(t, "the batch statistics all-reduce");
                                          })
                                        : StatsAllReduce());
  for (int64_t epoch = pos.epoch; epoch < c.epochs; ++epoch) {
    loader.start_epoch(epoch, epoch == pos.epoch ? pos.samples : 0);
    while (auto batch = loader.next()) {
      const auto t0 = std::chrono::steady_clock::now();
      sgd.zero_grad();
      StepLosses losses = forward_backward(net, batch->images.to(device, /*non_blocking=*/true),
                                           batch->labels.to(device, /*non_blocking=*/true), lopt, c.accumulate);
      const auto t_sync = std::chrono::steady_clock::now();
      if (world.distributed()) {
        std::vector<double> terms{losses.total, losses.cls, losses.cps, losses.area};
        averager.average(world, terms);
        for (double& t : terms) t /= world.size();
        losses.total = terms[0], losses.cls = terms[1], losses.cps = terms[2], losses.area = terms[3];
      }
      const double sync_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sync).count();
      if (!std::isfinite(losses.total))
        throw Error("step " + std::to_string(pos.step + 1) + ": loss is " + std::to_string(losses.total) +
                    "; stopped (lower lr?); " +
                    (fs::exists(run.last_checkpoint()) ? run.last_checkpoint() + " keeps the last good checkpoint"
                                                       : std::string("no checkpoint was written before it")));
      const double lr_now = sgd.lr(0, pos.step);  // the base (backbone) group
      sgd.step(pos.step);
      ++pos.step;
      pos.samples = loader.samples_consumed();

      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const int64_t images = batch->images.size(0) * world.size();
      nlohmann::json j = {{"type", "step"}, {"epoch", epoch}, {"step", pos.step}, {"loss", losses.total},
                          {"cls", losses.cls}, {"lr", lr_now}, {"images_per_s", images / dt}};
      if (world.distributed()) j["allreduce_s"] = sync_s;
      if (c.dual()) j["cps"] = losses.cps;
      if (c.area_weight_value() > 0) j["area"] = losses.area;
      run.log(j);
      summary.last_loss = losses.total;
      progress.step(epoch, pos.step, losses.total, lr_now, images);

      if (c.checkpoint_every > 0 && pos.step % c.checkpoint_every == 0) run.save_checkpoint(net, sgd, pos);
      if (opt.stop_after_steps > 0 && progress.steps() >= opt.stop_after_steps) {
        run.save_checkpoint(net, sgd, pos);
        summary.steps = pos.step;
        progress.end_line();
        return summary;
      }
    }
    progress.end_line();
    pos.epoch = epoch + 1;
    pos.samples = 0;
    std::optional<BranchMetrics> m;
    if (val) {
      ScopedStatsAllReduce per_rank{StatsAllReduce()};  // ranks may hold different numbers of validation batches
      m = validate_classification(net, *val, c, world);
      progress.validation(epoch, *m);
    }
    nlohmann::json line = epoch_line(epoch + 1, pos.step, m ? &*m : nullptr);
    if (world.distributed()) line["parameter_sums"] = parameter_checksums(world, net);
    run.log(line);
    run.save_epoch(net, epoch + 1);
    run.save_checkpoint(net, sgd, pos);
  }
  run.save_final(net);
  world.barrier("finishing");  // every rank exits once model.pt is written
  summary.steps = pos.step;
  summary.finished = true;
  summary.images_per_second = progress.images_per_second();
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

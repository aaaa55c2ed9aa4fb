#include "amr/train/trainer.h"

#include <torch/torch.h>

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
#include "amr/distributed/gradients.h"
#include "amr/base/error.h"
#include "amr/base/progress.h"
#include "amr/model/batch_stats.h"
#include "amr/model/model_file.h"
#include "amr/model/precise_bn.h"
#include "amr/base/runtime.h"
#include "amr/base/torch_compat.h"
#include "amr/train/data_parallel.h"
#include "amr/train/recalibrate.h"
#include "amr/train/run_dir.h"
#include "amr/train/training_data.h"
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

// Validation in eval mode and, where eval mode reads BatchNorm running statistics, with batch
// statistics; the branches whose two scores disagree.
struct Validation {
  BranchMetrics running;
  std::optional<BranchMetrics> batch;
  std::vector<std::string> stale;
};

void add_metrics(nlohmann::json& j, const BranchMetrics& m, const std::string& suffix) {
  j["val_map" + suffix] = m.spotlight.map;
  j["val_f1" + suffix] = m.spotlight.f1_micro;
  j["val_f1_macro" + suffix] = m.spotlight.f1_macro;
  if (m.compensation) {
    j["val_map_compensation" + suffix] = m.compensation->map;
    j["val_f1_compensation" + suffix] = m.compensation->f1_micro;
  }
}

void add_validation(nlohmann::json& j, const Validation& v) {
  add_metrics(j, v.running, "");
  if (v.batch) add_metrics(j, *v.batch, "_batch_stats");
  if (!v.stale.empty()) j["stale_statistics"] = v.stale;
}

nlohmann::json epoch_line(int64_t epoch, int64_t step, const Validation* v) {
  nlohmann::json j = {{"type", "epoch"}, {"epoch", epoch}, {"step", step}};
  if (v) add_validation(j, *v);
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

void check_position(const Position& pos, const TrainConfig& c, int64_t max_step, size_t images, const std::string& file) {
  if (pos.epoch < 0 || pos.epoch > c.epochs || pos.step < 0 || pos.step > max_step || pos.samples < 0 ||
      pos.samples > static_cast<int64_t>(images))
    throw Error(file + ": its position (epoch " + std::to_string(pos.epoch) + ", step " + std::to_string(pos.step) +
                ", sample " + std::to_string(pos.samples) + ") does not fit this run (" + std::to_string(c.epochs) +
                " epochs, " + std::to_string(max_step) + " steps, " + std::to_string(images) + " images)");
}

std::string progress_text(const TrainConfig& c, int64_t epoch, int64_t step, int64_t max_step, double loss, double lr,
                          double images_per_s, double eta_s, const std::string& tag) {
  std::ostringstream o;
  o << "epoch " << epoch + 1 << "/" << c.epochs << " step " << step << "/" << max_step << " loss " << std::fixed
    << std::setprecision(4) << loss << " lr " << std::setprecision(5) << lr << " " << std::setprecision(1) << images_per_s
    << " img/s ETA " << format_duration(eta_s) << tag;
  return o.str();
}

void print_validation(const std::string& when, const Validation& v) {
  const BranchMetrics& m = v.running;
  std::cerr << when << " validation: mAP " << std::setprecision(3) << m.spotlight.map << " F1 " << m.spotlight.f1_micro;
  if (m.compensation) std::cerr << " (compensation mAP " << m.compensation->map << " F1 " << m.compensation->f1_micro << ")";
  std::cerr << "\n";
  for (const auto& w : v.stale) std::cerr << "warning: " << when << ": " << w << "\n";
}

// The words the progress line carries while the last validation found stale statistics.
std::string stale_tag(const Validation& v) {
  std::string branches;
  for (const char* b : {"spotlight", "compensation"})
    for (const auto& w : v.stale)
      if (w.find(std::string("the ") + b + " branch") == 0) branches += (branches.empty() ? "" : ", ") + std::string(b);
  return branches.empty() ? "" : " [stale BatchNorm statistics: " + branches + "]";
}

// One training run in progress: set up by the constructor (config checks, ranks, run
// directory, data, network, optimizer, resumed position), then steps and epoch ends.
class Session {
 public:
  Session(TrainConfig config, const TrainOptions& opt, const Runtime& rt)
      : c_(resolved(std::move(config), opt, rt)),
        opt_(opt),
        world_(opt.world, torch_device(rt.device, opt.world.local_rank)),
        run_(checked_run_dir(c_, opt, world_)),
        ds_(open_training_list(c_, c_.list)),
        device_(torch_device(rt.device, opt.world.local_rank)),
        lopt_(loss_options(c_)) {
    if (!c_.val_list.empty()) val_ = std::make_unique<VocDataset>(open_training_list(c_, c_.val_list));
    world_.agree("data", std::to_string(ds_.ids.size()) + " training ids, " + std::to_string(ds_.num_classes()) +
                             " classes, " + std::to_string(val_ ? val_->ids.size() : 0) + " validation ids",
                 "the data set");
    torch::manual_seed(c_.seed);
    net_ = AmrNet(net_options(c_, ds_.num_classes()));
    if (!opt.resume && world_.is_root()) initialize_weights(net_, c_);  // the other ranks get rank 0's
    net_->train();
    loader_ = std::make_unique<BatchLoader>(ds_, train_loader_options(c_, world_, rt.device.is_cuda()));
    if (loader_->batches_per_epoch() < 1)
      throw Error("--list " + c_.list + ": " + std::to_string(ds_.ids.size()) + " images make no batch of " +
                  std::to_string(c_.batch));
    max_step_ = loader_->batches_per_epoch() * c_.epochs;
    sgd_ = std::make_unique<PolySgd>(param_groups(net_, c_), c_.momentum, c_.poly_power, max_step_, c_.warmup_steps);
    if (opt.resume && world_.is_root()) {
      pos_ = run_.load_checkpoint(net_, *sgd_);
      check_position(pos_, c_, max_step_, ds_.ids.size(), run_.last_checkpoint());
    }
    share_root_state(world_, net_, *sgd_, pos_);
    if (device_.is_cuda()) {
      net_->to(device_);
      sgd_->to(device_);
    }
    averager_ = std::make_unique<GradientAverager>(optimized_parameters(*sgd_));
    progress_ = std::make_unique<Progress>(max_step_, opt.quiet || !world_.is_root(), c_.log_every);
    run_.open_log(opt.resume, pos_.step);
    run_.write_config(c_);
  }

  TrainSummary run() {
    // With one rank too: the same (synced) formulas, so 1 x N*B and N x B differ only in the
    // order of the sums.
    ScopedStatsAllReduce synced_stats(*net_, c_.sync_stats ? StatsAllReduce([this](std::vector<at::Tensor>& t) {
                                        world_.all_reduce_sum(t, "the batch statistics all-reduce");
                                      })
                                                            : StatsAllReduce());
    for (int64_t epoch = pos_.epoch; epoch < c_.epochs; ++epoch) {
      loader_->start_epoch(epoch, epoch == pos_.epoch ? pos_.samples : 0);
      while (auto batch = loader_->next()) {
        step(epoch, *batch);
        if (c_.checkpoint_every > 0 && pos_.step % c_.checkpoint_every == 0) run_.save_checkpoint(net_, *sgd_, pos_);
        if (opt_.stop_after_steps && steps_ >= *opt_.stop_after_steps) {
          run_.save_checkpoint(net_, *sgd_, pos_);
          summary_.steps = pos_.step;
          progress_->end_line();
          return summary_;
        }
      }
      end_epoch(epoch);
    }
    precise_batch_norm();
    run_.save_final(net_);
    world_.barrier("finishing");  // every rank exits once model.pt is written
    summary_.steps = pos_.step;
    summary_.finished = true;
    summary_.notes = notes_;
    summary_.images_per_second = progress_->seconds() > 0 ? images_ / progress_->seconds() : 0;
    return summary_;
  }

 private:
  static TrainConfig resolved(TrainConfig c, const TrainOptions& opt, const Runtime& rt) {
    c.resolve();
    if (c.bf16 && !rt.device.is_cuda() && !cpu_has_native_bf16())
      throw Error("config precision: bf16 needs --device cuda or a CPU with native bfloat16 (avx512_bf16 or amx_bf16); "
                  "here autocast would emulate it, slower than fp32");
    validate(net_options(c, 1).backbone);  // bad arch/strides/bn/tau/routing fail before RUN exists
    check_split(c, opt.world.world_size);
    return c;
  }
  static RunDir checked_run_dir(const TrainConfig& c, const TrainOptions& opt, World& world) {
    world.agree("config", shared_settings(c), "the resolved config");
    refuse_output_inside_data_root(opt.run_dir, c.data, "--out");
    return RunDir(opt.run_dir, opt.resume, world.is_root(), opt.overwrite);
  }

  // Losses averaged over the ranks (the gradients with them), checked finite, then the update.
  void step(int64_t epoch, const Batch& batch) {
    const auto t0 = std::chrono::steady_clock::now();
    sgd_->zero_grad();
    StepLosses losses;
    {
      compat::Bf16AutocastScope autocast(device_.type(), c_.bf16);
      losses = forward_backward(net_, batch.images.to(device_, /*non_blocking=*/true),
                                batch.labels.to(device_, /*non_blocking=*/true), lopt_, c_.accumulate);
    }
    const auto t_sync = std::chrono::steady_clock::now();
    if (world_.distributed()) average_over_ranks(losses);
    const double sync_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sync).count();
    if (!std::isfinite(losses.total))
      throw Error("step " + std::to_string(pos_.step + 1) + ": loss is " + std::to_string(losses.total) +
                  "; stopped (lower lr?); " +
                  (fs::exists(run_.last_checkpoint()) ? run_.last_checkpoint() + " keeps the last good checkpoint"
                                                      : std::string("no checkpoint was written before it")));
    const double lr_now = sgd_->lr(0, pos_.step);  // the base (backbone) group
    sgd_->step(pos_.step);
    ++pos_.step;
    ++steps_;
    pos_.samples = loader_->samples_consumed();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int64_t images = batch.images.size(0) * world_.size();
    images_ += static_cast<double>(images);
    nlohmann::json j = {{"type", "step"}, {"epoch", epoch}, {"step", pos_.step}, {"loss", losses.total},
                        {"cls", losses.cls}, {"lr", lr_now}, {"images_per_s", images / dt}};
    if (world_.distributed()) j["allreduce_s"] = sync_s;
    if (c_.dual()) j["cps"] = losses.cps;
    if (c_.area_weight_value() > 0) j["area"] = losses.area;
    run_.log(j);
    summary_.last_loss = losses.total;
    progress_->update(pos_.step, progress_text(c_, epoch, pos_.step, max_step_, losses.total, lr_now,
                                              images_ / progress_->seconds(), progress_->eta(steps_, pos_.step), stale_tag_));
  }

  void average_over_ranks(StepLosses& losses) {
    std::vector<double> terms{losses.total, losses.cls, losses.cps, losses.area};
    averager_->average(world_, terms);
    for (double& t : terms) t /= world_.size();
    losses.total = terms[0], losses.cls = terms[1], losses.cps = terms[2], losses.area = terms[3];
  }

  // Validation, the epoch's log line, its model and a checkpoint.
  void end_epoch(int64_t epoch) {
    progress_->end_line();
    pos_.epoch = epoch + 1;
    pos_.samples = 0;
    std::optional<Validation> v;
    if (val_) {
      v = validation();
      if (!opt_.quiet && world_.is_root()) print_validation("epoch " + std::to_string(epoch + 1), *v);
      stale_tag_ = stale_tag(*v);
      if (epoch + 1 == c_.epochs) notes_for_last_epoch(*v);
    }
    nlohmann::json line = epoch_line(epoch + 1, pos_.step, v ? &*v : nullptr);
    if (world_.distributed()) line["parameter_sums"] = parameter_checksums(world_, net_);
    run_.log(line);
    run_.save_epoch(net_, epoch + 1);
    run_.save_checkpoint(net_, *sgd_, pos_);
  }

  Validation validation() {
    ScopedStatsAllReduce per_rank{*net_, StatsAllReduce()};  // ranks may hold different numbers of validation batches
    Validation v;
    v.running = validate_classification(net_, *val_, c_, world_);
    if (!running_stat_batch_norms(*net_).empty()) {
      v.batch = validate_classification(net_, *val_, c_, world_, StatsSource::Batch);
      v.stale = stale_statistics_warnings(v.running, *v.batch);
    }
    return v;
  }

  void notes_for_last_epoch(const Validation& v) {
    notes_.clear();
    for (const auto& w : v.stale) notes_.push_back("last epoch: " + w);
  }

  // After the last epoch, as a resumed run that stopped here does it again: the running
  // statistics averaged over training batches (precise_bn), then validated once more.
  void precise_batch_norm() {
    if (c_.precise_bn_value() < 1 || running_stat_batch_norms(*net_).empty()) return;
    if (!opt_.quiet && world_.is_root())
      std::cerr << "precise BatchNorm: averaging the statistics of up to " << c_.precise_bn_value() << " training batches\n";
    const PreciseBnResult r = recalibrate_on_training_data(net_, *loader_, c_.epochs, c_.precise_bn_value(), device_, world_);
    nlohmann::json line = {{"type", "precise_bn"}, {"step", pos_.step}, {"layers", r.layers}, {"batches", r.batches}};
    std::string done = "precise BatchNorm: " + std::to_string(r.layers) + " layers, statistics of " +
                       std::to_string(r.batches) + " training batches";
    if (val_) {
      const Validation v = validation();
      add_validation(line, v);
      if (!opt_.quiet && world_.is_root()) print_validation("after precise BatchNorm", v);
      if (!notes_.empty()) notes_.push_back(done + (v.stale.empty() ? ": repaired" : ": NOT repaired"));
      for (const auto& w : v.stale) notes_.push_back("after precise BatchNorm: " + w);
    }
    run_.log(line);
  }

  const TrainConfig c_;
  const TrainOptions& opt_;
  World world_;
  RunDir run_;
  VocDataset ds_;
  std::unique_ptr<VocDataset> val_;
  c10::Device device_;
  LossOptions lopt_;
  AmrNet net_{nullptr};
  std::unique_ptr<BatchLoader> loader_;
  int64_t max_step_ = 0;
  std::unique_ptr<PolySgd> sgd_;
  std::unique_ptr<GradientAverager> averager_;
  std::unique_ptr<Progress> progress_;
  Position pos_;
  TrainSummary summary_;
  std::string stale_tag_;
  std::vector<std::string> notes_;
  int64_t steps_ = 0;  // taken by this process (a resumed run counts from its resumption)
  double images_ = 0;
};

}  // namespace

TrainSummary train(TrainConfig c, const TrainOptions& opt, const Runtime& rt) {
  Session session(std::move(c), opt, rt);
  return session.run();
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

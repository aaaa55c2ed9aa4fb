#include <iostream>

#include "amr/base/error.h"
#include "amr/seg/seg_trainer.h"
#include "commands.h"

namespace amr::cli {
namespace {

struct TrainSegArgs {
  std::string config;
  std::vector<std::string> sets;
  std::optional<std::string> data, list, masks, val_list, init;
  std::optional<int64_t> iterations, batch;
  std::optional<double> lr;
  SegRunOptions run;
  WorldFlags world;
};

SegTrainConfig resolve(const TrainSegArgs& a) {
  std::string base = a.config;
  if (a.run.resume) {
    if (!base.empty()) throw Error("--resume: takes the run's own config.yaml; drop --config");
    base = a.run.out + "/config.yaml";
  }
  SegTrainConfig c = base.empty() ? SegTrainConfig{} : seg_config_from_yaml(base);
  if (a.data) c.data = *a.data;
  if (a.list) c.list = *a.list;
  if (a.masks) c.masks = *a.masks;
  if (a.val_list) c.val_list = *a.val_list;
  if (a.init) c.init = *a.init;
  if (a.iterations) c.iterations = *a.iterations;
  if (a.batch) c.batch = *a.batch;
  if (a.lr) c.lr = *a.lr;
  for (const std::string& s : a.sets) set_seg_config_key(c, s);
  return c;
}

}  // namespace

void add_train_seg(CLI::App& app, const RuntimeFlags& runtime) {
  auto a = std::make_shared<TrainSegArgs>();
  auto* cmd = app.add_subcommand("train-seg", "train DeepLab (v2 / v3+) on pixel masks: IRN's pseudo-masks, amr label's, or ground truth");
  cmd->add_option("--config", a->config, "YAML config (configs/voc-deeplab-v2.yaml: the reference's schedule)");
  cmd->add_option("--out", a->run.out, "run directory (config.yaml, log.jsonl, last.pt, model.pt)")->required();
  add_optional(cmd, "--data", a->data, "dataset root (JPEGImages/)");
  add_optional(cmd, "--list", a->list, "training ids");
  add_optional(cmd, "--masks", a->masks, "training masks <id>.png (amr masks / amr label output); default: the ground truth");
  add_optional(cmd, "--val-list", a->val_list, "validation ids, scored (single scale) against the ground truth");
  add_optional(cmd, "--init", a->init, "initial weights: torchvision ResNet-50/101 .pth, the reference's DeepLab .pth, an amr seg model");
  add_optional(cmd, "--iterations", a->iterations, "iterations (reference 20000)")->check(at_least(1));
  add_optional(cmd, "--batch", a->batch, "images per sub-batch (reference 5; iter_size sub-batches per iteration)")->check(at_least(1));
  add_optional(cmd, "--lr", a->lr, "learning rate of the backbone (head weights 10x, biases 20x; reference 2.5e-4)")->check(above(0));
  cmd->add_option("--set", a->sets, "key=value over the config (any key of config.yaml)");
  cmd->add_flag("--resume", a->run.resume, "continue RUN from last.pt (RUN/config.yaml is the config)");
  cmd->add_option("--stop-after", a->run.stop_after, "stop after N iterations (last.pt written; --resume continues)")->check(CLI::PositiveNumber);
  cmd->add_flag("--quiet", a->run.quiet, "no progress output");
  add_world_flags(cmd, a->world);
  add_threads(cmd, runtime);
  add_device(cmd, runtime);
  on_run(cmd, runtime, [a](const Runtime& rt) {
    SegRunOptions opt = a->run;
    opt.world = resolve_world(a->world);
    const SegTrainSummary s = train_segmentation(resolve(*a), opt, rt);
    std::cout << (s.finished ? "finished" : "stopped") << " after " << s.iterations << " iterations, loss " << s.last_loss;
    if (s.val_miou >= 0) std::cout << ", val mIoU " << s.val_miou * 100 << " (single scale)";
    std::cout << (s.finished ? "; model in " + s.model : std::string("; resume with --resume")) << "\n";
  });
}

}  // namespace amr::cli

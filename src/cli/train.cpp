#include <iostream>

#include "amr/base/error.h"
#include "amr/distributed/world.h"
#include "amr/io/config_table.h"
#include "amr/train/trainer.h"
#include "commands.h"

namespace amr::cli {
namespace {

// A flag bound to a config field (the member gives its type).
template <typename T>
void add_config_flag(CLI::App* cmd, const std::string& flag, const std::string& key, T TrainConfig::*,
                     const std::shared_ptr<TrainConfigFlags>& flags, const std::string& help,
                     std::optional<CLI::Validator> check = std::nullopt) {
  auto* o = add_config_option<T>(cmd, flag, key, flags, train_config_table(), help);
  if (check) o->check(*check);
}

}  // namespace

void add_train(CLI::App& app, const RuntimeFlags& runtime) {
  struct Args {
    std::string config;
    std::vector<std::string> set;
    TrainOptions opt;
    WorldFlags world;
  };
  auto a = std::make_shared<Args>();
  auto f = std::make_shared<TrainConfigFlags>();
  auto* cmd = app.add_subcommand("train", "train the cam, amr or amr-improved variant");
  cmd->add_option("--out", a->opt.run_dir, "run directory (config.yaml, log.jsonl, last.pt, model.pt)")->required();
  cmd->add_option("--config", a->config, "YAML config (see configs/; `_base_: other.yaml` composes)");
  add_config_flag(cmd, "--data", "data", &TrainConfig::data, f, "dataset root (VOC layout)");
  add_config_flag(cmd, "--list", "list", &TrainConfig::list, f, "training ids (file, or name under --data)");
  add_config_flag(cmd, "--val-list", "val_list", &TrainConfig::val_list, f, "validation ids: classification mAP/F1 per epoch");
  add_config_flag(cmd, "--variant", "variant", &TrainConfig::variant, f, "cam | amr | amr-improved");
  add_config_flag(cmd, "--init", "init", &TrainConfig::init, f,
                  "pretrained backbone (`amr import-weights` output, or a run whose spotlight backbone is taken): "
                  "every backbone not set by --spotlight-from");
  add_config_flag(cmd, "--spotlight-from", "spotlight_from", &TrainConfig::spotlight_from, f,
                  "amr variants, the official recipe: a cam run -> spotlight + classifier (compensation from --init, "
                  "AMMs and classifier2 fresh)");
  add_config_flag(cmd, "--copy-cam-to-both", "copy_cam_to_both", &TrainConfig::copy_cam_to_both, f,
                  "amr variants, not the official recipe: a cam run copied into both branches, classifier2 = classifier");
  add_config_flag(cmd, "--init-from", "init_from", &TrainConfig::init_from, f,
                  "a whole model: a dual-branch model (amr run, imported official weights) or, for cam, a cam run");
  add_config_flag(cmd, "--epochs", "epochs", &TrainConfig::epochs, f, "epochs", at_least(1));
  add_config_flag(cmd, "--batch", "batch", &TrainConfig::batch, f, "batch size", at_least(1));
  add_config_flag(cmd, "--lr", "lr", &TrainConfig::lr, f, "base learning rate", above(0));
  add_config_flag(cmd, "--workers", "workers", &TrainConfig::workers, f, "data loader threads", at_least(0));
  cmd->add_flag_function("--labels-from-masks", [f](int64_t) { f->set("labels_from_masks", true); },
                         "image labels from masks, recomputed on each crop");
  cmd->add_option("--set", a->set, "override any config key: --set key=value (repeatable)");
  cmd->add_flag("--resume", a->opt.resume, "continue RUN from last.pt (RUN/config.yaml is the base config)");
  cmd->add_flag("--overwrite", a->opt.overwrite, "start again in an --out that holds a run (its checkpoints and models are removed)");
  add_optional(cmd, "--stop-after-steps", a->opt.stop_after_steps, "stop after N optimizer steps, checkpointed (resumable)")
      ->check(at_least(1));
  cmd->add_flag("--quiet", a->opt.quiet, "no progress output");
  add_world_flags(cmd, a->world);
  add_threads(cmd, runtime);
  add_device(cmd, runtime);
  on_run(cmd, runtime, [a, f](const Runtime& rt) {
    std::string base = a->config;
    if (a->opt.resume) {
      if (!base.empty()) throw Error("--resume: takes the run's own config.yaml; drop --config");
      base = a->opt.run_dir + "/config.yaml";
    }
    TrainOptions opt = a->opt;
    opt.world = resolve_world(a->world);
    const TrainSummary s = train(load_train_config(base, *f, a->set), opt, rt);
    std::cout << (s.finished ? "finished" : "stopped") << " after " << s.steps << " steps, loss " << s.last_loss
              << (s.finished ? ", " + std::to_string(s.images_per_second) + " img/s; weights in " + opt.run_dir + "/model.pt"
                             : std::string(", resume with --resume"))
              << "\n";
    for (const auto& note : s.notes) std::cout << "note: " << note << "\n";
  });
}

}  // namespace amr::cli

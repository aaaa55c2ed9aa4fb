#include <iomanip>
#include <iostream>
#include <sstream>

#include "amr/data/scenes.h"
#include "amr/io/error.h"
#include "amr/train/trainer.h"
#include "commands.h"

namespace amr::cli {

void add_scenes(CLI::App& app) {
  auto o = std::make_shared<ScenesOptions>();
  auto objects = std::make_shared<std::string>("1:4");
  auto classes = std::make_shared<std::string>();
  auto scale = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "scenes", "generate FashionScenes (multi-object Fashion-MNIST scenes) or PartScenes (body + class part) in VOC layout");
  cmd->add_option("--kind", o->kind, "fashion (default) | parts (PartScenes: large bodies + small class-specific parts)");
  cmd->add_option("--body-signal", o->body_signal,
                  "parts: probability that each body attribute is the class's signature (0: only the part tells the class)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--fashion-mnist", o->fashion_mnist_dir, "directory of the Fashion-MNIST IDX .gz files");
  cmd->add_option("--out", o->out, "output dataset root")->required();
  cmd->add_option("--train", o->train, "training scenes (Fashion-MNIST train split)");
  cmd->add_option("--val", o->val, "validation scenes (Fashion-MNIST test split)");
  cmd->add_option("--size", o->size, "scene side in pixels");
  cmd->add_option("--objects", *objects, "objects per scene, MIN:MAX");
  cmd->add_option("--seed", o->seed, "random seed (same seed, same bytes)");
  cmd->add_option("--background", o->background, "textured (default) | flat (one colour per scene)");
  cmd->add_option("--object-scale", *scale, "object side / scene side, MIN:MAX (default 0.35:0.8 for one object, 0.35:0.6 for several)");
  cmd->add_option("--min-contrast", o->min_contrast, "object vs background luminance difference, 0-255 (default 0: any)")
      ->check(CLI::Range(0.0, 200.0));
  cmd->add_option("--classes", *classes,
                  "classes to draw from, comma list (default: all; parts: disc,triangle,cross,square,star,bar)");
  add_threads(cmd);
  on_run(cmd, [o, objects, classes, scale](const Runtime& rt) {
    parse_objects(*objects, o.get());
    if (!scale->empty()) parse_object_scale(*scale, o.get());
    if (!classes->empty()) o->classes = parse_scene_classes(*classes, o->kind);
    o->threads = rt.threads;
    generate_scenes(*o);
    std::cout << "wrote " << o->train << " train + " << o->val << " val " << (o->kind == "parts" ? "PartScenes" : "scenes")
              << " (" << o->size << "x" << o->size << ", "
              << o->min_objects << "-" << o->max_objects << " objects) to " << o->out << "\n";
  });
}

void add_train(CLI::App& app) {
  struct Args {
    std::string config, out, data, list, val_list, variant, init, init_from, spotlight_from, copy_cam_to_both;
    std::vector<std::string> set;
    bool resume = false, overwrite = false, quiet = false, labels_from_masks = false;
    int64_t stop_after = 0, epochs = 0, batch = 0;
    int workers = -1;
    double lr = 0;
    amr::WorldOptions world{-1, -1, -1, "", 0, 300};
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("train", "train the cam, amr or amr-improved variant");
  cmd->add_option("--out", a->out, "run directory (config.yaml, log.jsonl, last.pt, model.pt)")->required();
  cmd->add_option("--config", a->config, "YAML config (see configs/)");
  cmd->add_option("--data", a->data, "dataset root (VOC layout)");
  cmd->add_option("--list", a->list, "training ids (file, or name under --data)");
  cmd->add_option("--val-list", a->val_list, "validation ids: classification mAP/F1 per epoch");
  cmd->add_option("--variant", a->variant, "cam | amr | amr-improved");
  cmd->add_option("--init", a->init,
                  "pretrained backbone (`amr import-weights` output, or a run whose spotlight backbone is taken): "
                  "every backbone not set by --spotlight-from");
  cmd->add_option("--spotlight-from", a->spotlight_from,
                  "amr variants, the official recipe: a cam run -> spotlight + classifier (compensation from --init, "
                  "AMMs and classifier2 fresh)");
  cmd->add_option("--copy-cam-to-both", a->copy_cam_to_both,
                  "amr variants, not the official recipe: a cam run copied into both branches, classifier2 = classifier");
  cmd->add_option("--init-from", a->init_from, "a whole model: a dual-branch model (amr run, imported official weights) or, for cam, a cam run");
  cmd->add_option("--epochs", a->epochs, "epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", a->batch, "batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a->lr, "base learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--workers", a->workers, "data loader threads")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--labels-from-masks", a->labels_from_masks, "image labels from masks, recomputed on each crop");
  cmd->add_option("--set", a->set, "override any config key: --set key=value (repeatable)");
  cmd->add_flag("--resume", a->resume, "continue RUN from last.pt (RUN/config.yaml is the base config)");
  cmd->add_flag("--overwrite", a->overwrite, "start again in an --out that holds a run (its checkpoints and models are removed)");
  cmd->add_option("--stop-after-steps", a->stop_after, "stop after N optimizer steps, checkpointed (resumable)");
  cmd->add_flag("--quiet", a->quiet, "no progress output");
  auto* dist = "data-parallel (c10d Gloo; torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT when absent)";
  cmd->add_option("--world-size", a->world.world_size, "number of ranks (processes) of the job")->group(dist);
  cmd->add_option("--rank", a->world.rank, "this process's rank, 0 .. world size - 1 (rank 0 writes --out)")->group(dist);
  cmd->add_option("--master-addr", a->world.master_addr, "rank 0's address (default 127.0.0.1)")->group(dist);
  cmd->add_option("--master-port", a->world.master_port, "rank 0's TCP port (default 29500)")->group(dist);
  cmd->add_option("--dist-timeout", a->world.timeout_s, "seconds before a missing or dead rank is an error (default 300)")
      ->group(dist);
  add_threads(cmd);
  add_device(cmd);
  on_run(cmd, [a](const Runtime& rt) {
    std::vector<std::string> set;
    auto put = [&](const std::string& k, const std::string& v) { set.push_back(k + "=" + v); };
    if (!a->data.empty()) put("data", a->data);
    if (!a->list.empty()) put("list", a->list);
    if (!a->val_list.empty()) put("val_list", a->val_list);
    if (!a->variant.empty()) put("variant", a->variant);
    if (!a->init.empty()) put("init", a->init);
    if (!a->init_from.empty()) put("init_from", a->init_from);
    if (!a->spotlight_from.empty()) put("spotlight_from", a->spotlight_from);
    if (!a->copy_cam_to_both.empty()) put("copy_cam_to_both", a->copy_cam_to_both);
    if (a->epochs) put("epochs", std::to_string(a->epochs));
    if (a->batch) put("batch", std::to_string(a->batch));
    if (a->lr > 0) {
      std::ostringstream lr;  // every digit: std::to_string would turn 1e-7 into 0.000000
      lr << std::setprecision(17) << a->lr;
      put("lr", lr.str());
    }
    if (a->workers >= 0) put("workers", std::to_string(a->workers));
    if (a->labels_from_masks) put("labels_from_masks", "true");
    if (threads_flag() > 0) put("threads", std::to_string(threads_flag()));
    set.insert(set.end(), a->set.begin(), a->set.end());
    std::string base = a->config;
    if (a->resume) {
      if (!base.empty()) throw Error("--resume: takes the run's own config.yaml; drop --config");
      base = a->out + "/config.yaml";
    }
    TrainConfig cfg = load_train_config(base, set);
    TrainOptions opt;
    opt.run_dir = a->out;
    opt.resume = a->resume;
    opt.overwrite = a->overwrite;
    opt.stop_after_steps = a->stop_after;
    opt.quiet = a->quiet;
    opt.world = resolve_world(a->world);
    opt.device = rt.device;
    opt.local_world_size = local_world_size();
    TrainSummary s = train(cfg, opt);
    std::cout << (s.finished ? "finished" : "stopped") << " after " << s.steps << " steps, loss " << s.last_loss
              << (s.finished ? ", " + std::to_string(s.images_per_second) + " img/s; weights in " + a->out + "/model.pt" : std::string(", resume with --resume"))
              << "\n";
  });
}

}  // namespace amr::cli

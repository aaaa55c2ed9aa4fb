#include <iostream>

#include "amr/train/irn_trainer.h"
#include "commands.h"

namespace amr::cli {
namespace {

struct TrainIrnArgs {
  std::string config, out;
  std::vector<std::string> sets;
  std::optional<std::string> data, list, labels, init;
  std::optional<int64_t> epochs, batch;
  std::optional<double> lr;
  IrnRunOptions run;
};

IrnTrainConfig resolve(const TrainIrnArgs& a) {
  IrnTrainConfig c = a.config.empty() ? IrnTrainConfig{} : irn_config_from_yaml(a.config);
  if (a.data) c.data = *a.data;
  if (a.list) c.list = *a.list;
  if (a.labels) c.labels = *a.labels;
  if (a.init) c.init = *a.init;
  if (a.epochs) c.epochs = *a.epochs;
  if (a.batch) c.batch = *a.batch;
  if (a.lr) c.lr = *a.lr;
  for (const std::string& s : a.sets) set_irn_config_key(c, s);
  return c;
}

}  // namespace

void add_train_irn(CLI::App& app, const RuntimeFlags& runtime) {
  auto a = std::make_shared<TrainIrnArgs>();
  auto* cmd = app.add_subcommand("train-irn", "train IRN's inter-pixel relation network on IR labels (step/train_irn.py)");
  cmd->add_option("--config", a->config, "YAML config (configs/voc-official-irn.yaml: the official schedule)");
  cmd->add_option("--out", a->out, "run directory (config.yaml, log.jsonl, last.pt, model.pt)")->required();
  add_optional(cmd, "--data", a->data, "dataset root (JPEGImages/)");
  add_optional(cmd, "--list", a->list, "training ids");
  add_optional(cmd, "--labels", a->labels, "IR label directory (amr label --fg 0.3 --bg 0.05 --crf)");
  add_optional(cmd, "--init", a->init, "backbone weights: torchvision .pth, an amr model (its spotlight) or res50_irn.pth");
  add_optional(cmd, "--epochs", a->epochs, "epochs (official 3)");
  add_optional(cmd, "--batch", a->batch, "batch size (official 32)");
  add_optional(cmd, "--lr", a->lr, "learning rate of the boundary branch (the displacement branch gets 10x; official 0.1)");
  cmd->add_option("--set", a->sets, "key=value over the config (any key of config.yaml)");
  cmd->add_flag("--resume", a->run.resume, "continue RUN from last.pt");
  cmd->add_option("--stop-after-epochs", a->run.stop_after_epochs, "stop after N epochs (last.pt written; --resume continues)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--quiet", a->run.quiet, "no progress output");
  add_threads(cmd, runtime);
  add_device(cmd, runtime);
  on_run(cmd, runtime, [a](const Runtime& rt) {
    a->run.out = a->out;
    const IrnTrainSummary s = train_irn(resolve(*a), a->run, rt);
    if (s.finished) std::cout << "trained IRN for " << s.steps << " steps (last loss " << s.last_loss << "): " << s.model << "\n";
    else std::cout << "stopped after " << s.steps << " steps (last loss " << s.last_loss << "); --resume continues " << a->out << "\n";
  });
}

}  // namespace amr::cli

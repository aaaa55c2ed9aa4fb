#include <iomanip>
#include <iostream>

#include "amr/train/recalibrate.h"
#include "commands.h"

namespace amr::cli {
namespace {

void print_metrics(const std::string& when, const BranchMetrics& m) {
  std::cout << when << ": spotlight mAP " << std::fixed << std::setprecision(3) << m.spotlight.map << " F1 "
            << m.spotlight.f1_micro;
  if (m.compensation) std::cout << ", compensation mAP " << m.compensation->map << " F1 " << m.compensation->f1_micro;
  std::cout << "\n";
}

}  // namespace

void add_recalibrate(CLI::App& app, const RuntimeFlags& runtime) {
  auto o = std::make_shared<RecalibrateOptions>();
  auto* cmd = app.add_subcommand("recalibrate",
                                 "precise BatchNorm on a finished run: running statistics averaged over training batches, "
                                 "written to a new model file beside model.pt");
  cmd->add_option("--run", o->run_dir, "training run directory (config.yaml, model.pt)")->required();
  cmd->add_option("--from", o->from, "the run's model file to start from (default RUN/model.pt; e.g. RUN/epoch_3.pt)");
  cmd->add_option("--data", o->data, "dataset root, when it moved since training (default: the run's)");
  add_optional(cmd, "--batches", o->batches, "training batches to average (default: the run's precise_bn, else 200)")
      ->check(at_least(1));
  cmd->add_option("--out", o->out, "model file to write (default RUN/model.precise-bn.pt; never RUN/model.pt nor --from)");
  cmd->add_flag("--overwrite", o->overwrite, "replace an existing --out");
  add_threads(cmd, runtime);
  add_device(cmd, runtime);
  on_run(cmd, runtime, [o](const Runtime& rt) {
    const RecalibrateSummary s = recalibrate_run(*o, rt);
    if (s.before) print_metrics("validation before", *s.before);
    if (s.after) print_metrics("validation after ", *s.after);
    std::cout << "recalibrated " << s.result.layers << " BatchNorm layers over " << s.result.batches
              << " training batches; wrote " << s.out << " (amr cam --weights " << s.out << ")\n";
  });
}

}  // namespace amr::cli

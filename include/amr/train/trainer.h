#pragma once
#include <optional>
#include <string>
#include <vector>

#include "amr/distributed/world.h"
#include "amr/model/amr_net.h"
#include "amr/base/runtime.h"
#include "amr/model/losses.h"
#include "amr/train/config.h"
#include "amr/train/model_init.h"
#include "amr/train/optimizer.h"

namespace amr {

struct TrainOptions {
  std::string run_dir;
  bool resume = false;
  bool overwrite = false;  // start again in a directory that holds a run (else refused)
  std::optional<int64_t> stop_after_steps;  // stop (as if interrupted) after this many optimizer steps
  bool quiet = false;
  // Data-parallel: this process's rank in a job of world.world_size (resolved, see
  // resolve_world); `batch` stays the global batch, split evenly over the ranks.
  WorldOptions world;
};

struct TrainSummary {
  int64_t steps = 0;
  double last_loss = 0;
  double images_per_second = 0;
  bool finished = false;  // all epochs done (model.pt written)
  // What the user must know about the result, one sentence each: branches whose eval-mode
  // validation collapsed against their batch-statistics validation, and whether precise
  // BatchNorm repaired them.
  std::vector<std::string> notes;
};

// `amr train`: trains the cam / amr / amr-improved variant into a RunDir (config.yaml,
// log.jsonl, last.pt (resumable), epoch_<n>.pt, model.pt). The loop reads as the algorithm:
// batch -> forward_backward -> optimizer step -> log; per epoch validation (eval mode, and with
// batch statistics where BatchNorm running statistics are read) and checkpoints; after the last
// epoch precise BatchNorm (config precise_bn), then model.pt.
// Data-parallel (opt.world): every rank runs this loop on its share of each global batch, the
// gradients are averaged over the ranks before the step, rank 0 alone writes RUN. The networks
// run on rt.device (cuda without an index: the local rank's GPU).
TrainSummary train(TrainConfig config, const TrainOptions& opt, const Runtime& rt = Runtime{});


// The optimizer groups of the official recipe: spotlight backbone (lr x lr_mult_backbone),
// compensation backbone (x lr_mult_compensation), classifiers (x lr_mult_classifier); frozen
// parameters are left out (the official SGD skips them: their gradient is None).
std::vector<ParamGroup> param_groups(AmrNet& net, const TrainConfig& c);
LossOptions loss_options(const TrainConfig& c);

// One optimizer step's forward and backward passes (gradients accumulated over `accumulate`
// equal micro-batches); the loss terms averaged over them. The caller steps the optimizer.
struct StepLosses {
  double total = 0, cls = 0, cls_s = 0, cls_c = 0, cps = 0, area = 0;
};
StepLosses forward_backward(AmrNet& net, const at::Tensor& images, const at::Tensor& labels, const LossOptions& lopt,
                            int64_t accumulate);

// Loads RUN/config.yaml (or a weights file's sibling config) and the weights of a run.
struct LoadedRun {
  TrainConfig config;
  AmrNet net{nullptr};
};
LoadedRun load_run(const std::string& run_dir, int64_t num_classes_or_0);

}  // namespace amr

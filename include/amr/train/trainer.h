#pragma once
#include <string>

#include "amr/model/amr_net.h"
#include "amr/model/losses.h"
#include "amr/train/config.h"
#include "amr/train/optimizer.h"

namespace amr {

struct TrainOptions {
  std::string run_dir;
  bool resume = false;
  int64_t stop_after_steps = 0;  // > 0: stop (as if interrupted) after this many optimizer steps
  bool quiet = false;
};

struct TrainSummary {
  int64_t steps = 0;
  double last_loss = 0;
  double images_per_second = 0;
  bool finished = false;  // all epochs done (model.pt written)
};

// `amr train`: trains the cam / amr / amr-improved variant, writing RUN/config.yaml,
// RUN/log.jsonl, RUN/last.pt (resumable), RUN/epoch_<n>.pt and RUN/model.pt (final weights).
TrainSummary train(TrainConfig config, const TrainOptions& opt);

// The network a resolved config describes, for `num_classes` foreground classes.
AmrNetOptions net_options(const TrainConfig& c, int64_t num_classes);

// Initial weights from the config's init / spotlight_from / copy_cam_to_both / init_from. The
// official recipe (QUIRKS.md 9): spotlight + classifier from a cam run, the compensation
// backbone from pretrained weights, its AMMs and classifier2 fresh (PyTorch's default init).
void initialize_weights(AmrNet& net, const TrainConfig& c);

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

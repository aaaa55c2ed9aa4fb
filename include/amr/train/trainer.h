#pragma once
#include <string>

#include "amr/model/amr_net.h"
#include "amr/train/config.h"

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

// Loads RUN/config.yaml (or a weights file's sibling config) and the weights of a run.
struct LoadedRun {
  TrainConfig config;
  AmrNet net{nullptr};
};
LoadedRun load_run(const std::string& run_dir, int64_t num_classes_or_0);

}  // namespace amr

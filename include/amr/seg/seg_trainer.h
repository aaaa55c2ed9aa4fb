#pragma once
#include <cstdint>
#include <string>

#include "amr/base/runtime.h"
#include "amr/distributed/world.h"
#include "amr/seg/seg_config.h"

namespace amr {

struct SegRunOptions {
  std::string out;            // the run directory
  bool resume = false, quiet = false;
  int64_t stop_after = 0;     // > 0: stop after this many iterations of this invocation (last.pt written)
  WorldOptions world;         // data-parallel: the iteration's sub-batches are shared by the ranks
};

struct SegTrainSummary {
  int64_t iterations = 0;     // done in total
  bool finished = false;      // model.pt written
  double last_loss = 0;
  double val_miou = -1;       // the last validation mIoU (-1: none)
  std::string model;          // RUN/model.pt
};

// `amr train-seg`: trains DeepLab on the masks into opt.out: config.yaml, log.jsonl (a line per
// iteration and per validation), last.pt (every save_every iterations: --resume continues from
// it), model.pt (with its description). Sample order and augmentation are drawn from (seed,
// epoch, position): a resumed run continues exactly. With several ranks, each rank computes
// iter_size / world_size of the iteration's sub-batches and the gradients are averaged: the
// same step as one process.
SegTrainSummary train_segmentation(const SegTrainConfig& c, const SegRunOptions& opt, const Runtime& rt);

}  // namespace amr

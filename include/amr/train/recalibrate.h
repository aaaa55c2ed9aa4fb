#pragma once
#include <optional>
#include <string>

#include <c10/core/Device.h>

#include "amr/base/runtime.h"
#include "amr/data/loader.h"
#include "amr/distributed/world.h"
#include "amr/model/amr_net.h"
#include "amr/model/precise_bn.h"
#include "amr/train/validation.h"

namespace amr {

// Precise BatchNorm on training data: `batches` batches (at most one epoch's) of `loader`'s
// epoch `epoch`, on `device`; in a data-parallel job every rank runs its share and the
// averages are taken over all ranks' batches. The training flag of `net` is kept.
PreciseBnResult recalibrate_on_training_data(AmrNet& net, BatchLoader& loader, int64_t epoch, int64_t batches,
                                             c10::Device device, const World& world);

// `amr recalibrate`: precise BatchNorm on a finished run, written beside its model.
struct RecalibrateOptions {
  std::string run_dir;
  std::string from;                // the run's model to start from (default RUN/model.pt; e.g. RUN/epoch_3.pt)
  std::string data;                // the data root, when it moved since training (default: the run's)
  std::string out;                 // default RUN/model.precise-bn.pt; never RUN/model.pt nor `from`
  std::optional<int64_t> batches;  // default: the run's precise_bn, or 200 where it was 0
  bool overwrite = false;          // replace an existing --out
};
struct RecalibrateSummary {
  std::string out;
  PreciseBnResult result;
  std::optional<BranchMetrics> before, after;  // eval mode, when the run has a validation list
};
RecalibrateSummary recalibrate_run(const RecalibrateOptions& opt, const Runtime& rt);

}  // namespace amr

#pragma once
#include <optional>

#include "amr/data/voc.h"
#include "amr/distributed/world.h"
#include "amr/eval/classification.h"
#include "amr/model/amr_net.h"
#include "amr/train/config.h"

namespace amr {

// Classification quality on the validation list after an epoch: center crops of the training
// crop size, no augmentation, eval mode; per branch. In a data-parallel job each rank scores
// its share of the list and the scores are summed over the ranks: every rank gets the metrics.
struct BranchMetrics {
  ClassificationMetrics spotlight;
  std::optional<ClassificationMetrics> compensation;  // dual models
};
BranchMetrics validate_classification(AmrNet& net, const VocDataset& val, const TrainConfig& c,
                                      const World& world);

}  // namespace amr

#pragma once
#include <optional>

#include "amr/data/voc.h"
#include "amr/eval/classification.h"
#include "amr/model/amr_net.h"
#include "amr/train/config.h"

namespace amr {

// Classification quality on the validation list after an epoch: center crops of the training
// crop size, no augmentation, eval mode; per branch.
struct BranchMetrics {
  ClassificationMetrics spotlight;
  std::optional<ClassificationMetrics> compensation;  // dual models
};
BranchMetrics validate_classification(AmrNet& net, const VocDataset& val, const TrainConfig& c);

}  // namespace amr

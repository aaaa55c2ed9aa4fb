#pragma once
#include <optional>
#include <string>
#include <vector>

#include "amr/data/voc.h"
#include "amr/distributed/world.h"
#include "amr/eval/classification.h"
#include "amr/model/amr_net.h"
#include "amr/train/config.h"

namespace amr {

// Which statistics the BatchNorm layers normalize with during validation.
//  running  eval mode, as every later stage (amr cam) runs the network;
//  batch    train mode, each batch's own statistics (the running ones left untouched).
enum class StatsSource { Running, Batch };

// Classification quality on the validation list after an epoch: center crops of the training
// crop size, no augmentation; per branch. In a data-parallel job each rank scores its share of
// the list and the scores are summed over the ranks: every rank gets the metrics.
struct BranchMetrics {
  ClassificationMetrics spotlight;
  std::optional<ClassificationMetrics> compensation;  // dual models
};
BranchMetrics validate_classification(AmrNet& net, const VocDataset& val, const TrainConfig& c, const World& world,
                                      StatsSource stats = StatsSource::Running);

// The branches whose eval-mode scores fall far below their batch-statistics scores (mAP 0.1 or
// F1 0.2 lower): the network has learned, its BatchNorm running statistics have not followed.
// One sentence per such branch, naming it and both scores; empty when none.
std::vector<std::string> stale_statistics_warnings(const BranchMetrics& running, const BranchMetrics& batch);

}  // namespace amr

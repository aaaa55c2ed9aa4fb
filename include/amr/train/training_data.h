#pragma once
#include <string>

#include "amr/data/loader.h"
#include "amr/data/voc.h"
#include "amr/distributed/world.h"
#include "amr/train/config.h"

namespace amr {

// A list of the config's data set as training reads it (labels from masks, bad-image policy).
VocDataset open_training_list(const TrainConfig& c, const std::string& list);

// The training loader: this rank's share of each global batch, augmented as the config says.
LoaderOptions train_loader_options(const TrainConfig& c, const World& world, bool pin_memory);

}  // namespace amr

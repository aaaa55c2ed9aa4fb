#pragma once
#include "amr/model/amr_net.h"
#include "amr/train/config.h"

namespace amr {

// The network a resolved config describes, for `num_classes` foreground classes.
AmrNetOptions net_options(const TrainConfig& c, int64_t num_classes);

// Initial weights from the config's init / spotlight_from / copy_cam_to_both / init_from. The
// official recipe (QUIRKS.md 9): spotlight + classifier from a cam run, the compensation
// backbone from pretrained weights, its AMMs and classifier2 fresh (PyTorch's default init).
void initialize_weights(AmrNet& net, const TrainConfig& c);

}  // namespace amr

#pragma once
#include "amr/model/irn_net.h"
#include "amr/train/optimizer.h"

namespace amr {

// The official IRN optimizer groups (step/train_irn.py): the boundary branch at lr, the
// displacement branch at 10 x lr, both with weight decay; the frozen backbone is not optimized.
std::vector<ParamGroup> irn_param_groups(IrnNetImpl& net, double lr, double weight_decay);

}  // namespace amr

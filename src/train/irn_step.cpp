#include "amr/train/irn_step.h"

namespace amr {

std::vector<ParamGroup> irn_param_groups(IrnNetImpl& net, double lr, double weight_decay) {
  auto [edge, displacement] = net.trainable_parameters();
  std::vector<ParamGroup> groups(2);
  groups[0] = {"edge", std::move(edge), lr, weight_decay};
  groups[1] = {"displacement", std::move(displacement), 10 * lr, weight_decay};
  return groups;
}

}  // namespace amr

#include "amr/seg/seg_step.h"

#include <ATen/ATen.h>

#include "amr/seg/seg_loss.h"

namespace amr {

PolySgd seg_optimizer(SegNetImpl& net, const SegTrainConfig& c) {
  SegNetImpl::Groups g = net.parameter_groups();
  std::vector<ParamGroup> groups{{"backbone", g.backbone, c.lr, c.weight_decay},
                                 {"head_weights", g.head_weights, c.lr * c.lr_mult_head, c.weight_decay},
                                 {"head_biases", g.head_biases, c.lr * c.lr_mult_head_bias, 0.0}};
  PolySgd sgd(std::move(groups), c.momentum, c.poly_power, c.iterations);
  sgd.set_decay_every(c.lr_decay_every);
  return sgd;
}

double accumulate_seg_gradients(SegNetImpl& net, const std::vector<SegBatch>& subs, double divisor, const at::Tensor& class_weights) {
  double total = 0;
  for (const SegBatch& b : subs) {
    const at::Tensor loss = segmentation_loss(net.forward_pyramid(b.images), b.labels, class_weights) / divisor;
    loss.backward();
    total += loss.item<double>();
  }
  return total;
}

}  // namespace amr

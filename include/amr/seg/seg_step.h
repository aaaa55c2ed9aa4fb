#pragma once
#include <vector>

#include <ATen/core/Tensor.h>

#include "amr/model/deeplab.h"
#include "amr/seg/seg_config.h"
#include "amr/train/optimizer.h"

namespace amr {

// One sub-batch: images [B, 3, H, W] as the network's input, labels [B, H, W] (255 ignored).
struct SegBatch {
  at::Tensor images, labels;
};

// The reference's SGD (main.py): backbone convolution weights at lr with weight decay, head
// weights at lr_mult_head x lr with weight decay, head biases at lr_mult_head_bias x lr without;
// poly schedule updated every lr_decay_every iterations.
PolySgd seg_optimizer(SegNetImpl& net, const SegTrainConfig& c);

// The gradients of one iteration (main.py's ITER_SIZE loop): for each sub-batch, the loss of
// every output divided by `divisor` (the sub-batches of the iteration), backward; gradients
// accumulate. Returns the iteration's summed loss. The caller zeroes the gradients and steps.
double accumulate_seg_gradients(SegNetImpl& net, const std::vector<SegBatch>& subs, double divisor, const at::Tensor& class_weights = {});

}  // namespace amr

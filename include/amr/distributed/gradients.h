#pragma once
#include <vector>

#include <ATen/core/Tensor.h>

#include "amr/distributed/world.h"

namespace amr {

// What DistributedDataParallel does after backward, without its overlap with backward (LibTorch
// C++ has no DDP module): the gradients of `params` are flattened into buckets of about
// `bucket_bytes`, summed over the ranks and divided by their number. A gradient undefined on
// some ranks but not on others is zero-filled first so that all ranks agree; one undefined on
// every rank stays undefined (the optimizer skips it, as in one process).
class GradientAverager {
 public:
  explicit GradientAverager(std::vector<at::Tensor> params, int64_t bucket_bytes = 25 << 20);

  // `scalars` (e.g. the step's loss terms) ride with the first collective and come back summed
  // over the ranks: a divergence check on them is the same decision on every rank.
  void average(const World& world, std::vector<double>& scalars);

 private:
  std::vector<at::Tensor> params_;
  int64_t bucket_bytes_;
};

}  // namespace amr

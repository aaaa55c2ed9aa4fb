#pragma once
#include "amr/distributed/world.h"
#include "amr/model/amr_net.h"
#include "amr/train/optimizer.h"
#include "amr/train/run_dir.h"

namespace amr {

// Rank 0's parameters, buffers (BatchNorm statistics), momentum buffers and position, sent to
// every rank when a data-parallel run starts: only rank 0 reads initial weights and last.pt,
// and all ranks then start from the same state whatever their files.
void share_root_state(const World& world, AmrNet& net, PolySgd& sgd, Position& pos);
void share_root_state(const World& world, torch::nn::Module& net, PolySgd& sgd, Position& pos);

// The same averaged gradients applied to the same parameters leave every rank's parameters
// bit-identical: checked (a sum per rank, compared) at every epoch end. Returns the per-rank
// sums (for the log); throws if they differ. Buffers (BatchNorm running statistics of bn: train)
// are per rank, as in the official DataParallel, and rank 0's are saved.
std::vector<double> parameter_checksums(const World& world, AmrNet& net);

}  // namespace amr

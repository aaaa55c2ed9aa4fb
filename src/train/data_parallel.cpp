#include "amr/train/data_parallel.h"

#include <torch/torch.h>

#include "amr/base/error.h"

namespace amr {

void share_root_state(const World& world, AmrNet& net, PolySgd& sgd, Position& pos) { share_root_state(world, *net, sgd, pos); }

void share_root_state(const World& world, torch::nn::Module& net, PolySgd& sgd, Position& pos) {
  if (!world.distributed()) return;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> model;
  for (const auto& p : net.parameters()) model.push_back(p.detach());
  for (const auto& b : net.buffers()) model.push_back(b.detach());
  world.broadcast(model, "sharing rank 0's model");

  auto slots = sgd.buffer_slots();
  at::Tensor has = torch::zeros({static_cast<int64_t>(slots.size()) + 3}, torch::kInt64);
  for (size_t i = 0; i < slots.size(); ++i) has[static_cast<int64_t>(i)] = slots[i].second->defined() ? 1 : 0;
  const auto n = static_cast<int64_t>(slots.size());
  has[n] = pos.epoch;
  has[n + 1] = pos.samples;
  has[n + 2] = pos.step;
  std::vector<at::Tensor> head{has};  // shares has's storage
  world.broadcast(head, "sharing rank 0's position");
  std::vector<at::Tensor> buffers;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (has[static_cast<int64_t>(i)].item<int64_t>() == 0) {
      *slots[i].second = at::Tensor();
      continue;
    }
    if (!slots[i].second->defined()) *slots[i].second = torch::zeros_like(slots[i].first);
    buffers.push_back(*slots[i].second);
  }
  world.broadcast(buffers, "sharing rank 0's optimizer state");
  pos.epoch = has[n].item<int64_t>();
  pos.samples = has[n + 1].item<int64_t>();
  pos.step = has[n + 2].item<int64_t>();
}

std::vector<double> parameter_checksums(const World& world, AmrNet& net) {
  torch::NoGradGuard no_grad;
  at::Tensor sums = torch::zeros({world.size()}, torch::kFloat64);
  double mine = 0;
  for (const auto& p : net->parameters()) mine += p.to(torch::kFloat64).sum().item<double>();
  sums[world.rank()] = mine;
  world.all_reduce_sum(sums, "comparing the ranks' parameters");
  std::vector<double> out(sums.data_ptr<double>(), sums.data_ptr<double>() + world.size());
  for (int r = 1; r < world.size(); ++r)
    if (out[static_cast<size_t>(r)] != out[0])
      throw Error("rank " + std::to_string(r) + "'s parameters differ from rank 0's (sum " +
                  std::to_string(out[static_cast<size_t>(r)]) + " vs " + std::to_string(out[0]) +
                  "): the ranks diverged");
  return out;
}

}  // namespace amr

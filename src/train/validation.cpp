#include "amr/train/validation.h"

#include <torch/torch.h>

#include "amr/data/loader.h"

namespace amr {

BranchMetrics validate_classification(AmrNet& net, const VocDataset& val, const TrainConfig& c,
                                      const World& world) {
  LoaderOptions lo;
  lo.batch = std::max<int64_t>(1, c.batch / world.size());
  lo.rank = world.rank();
  lo.world_size = world.size();
  lo.workers = c.workers;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.seed = c.seed;
  lo.augment = AugmentOptions{c.crop, c.crop, false, c.crop};
  BatchLoader loader(val, lo);
  loader.start_epoch(0);
  const auto n = static_cast<int64_t>(val.ids.size());
  // Rows by position (= dataset index: no shuffle); a rank fills its rows, the sum fills all.
  at::Tensor ls = torch::zeros({n, val.num_classes()});
  at::Tensor lc = net->compensation ? torch::zeros({n, val.num_classes()}) : at::Tensor();
  at::Tensor y = torch::zeros({n, val.num_classes()});
  net->eval();
  {
    torch::NoGradGuard no_grad;
    while (auto b = loader.next()) {
      AmrOutput out = net->forward(b->images.to(net->classifier->weight.device()));
      const at::Tensor rows = torch::tensor(b->positions, torch::kInt64);
      ls.index_copy_(0, rows, out.logits_s.to(ls.options()));
      if (lc.defined()) lc.index_copy_(0, rows, out.logits_c.to(lc.options()));
      y.index_copy_(0, rows, b->labels);
    }
  }
  net->train();
  std::vector<at::Tensor> scores{ls, y};
  if (lc.defined()) scores.push_back(lc);
  world.all_reduce_sum(scores, "validation");
  BranchMetrics m;
  m.spotlight = classification_metrics(ls, y);
  if (lc.defined()) m.compensation = classification_metrics(lc, y);
  return m;
}

}  // namespace amr

#include "amr/train/validation.h"

#include <torch/torch.h>

#include "amr/data/loader.h"

namespace amr {

BranchMetrics validate_classification(AmrNet& net, const VocDataset& val, const TrainConfig& c) {
  LoaderOptions lo;
  lo.batch = c.batch;
  lo.workers = c.workers;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.seed = c.seed;
  lo.augment = AugmentOptions{c.crop, c.crop, false, c.crop};
  BatchLoader loader(val, lo);
  loader.start_epoch(0);
  std::vector<at::Tensor> ls, lc, ys;
  net->eval();
  {
    torch::NoGradGuard no_grad;
    while (auto b = loader.next()) {
      AmrOutput out = net->forward(b->images);
      ls.push_back(out.logits_s);
      if (out.logits_c.defined()) lc.push_back(out.logits_c);
      ys.push_back(b->labels);
    }
  }
  net->train();
  at::Tensor y = torch::cat(ys);
  BranchMetrics m;
  m.spotlight = classification_metrics(torch::cat(ls), y);
  if (!lc.empty()) m.compensation = classification_metrics(torch::cat(lc), y);
  return m;
}

}  // namespace amr

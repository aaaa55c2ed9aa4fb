#include "amr/train/validation.h"

#include <torch/torch.h>

#include <iomanip>
#include <sstream>

#include "amr/data/loader.h"
#include "amr/model/precise_bn.h"

namespace amr {

namespace {

LoaderOptions validation_loader_options(const TrainConfig& c, const World& world) {
  LoaderOptions lo;
  lo.batch = std::max<int64_t>(1, c.batch / world.size());
  lo.rank = world.rank();
  lo.world_size = world.size();
  lo.workers = c.workers;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.seed = c.seed;
  lo.augment = AugmentOptions{c.crop, c.crop, false, c.crop};
  return lo;
}

}  // namespace

BranchMetrics validate_classification(AmrNet& net, const VocDataset& val, const TrainConfig& c, const World& world,
                                      StatsSource stats) {
  BatchLoader loader(val, validation_loader_options(c, world));
  loader.start_epoch(0);
  const auto n = static_cast<int64_t>(val.ids.size());
  // Rows by position (= dataset index: no shuffle); a rank fills its rows, the sum fills all.
  at::Tensor ls = torch::zeros({n, val.num_classes()});
  at::Tensor lc = net->compensation ? torch::zeros({n, val.num_classes()}) : at::Tensor();
  at::Tensor y = torch::zeros({n, val.num_classes()});
  {
    torch::NoGradGuard no_grad;
    std::optional<ScopedBatchStatistics> batch_stats;
    if (stats == StatsSource::Batch) batch_stats.emplace(*net);
    else net->eval();
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

std::vector<std::string> stale_statistics_warnings(const BranchMetrics& running, const BranchMetrics& batch) {
  constexpr double kMapDrop = 0.1, kF1Drop = 0.2;
  std::vector<std::string> out;
  auto check = [&](const std::string& branch, const ClassificationMetrics& r, const ClassificationMetrics& b) {
    if (b.map - r.map < kMapDrop && b.f1_micro - r.f1_micro < kF1Drop) return;
    std::ostringstream o;
    o << std::fixed << std::setprecision(3) << "the " << branch << " branch scores mAP " << r.map << " / F1 "
      << r.f1_micro << " in eval mode but " << b.map << " / " << b.f1_micro
      << " with batch statistics: its BatchNorm running statistics are stale, not its weights";
    out.push_back(o.str());
  };
  check("spotlight", running.spotlight, batch.spotlight);
  if (running.compensation && batch.compensation) check("compensation", *running.compensation, *batch.compensation);
  return out;
}

}  // namespace amr

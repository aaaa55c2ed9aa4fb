#include "amr/train/recalibrate.h"

#include <torch/torch.h>

#include <filesystem>

#include "amr/base/error.h"
#include "amr/model/model_file.h"
#include "amr/train/trainer.h"
#include "amr/train/training_data.h"

namespace fs = std::filesystem;

namespace amr {

PreciseBnResult recalibrate_on_training_data(AmrNet& net, BatchLoader& loader, int64_t epoch, int64_t batches,
                                             c10::Device device, const World& world) {
  loader.start_epoch(epoch);
  const int64_t n = std::min(batches, loader.batches_per_epoch());
  if (n < 1) throw Error("precise BatchNorm: the training list makes no full batch");
  auto forward_batch = [&]() {
    std::optional<Batch> b = loader.next();
    if (!b) return false;
    net->forward(b->images.to(device, /*non_blocking=*/true));
    return true;
  };
  StatsAllReduce sum_over_ranks;
  if (world.distributed())
    sum_over_ranks = [&world](std::vector<at::Tensor>& t) { world.all_reduce_sum(t, "the precise BatchNorm averages"); };
  return recalibrate_batch_norms(*net, n, forward_batch, sum_over_ranks);
}

namespace {

std::string output_path(const RecalibrateOptions& opt) {
  const std::string model = opt.run_dir + "/model.pt";
  const std::string out = opt.out.empty() ? opt.run_dir + "/model.precise-bn.pt" : opt.out;
  if (!fs::exists(model)) throw Error("--run " + opt.run_dir + ": no model.pt (training has not finished)");
  if (!opt.from.empty() && !fs::is_regular_file(opt.from)) throw Error("--from " + opt.from + ": not a file");
  if (fs::exists(out) && fs::equivalent(out, model)) throw Error("--out " + out + ": is the run's model.pt (never overwritten)");
  if (fs::exists(out) && !opt.from.empty() && fs::equivalent(out, opt.from))
    throw Error("--out " + out + ": is the --from model (never overwritten)");
  if (fs::exists(out) && !opt.overwrite) throw Error("--out " + out + ": exists (--overwrite replaces it)");
  return out;
}

}  // namespace

RecalibrateSummary recalibrate_run(const RecalibrateOptions& opt, const Runtime& rt) {
  RecalibrateSummary s;
  s.out = output_path(opt);
  LoadedRun run = load_run(opt.run_dir, 0);
  if (!opt.from.empty()) run.net = load_model(read_model_file(opt.from), run.net->options());
  TrainConfig& c = run.config;
  if (!opt.data.empty()) c.data = opt.data;
  c.resolve();
  const int64_t batches = opt.batches.value_or(c.precise_bn_value() > 0 ? c.precise_bn_value() : 200);
  if (batches < 1) throw Error("--batches: expected >= 1");
  if (running_stat_batch_norms(*run.net).empty())
    throw Error("--run " + opt.run_dir + ": no BatchNorm of this model reads running statistics in eval mode (bn: " +
                to_string(c.bn) + "); nothing to recalibrate");
  const World world;  // one process
  const c10::Device device = torch_device(rt.device, 0);
  run.net->to(device);
  const VocDataset train_set = open_training_list(c, c.list);
  std::unique_ptr<VocDataset> val;
  if (!c.val_list.empty()) val = std::make_unique<VocDataset>(open_training_list(c, c.val_list));
  if (val) s.before = validate_classification(run.net, *val, c, world);
  BatchLoader loader(train_set, train_loader_options(c, world, rt.device.is_cuda()));
  s.result = recalibrate_on_training_data(run.net, loader, c.epochs, batches, device, world);
  if (val) s.after = validate_classification(run.net, *val, c, world);
  run.net->eval();
  run.net->to(torch::kCPU);
  save_model(s.out, run.net);
  return s;
}

}  // namespace amr

// Precise BatchNorm (issue 29): exact averaged batch statistics, recovery from corrupted running
// statistics, the batch-statistics validation that leaves them untouched, the stale-statistics
// warnings, the trainer's final recalibration and `amr recalibrate` on a finished run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "amr/base/error.h"
#include "amr/data/scenes.h"
#include "amr/io/pth.h"
#include "amr/model/amm.h"
#include "amr/model/batchnorm.h"
#include "amr/model/precise_bn.h"
#include "amr/train/config.h"
#include "amr/train/model_init.h"
#include "amr/train/recalibrate.h"
#include "amr/train/trainer.h"
#include "amr/train/validation.h"
#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::TempDir;

namespace {

// conv -> BN(train) -> relu -> BN(train), a fixed-stats BN and an AMM gate on batch statistics
// beside them (neither may be touched).
struct SmallImpl : torch::nn::Module {
  SmallImpl() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", amr::BatchNorm(3, amr::BnMode::Train));
    bn2 = register_module("bn2", amr::BatchNorm(3, amr::BnMode::Train, /*momentum=*/0.01));
    fixed = register_module("fixed", amr::BatchNorm(3, amr::BnMode::FixedStats));
    gate = register_module("gate", amr::GateConv(/*bn_batch_stats_always=*/true));
    in_eval = register_module("in_eval", amr::BatchNorm(3, amr::BnMode::Train));
  }
  at::Tensor forward(const at::Tensor& x) {
    gate->forward(x);
    const bool was = in_eval->is_training();  // run in eval mode always, as the official routing's spotlight
    in_eval->eval();
    in_eval->forward(conv->forward(x));
    in_eval->train(was);
    return fixed->forward(bn2->forward(torch::relu(bn1->forward(conv->forward(x)))));
  }
  torch::nn::Conv2d conv{nullptr};
  amr::BatchNorm bn1{nullptr}, bn2{nullptr}, fixed{nullptr}, in_eval{nullptr};
  amr::GateConv gate{nullptr};
};
TORCH_MODULE(Small);

std::vector<at::Tensor> batches(int n, int64_t seed) {
  torch::manual_seed(seed);
  std::vector<at::Tensor> out;
  for (int i = 0; i < n; ++i) out.push_back(torch::randn({4, 2, 5, 6}) * (1 + i) + i);
  return out;
}

std::function<bool()> feeder(Small& net, const std::vector<at::Tensor>& xs, size_t& next) {
  return [&net, &xs, &next]() {
    if (next >= xs.size()) return false;
    net->forward(xs[next++]);
    return true;
  };
}

// By hand: per-channel mean and unbiased variance of each batch, normalized with its own batch
// statistics (affine 1, 0), averaged over the batches.
std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> by_hand(Small& net, const std::vector<at::Tensor>& xs) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> mean, var;  // four distinct tensors (a vector's fill constructor would share one)
  for (int l = 0; l < 2; ++l) mean.push_back(torch::zeros({3}, torch::kFloat64)), var.push_back(torch::zeros({3}, torch::kFloat64));
  for (const auto& x : xs) {
    at::Tensor h = net->conv->forward(x).to(torch::kFloat64);
    for (int l = 0; l < 2; ++l) {
      at::Tensor m = h.mean({0, 2, 3}), v = h.var({0, 2, 3}, /*unbiased=*/true);
      mean[l] += m / static_cast<double>(xs.size());
      var[l] += v / static_cast<double>(xs.size());
      h = (h - m.view({1, 3, 1, 1})) / torch::sqrt(h.var({0, 2, 3}, false).view({1, 3, 1, 1}) + 1e-5);
      if (l == 0) h = torch::relu(h);
    }
  }
  return {mean, var};
}

}  // namespace

TEST(PreciseBn, RunningStatisticsBecomeTheAverageOfTheBatchStatistics) {
  Small net;
  net->eval();
  const auto xs = batches(5, 1);
  const at::Tensor fixed_mean = net->fixed->running_mean.clone(), gate_var = net->gate->bn->running_var.clone();
  {
    torch::NoGradGuard no_grad;
    net->in_eval->running_mean.fill_(0.5);  // its own statistics, as after training
    net->in_eval->running_var.fill_(2.0);
  }
  size_t next = 0;
  const amr::PreciseBnResult r = amr::recalibrate_batch_norms(*net, 4, feeder(net, xs, next));
  // bn1, bn2: not the fixed-stats layer, not the gate on batch statistics, not the layer run in eval mode
  EXPECT_EQ(r.layers, 2);
  EXPECT_EQ(r.batches, 4);
  EXPECT_EQ(next, 4u);  // stopped at `batches`
  const auto [mean, var] = by_hand(net, {xs.begin(), xs.begin() + 4});
  for (int l = 0; l < 2; ++l) {
    const amr::BatchNorm& bn = l == 0 ? net->bn1 : net->bn2;
    EXPECT_TRUE(torch::allclose(bn->running_mean.to(torch::kFloat64), mean[l], 1e-5, 1e-6)) << l;
    EXPECT_TRUE(torch::allclose(bn->running_var.to(torch::kFloat64), var[l], 1e-5, 1e-6)) << l;
  }
  EXPECT_DOUBLE_EQ(net->bn1->momentum(), 0.1);  // restored
  EXPECT_DOUBLE_EQ(net->bn2->momentum(), 0.01);
  EXPECT_FALSE(net->is_training());
  EXPECT_TRUE(torch::equal(net->fixed->running_mean, fixed_mean));
  EXPECT_TRUE(torch::equal(net->gate->bn->running_var, gate_var));
  EXPECT_TRUE(torch::equal(net->in_eval->running_var, torch::full({3}, 2.0)));
  EXPECT_TRUE(torch::equal(net->in_eval->running_mean, torch::full({3}, 0.5)));
  // Fewer batches than asked: the average of those there were.
  next = 0;
  EXPECT_EQ(amr::recalibrate_batch_norms(*net, 50, feeder(net, xs, next)).batches, 5);
}

// Data-parallel: each rank's sums and batch count are summed over the ranks; the result is the
// average over every rank's batches (here rank B's sums stand in for the all-reduce).
TEST(PreciseBn, RanksAverageOverAllTheirBatches) {
  const auto xs = batches(4, 2);
  Small all;
  size_t next = 0;
  amr::recalibrate_batch_norms(*all, 4, feeder(all, xs, next));
  Small a, b;
  std::vector<at::Tensor> b_sums;
  {
    // Rank B on batches 2, 3: its running statistics are its own average; times 2 = its sums.
    b->conv->weight.set_data(all->conv->weight.clone());
    const std::vector<at::Tensor> mine(xs.begin() + 2, xs.end());
    size_t nb = 0;
    amr::recalibrate_batch_norms(*b, 2, feeder(b, mine, nb));
    for (auto* bn : {&b->bn1, &b->bn2}) {
      b_sums.push_back((*bn)->running_mean.to(torch::kFloat64) * 2);
      b_sums.push_back((*bn)->running_var.to(torch::kFloat64) * 2);
    }
    b_sums.push_back(torch::zeros({3}, torch::kFloat64));  // in_eval: no batch statistics
    b_sums.push_back(torch::zeros({3}, torch::kFloat64));
    b_sums.push_back(torch::tensor({2.0, 2.0, 0.0, 2.0}, torch::kFloat64));  // batches per layer, batches
  }
  a->conv->weight.set_data(all->conv->weight.clone());
  const std::vector<at::Tensor> mine(xs.begin(), xs.begin() + 2);
  size_t na = 0;
  auto sum_with_b = [&](std::vector<at::Tensor>& t) {
    ASSERT_EQ(t.size(), b_sums.size());
    for (size_t i = 0; i < t.size(); ++i) t[i] += b_sums[i];
  };
  EXPECT_EQ(amr::recalibrate_batch_norms(*a, 2, feeder(a, mine, na), sum_with_b).batches, 4);
  EXPECT_TRUE(torch::allclose(a->bn1->running_mean, all->bn1->running_mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(a->bn2->running_var, all->bn2->running_var, 1e-5, 1e-6));
}

// Statistics set by recalibration, then corrupted (NaN means, huge variances): eval mode is
// garbage; recalibrating on the same batches gives back the eval-mode outputs exactly.
TEST(PreciseBn, CorruptedStatisticsRecoverTheirEvalOutputs) {
  Small net;
  const auto xs = batches(3, 3);
  size_t next = 0;
  amr::recalibrate_batch_norms(*net, 3, feeder(net, xs, next));
  net->eval();
  const at::Tensor probe = torch::randn({2, 2, 5, 6});
  const at::Tensor good = net->forward(probe).detach();
  {
    torch::NoGradGuard no_grad;
    net->bn1->running_mean.fill_(std::nan(""));
    net->bn2->running_var.fill_(1e6);
  }
  EXPECT_FALSE(torch::allclose(net->forward(probe), good));
  next = 0;
  amr::recalibrate_batch_norms(*net, 3, feeder(net, xs, next));
  EXPECT_TRUE(torch::equal(net->forward(probe), good));
}

TEST(PreciseBn, BatchStatisticsScopeLeavesRunningStatisticsUntouched) {
  Small net;
  net->eval();
  const at::Tensor mean = net->bn1->running_mean.clone(), count = net->bn1->num_batches_tracked.clone();
  {
    amr::ScopedBatchStatistics batch_stats(*net);
    EXPECT_TRUE(net->is_training());
    torch::NoGradGuard no_grad;
    net->forward(torch::randn({4, 2, 5, 6}) + 3);
    EXPECT_FALSE(torch::equal(net->bn1->running_mean, mean));
  }
  EXPECT_FALSE(net->is_training());
  EXPECT_TRUE(torch::equal(net->bn1->running_mean, mean));
  EXPECT_TRUE(torch::equal(net->bn1->num_batches_tracked, count));
}

TEST(PreciseBn, StaleStatisticsWarningsNameTheBranch) {
  amr::BranchMetrics running, batch;
  running.spotlight.map = 0.95, running.spotlight.f1_micro = 0.9;
  batch.spotlight = running.spotlight;
  running.compensation = amr::ClassificationMetrics{};
  running.compensation->map = 0.573, running.compensation->f1_micro = 0.0;
  batch.compensation = amr::ClassificationMetrics{};
  batch.compensation->map = 0.999, batch.compensation->f1_micro = 0.984;
  auto w = amr::stale_statistics_warnings(running, batch);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("the compensation branch scores mAP 0.573 / F1 0.000 in eval mode but 0.999 / 0.984"),
            std::string::npos)
      << w[0];
  running.compensation->map = 0.95, running.compensation->f1_micro = 0.9;  // within 0.1 / 0.2: no warning
  EXPECT_TRUE(amr::stale_statistics_warnings(running, batch).empty());
  running.compensation->f1_micro = 0.7;  // F1 0.28 lower
  EXPECT_EQ(amr::stale_statistics_warnings(running, batch).size(), 1u);
}

namespace {

amr::TrainConfig tiny_amr(const std::string& data, int64_t precise_bn) {
  amr::TrainConfig c = amr::test::tiny_config(data, "amr");
  c.val_list = "val.txt";
  c.precise_bn = precise_bn;
  return c;
}

std::vector<nlohmann::json> log_lines(const std::string& run, const std::string& type) {
  std::ifstream in(run + "/log.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (auto j = nlohmann::json::parse(line); j["type"] == type) out.push_back(j);
  return out;
}

std::map<std::string, at::Tensor> weights(const std::string& path) {
  auto w = amr::read_pth(path);
  return {w.begin(), w.end()};
}

bool is_running_stat(const std::string& k) {
  return k.find("running_mean") != std::string::npos || k.find("running_var") != std::string::npos;
}

}  // namespace

// Training with precise_bn: the epoch's model and model.pt differ in the running statistics
// only, the log records the recalibration and the batch-statistics validation; without it they
// are the same file's tensors. `amr recalibrate` on the run without it gives the run with it.
TEST(PreciseBn, TrainerRecalibratesAtTheEndAndRecalibrateReproducesIt) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 16);
  amr::TrainOptions o;
  o.quiet = true;
  o.run_dir = dir / "with";
  ASSERT_TRUE(amr::train(tiny_amr(data, 3), o).finished);
  o.run_dir = dir / "without";
  ASSERT_TRUE(amr::train(tiny_amr(data, 0), o).finished);

  const auto pbn = log_lines(dir / "with", "precise_bn");
  ASSERT_EQ(pbn.size(), 1u);
  EXPECT_EQ(pbn[0]["batches"], 3);
  EXPECT_EQ(pbn[0]["layers"].get<int>(), 40);  // both ResNet-18s in bn: train (2 x 20), not the AMM gates
  EXPECT_TRUE(pbn[0].contains("val_map_compensation_batch_stats"));
  EXPECT_TRUE(log_lines(dir / "without", "precise_bn").empty());
  EXPECT_TRUE(log_lines(dir / "without", "epoch").back().contains("val_map_compensation_batch_stats"));

  const auto with = weights(dir / "with/model.pt"), epoch = weights(dir / "with/epoch_2.pt"),
             without = weights(dir / "without/model.pt");
  int changed = 0;
  for (const auto& [k, v] : with) {
    EXPECT_TRUE(torch::equal(v, without.at(k)) || is_running_stat(k)) << k;  // training itself unchanged
    EXPECT_TRUE(torch::equal(epoch.at(k), without.at(k))) << k;
    changed += !torch::equal(v, without.at(k));
  }
  EXPECT_EQ(changed, 80);  // running mean and var of the 40 layers

  auto r = amr::test::run_cli("--threads 2 recalibrate --run " + dir / "without" + " --batches 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("validation after"), std::string::npos) << r.output;
  for (const auto& [k, v] : weights(dir / "without/model.precise-bn.pt"))
    EXPECT_TRUE(torch::allclose(v, with.at(k), 1e-5, 1e-6)) << k << " " << v.sub(with.at(k)).abs().max().item<double>() << " " << v.sub(epoch.at(k)).abs().max().item<double>() << " " << with.at(k).sub(epoch.at(k)).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(weights(dir / "without/model.pt").at("classifier.weight"), without.at("classifier.weight")));

  r = amr::test::run_cli("recalibrate --run " + dir / "without");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("model.precise-bn.pt: exists (--overwrite replaces it)"), std::string::npos) << r.output;
  r = amr::test::run_cli("recalibrate --run " + dir / "without" + " --out " + dir / "without/model.pt --overwrite");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("is the run's model.pt (never overwritten)"), std::string::npos) << r.output;
  r = amr::test::run_cli("recalibrate --run " + dir / "without" + " --from " + dir / "without/epoch_2.pt --out " +
                         dir / "without/epoch_2.pt --overwrite");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("is the --from model (never overwritten)"), std::string::npos) << r.output;
  // --from: the last epoch's model of the run with precise_bn is the model before it.
  r = amr::test::run_cli("--threads 2 recalibrate --run " + dir / "with" + " --from " + dir / "with/epoch_2.pt --batches 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const auto& [k, v] : weights(dir / "with/model.precise-bn.pt"))
    EXPECT_TRUE(torch::allclose(v, with.at(k), 1e-5, 1e-6)) << k;
  r = amr::test::run_cli("recalibrate --run " + dir / "without" + " --batches 0");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--batches"), std::string::npos) << r.output;
  r = amr::test::run_cli("recalibrate --run " + dir / "nothing");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--run " + dir / "nothing" + ": no model.pt"), std::string::npos) << r.output;
}

TEST(PreciseBn, ConfigDefaultsAndRange) {
  amr::TrainConfig c = amr::config_from_yaml_text("variant: amr\ndata: x\n", "test");
  c.resolve();
  EXPECT_EQ(*c.precise_bn, 0);  // off unless asked (it lowered eval-mode scores on PartScenes: issue 29 note)
  c = amr::config_from_yaml_text("variant: amr\ndata: x\nprecise_bn: 200\n", "test");
  c.resolve();
  EXPECT_EQ(*c.precise_bn, 200);
  c = amr::config_from_yaml_text("variant: cam\ndata: x\n", "test");
  c.resolve();
  EXPECT_EQ(*c.precise_bn, 0);
  c = amr::load_train_config(std::string(AMR_SOURCE_DIR) + "/configs/voc-official-amr.yaml", {"data=x"});
  c.resolve();
  EXPECT_EQ(*c.precise_bn, 0);  // the official recipe has none
  // ... and nothing for it to do: fixed-stats backbones, AMM gates on batch statistics (quirk 1).
  amr::AmrNet official(amr::net_options(c, 20));
  EXPECT_TRUE(amr::running_stat_batch_norms(*official).empty());
  c.bn = amr::BnMode::Train;
  EXPECT_EQ(amr::running_stat_batch_norms(*amr::AmrNet(amr::net_options(c, 20))).size(), 2u * 53);  // 2 ResNet-50s
  c = amr::config_from_yaml_text("variant: amr\ndata: x\nprecise_bn: -1\n", "test");
  try {
    c.resolve();
    ADD_FAILURE() << "precise_bn -1 accepted";
  } catch (const amr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("config precise_bn: expected a number of batches >= 0"), std::string::npos);
  }
}

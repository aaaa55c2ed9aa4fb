#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "amr/data/scenes.h"
#include "amr/base/error.h"
#include "amr/io/pth.h"
#include "amr/model/amm.h"
#include "amr/model/amr_net.h"
#include "amr/model/losses.h"
#include "amr/train/config.h"
#include "amr/train/trainer.h"
#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::TempDir;

namespace {

using amr::test::tiny_config;

std::vector<double> step_losses(const std::string& run) {
  std::ifstream in(run + "/log.jsonl");
  std::vector<double> losses;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "step") {
      EXPECT_EQ(j["step"].get<int64_t>(), static_cast<int64_t>(losses.size()) + 1);
      losses.push_back(j["loss"].get<double>());
    }
  }
  return losses;
}

amr::TrainOptions quiet(const std::string& run) {
  amr::TrainOptions o;
  o.run_dir = run;
  o.quiet = true;
  return o;
}

}  // namespace

TEST(Train, InterruptedAndResumedRunEqualsUninterrupted) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 16);
  amr::TrainConfig c = tiny_config(data, "amr-improved");
  c.val_list = "val.txt";
  amr::TrainSummary full = amr::train(c, quiet(dir / "full"));
  ASSERT_TRUE(full.finished);
  EXPECT_EQ(full.steps, 8);

  amr::TrainOptions stop = quiet(dir / "resumed");
  stop.stop_after_steps = 3;  // mid epoch 1
  EXPECT_FALSE(amr::train(c, stop).finished);
  EXPECT_FALSE(fs::exists(dir / "resumed/model.pt"));
  amr::TrainOptions resume = quiet(dir / "resumed");
  resume.resume = true;
  resume.stop_after_steps = 3;  // crosses the epoch boundary, stops mid epoch 2
  EXPECT_FALSE(amr::train(c, resume).finished);
  resume.stop_after_steps = std::nullopt;
  EXPECT_TRUE(amr::train(c, resume).finished);

  std::vector<double> a = step_losses(dir / "full"), b = step_losses(dir / "resumed");
  ASSERT_EQ(a.size(), 8u);
  EXPECT_EQ(a, b);  // bitwise: same data, same order, same arithmetic
  auto wa = amr::read_pth(dir / "full/model.pt"), wb = amr::read_pth(dir / "resumed/model.pt");
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i].second, wb[i].second)) << wa[i].first;
  EXPECT_TRUE(fs::exists(dir / "full/epoch_1.pt"));
  EXPECT_TRUE(fs::exists(dir / "full/config.yaml"));
}

TEST(Train, CamThenAmrFromTheCamRunLearns) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 24);
  amr::TrainConfig cam = tiny_config(data, "cam");
  cam.epochs = 4;
  cam.lr = 0.05;
  ASSERT_TRUE(amr::train(cam, quiet(dir / "cam")).finished);
  std::vector<double> l = step_losses(dir / "cam");
  const double first = (l[0] + l[1] + l[2]) / 3, last = (l[l.size() - 1] + l[l.size() - 2] + l[l.size() - 3]) / 3;
  EXPECT_LT(last, first) << "cam loss did not decrease";

  // The official structure: spotlight + classifier from the cam run, the compensation backbone
  // from the "pretrained" weights (here: the cam run's own init, a second cam run), AMMs and
  // classifier2 fresh.
  amr::TrainConfig pre = tiny_config(data, "cam");
  pre.epochs = 1;
  pre.seed = 3;
  ASSERT_TRUE(amr::train(pre, quiet(dir / "pre")).finished);
  amr::TrainConfig amr_cfg = tiny_config(data, "amr");
  amr_cfg.routing = amr::Routing::Official;
  amr_cfg.spotlight_from = dir / "cam";
  amr_cfg.init = dir / "pre";
  amr_cfg.epochs = 1;
  ASSERT_TRUE(amr::train(amr_cfg, quiet(dir / "amr")).finished);
  auto cam_w = amr::read_pth(dir / "cam/model.pt"), amr_w = amr::read_pth(dir / "amr/model.pt"),
       pre_w = amr::read_pth(dir / "pre/model.pt");
  std::map<std::string, at::Tensor> cw(cam_w.begin(), cam_w.end()), aw(amr_w.begin(), amr_w.end()),
      pw(pre_w.begin(), pre_w.end());
  // Official routing: the spotlight backbone is the cam run's, untouched; the frozen
  // compensation layer1 is the pretrained one; the rest of the compensation trained from it.
  EXPECT_TRUE(torch::equal(cw["spotlight.layer3.0.conv1.weight"], aw["spotlight.layer3.0.conv1.weight"]));
  EXPECT_TRUE(torch::equal(pw["spotlight.layer1.0.conv1.weight"], aw["compensation.layer1.0.conv1.weight"]));
  EXPECT_FALSE(torch::equal(pw["spotlight.layer3.0.conv1.weight"], aw["compensation.layer3.0.conv1.weight"]));
  EXPECT_FALSE(torch::equal(cw["spotlight.layer3.0.conv1.weight"], aw["compensation.layer3.0.conv1.weight"]));
  EXPECT_TRUE(aw.count("compensation.layer2.0.amm.ChannelAMM.mlp.1.weight"));
  EXPECT_FALSE(torch::equal(aw["classifier.weight"], aw["classifier2.weight"]));

  // The explicit non-official option: the cam run in both branches, classifier2 = classifier.
  amr::TrainConfig both = tiny_config(data, "amr");
  both.routing = amr::Routing::Official;
  both.copy_cam_to_both = dir / "cam";
  both.resolve();
  amr::AmrNet copied(amr::net_options(both, 10));
  amr::initialize_weights(copied, both);
  EXPECT_TRUE(torch::equal(copied->compensation->layer3->named_parameters()["0.conv1.weight"],
                           cw["spotlight.layer3.0.conv1.weight"]));
  EXPECT_TRUE(torch::equal(copied->classifier2->weight, cw["classifier.weight"]));
  // A cam run is not a whole amr model: init_from says what to use instead.
  amr::TrainConfig wrong = tiny_config(data, "amr");
  wrong.init_from = dir / "cam";
  try {
    amr::train(wrong, quiet(dir / "wrong"));
    ADD_FAILURE() << "init_from a cam run accepted for the amr variant";
  } catch (const amr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("spotlight_from"), std::string::npos) << e.what();
  }

  amr::LoadedRun run = amr::load_run(dir / "amr", 10);
  EXPECT_TRUE(run.net->compensation);
  EXPECT_THROW(amr::load_run(dir / "amr", 7), amr::Error);
}

TEST(Train, NanLossStopsAndKeepsLastGoodCheckpoint) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 16);
  amr::TrainConfig c = tiny_config(data, "cam");
  c.lr = 1e12;
  c.checkpoint_every = 1;
  try {
    amr::train(c, quiet(dir / "run"));
    FAIL() << "a diverging run did not stop";
  } catch (const amr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss is"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("last.pt"), std::string::npos) << e.what();
  }
  ASSERT_TRUE(fs::exists(dir / "run/last.pt"));
  int64_t step = -1;
  for (auto& [k, v] : amr::read_pth(dir / "run/last.pt")) {
    if (k == "meta.step") step = v.item<int64_t>();
    if (k.rfind("model.", 0) == 0 && v.is_floating_point()) EXPECT_TRUE(torch::isfinite(v).all().item<bool>()) << k;
  }
  EXPECT_GE(step, 1);
  EXPECT_FALSE(fs::exists(dir / "run/model.pt"));

  // Diverging before the first checkpoint (per epoch): the message does not promise one.
  c.checkpoint_every = 0;
  try {
    amr::train(c, quiet(dir / "early"));
    FAIL() << "a diverging run did not stop";
  } catch (const amr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint was written before it"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "early/last.pt"));
}

TEST(Train, BadConfigAndOutputDir) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 8);
  amr::TrainConfig c = tiny_config(data, "cam");
  EXPECT_THROW(amr::train(c, quiet("/proc/amr-run")), amr::Error);
  c.variant = "fancy";
  EXPECT_THROW(amr::train(c, quiet(dir / "r")), amr::Error);
  EXPECT_THROW(amr::config_from_yaml_text("epochz: 3\n", "cfg"), amr::Error);
  EXPECT_THROW(amr::load_train_config("", {"lr=abc"}), amr::Error);
  amr::TrainConfig ok = amr::load_train_config("", {"lr=0.5", "strides=[2,2,1,1]", "variant=cam"});
  EXPECT_EQ(ok.lr, 0.5);
  EXPECT_EQ(ok.strides[2], 1);
  // The resolved config round-trips through YAML.
  ok.data = "x";
  ok.resolve();
  amr::TrainConfig back = amr::config_from_yaml_text(amr::to_yaml(ok), "roundtrip");
  EXPECT_EQ(amr::to_yaml(back), amr::to_yaml(ok));
}

TEST(Train, GradientAccumulationMatchesTheFullBatch) {
  // With running-statistics BatchNorm the loss is a plain mean over images, so two micro-batches
  // of 2 give the gradient of one batch of 4.
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 8);
  amr::TrainConfig c = tiny_config(data, "cam");
  c.bn = amr::BnMode::FixedStats;
  c.epochs = 2;
  amr::train(c, quiet(dir / "full"));
  c.accumulate = 2;
  amr::train(c, quiet(dir / "acc"));
  std::vector<double> a = step_losses(dir / "full"), b = step_losses(dir / "acc");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << "step " << i + 1;
  EXPECT_NE(a[0], a[3]);  // the weights did move
}

TEST(Train, PolyScheduleWithLinearWarmup) {
  at::Tensor w = torch::zeros({1});
  amr::PolySgd plain({{"g", {w}, 0.1, 0.0}}, 0.9, 0.9, 100);
  amr::PolySgd warm({{"g", {w}, 0.1, 0.0}}, 0.9, 0.9, 100, 4);
  for (int64_t step : {0, 1, 2, 3, 4, 50, 99}) {
    const double poly = 0.1 * std::pow(1.0 - step / 100.0, 0.9);
    EXPECT_NEAR(plain.lr(0, step), poly, 1e-12) << step;
    EXPECT_NEAR(warm.lr(0, step), poly * std::min(1.0, (step + 1) / 4.0), 1e-12) << step;
  }
  amr::TrainConfig c = tiny_config("/nonexistent", "cam");
  c.warmup_steps = -1;
  EXPECT_THROW(c.resolve(), amr::Error);
}

// tau given in a YAML file or by --set reaches the compensation AMMs (an observable output
// difference against tau 0), and the resolved config says so.
TEST(Train, TauFromYamlAndSetReachesTheAmm) {
  TempDir dir;
  const std::string yaml = dir / "c.yaml";
  std::ofstream(yaml) << "variant: amr\narch: resnet18\nstrides: [2, 2, 1, 1]\nbn: train\ntau: 0.4\n";
  amr::TrainConfig from_yaml = amr::load_train_config(yaml, {"data=x"});
  amr::TrainConfig from_set =
      amr::load_train_config("", {"data=x", "variant=amr", "arch=resnet18", "strides=[2, 2, 1, 1]", "bn=train", "tau=0.4"});
  amr::TrainConfig plain = amr::load_train_config("", {"data=x", "variant=amr", "arch=resnet18", "strides=[2, 2, 1, 1]", "bn=train"});
  torch::manual_seed(0);
  const at::Tensor x = torch::randn({2, 3, 48, 48});
  auto compensation_cam = [&](amr::TrainConfig c) {
    c.resolve();
    torch::manual_seed(3);
    amr::AmrNet net(amr::net_options(c, 5));
    net->eval();
    torch::NoGradGuard no_grad;
    return std::make_pair(net->options().amm.threshold.tau, net->forward(x).cam_c);
  };
  auto [tau_yaml, cam_yaml] = compensation_cam(from_yaml);
  auto [tau_set, cam_set] = compensation_cam(from_set);
  auto [tau_plain, cam_plain] = compensation_cam(plain);
  EXPECT_EQ(tau_yaml, 0.4);
  EXPECT_EQ(tau_set, 0.4);
  EXPECT_EQ(tau_plain, 0.0);
  EXPECT_TRUE(torch::equal(cam_yaml, cam_set));
  EXPECT_GT((cam_yaml - cam_plain).abs().max().item<double>(), 1e-4);
  from_yaml.resolve();
  EXPECT_NE(amr::to_yaml(from_yaml).find("tau: 0.4"), std::string::npos);
}

namespace {

// Loss, every gradient and every buffer after one forward + backward of `memory` mode.
struct StepResult {
  double loss;
  std::map<std::string, at::Tensor> grads, buffers;
};

StepResult one_step(amr::Routing routing, amr::MemoryMode memory) {
  torch::manual_seed(3);
  amr::AmrNetOptions o;
  o.backbone.arch = "resnet18";
  o.backbone.strides = {2, 2, 1, 1};
  o.backbone.bn = amr::BnMode::Train;
  o.num_classes = 4;
  o.amm.threshold = amr::gaussian_threshold(0.3, amr::TauMode::Relative);
  o.routing = routing;
  o.memory = memory;
  amr::AmrNet net(o);
  net->train();
  const at::Tensor images = torch::randn({3, 3, 40, 40});
  const at::Tensor labels = torch::tensor({1.f, 0.f, 0.f, 1.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 1.f, 1.f}).view({3, 4});
  amr::LossOptions lo;
  lo.area_weight = 0.05;
  amr::LossTerms t = amr::amr_loss(net->forward(images), labels, lo);
  t.total.backward();
  StepResult r{t.total.item<double>(), {}, {}};
  for (const auto& p : net->named_parameters())
    if (p.value().grad().defined()) r.grads[p.key()] = p.value().grad().clone();
  for (const auto& b : net->named_buffers()) r.buffers[b.key()] = b.value().clone();
  return r;
}

}  // namespace

TEST(MemoryCheckpoint, RecomputedBlocksGiveTheSameLossGradientsAndStatistics) {
  for (auto routing : {amr::Routing::Official, amr::Routing::Joint}) {
    SCOPED_TRACE(amr::to_string(routing));
    StepResult stored = one_step(routing, amr::MemoryMode::Store);
    StepResult recomputed = one_step(routing, amr::MemoryMode::Checkpoint);
    EXPECT_DOUBLE_EQ(stored.loss, recomputed.loss);
    ASSERT_EQ(stored.grads.size(), recomputed.grads.size());
    ASSERT_GT(stored.grads.count("compensation.layer3.0.conv1.weight"), 0u);
    for (const auto& [name, g] : stored.grads) {
      ASSERT_TRUE(recomputed.grads.count(name)) << name;
      const double scale = g.abs().max().item<double>() + 1e-12;
      EXPECT_LE((g - recomputed.grads[name]).abs().max().item<double>() / scale, 1e-5) << name;
    }
    // Running statistics moved once (a second update in the recomputation would show here).
    for (const auto& [name, b] : stored.buffers)
      EXPECT_TRUE(torch::equal(b, recomputed.buffers[name])) << name;
    EXPECT_FALSE(torch::equal(stored.buffers["compensation.layer3.0.bn1.running_mean"],
                              torch::zeros_like(stored.buffers["compensation.layer3.0.bn1.running_mean"])));
  }
  EXPECT_THROW(amr::parse_memory_mode("swap"), amr::Error);
}

TEST(MemoryCheckpoint, TrainingWithCheckpointsFollowsTheSameLosses) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 8);
  amr::TrainConfig c = tiny_config(data, "amr-improved");
  c.epochs = 2;
  amr::train(c, quiet(dir / "store"));
  c.memory = amr::MemoryMode::Checkpoint;
  amr::train(c, quiet(dir / "checkpoint"));
  std::vector<double> a = step_losses(dir / "store"), b = step_losses(dir / "checkpoint");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5 * std::abs(a[i])) << "step " << i + 1;
  amr::TrainConfig back = amr::config_from_yaml_text(amr::to_yaml(c), "roundtrip");
  EXPECT_EQ(back.memory, amr::MemoryMode::Checkpoint);
}

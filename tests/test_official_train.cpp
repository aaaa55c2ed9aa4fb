// Training parity with the official code: from the same weights and batch, the official
// train_cam / train_amr step (python3-torch, tests/python/official_train_step.py) and amr's step
// (the trainer's own forward_backward + PolySgd) give the same loss terms, parameters and
// momentum buffers after 1 and 3 steps; parameters that must not move stay bit-equal.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <memory>

#include "amr/base/error.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/weight_import.h"
#include "amr/base/runtime.h"
#include "amr/train/trainer.h"
#include "test_support.h"

using amr::test::TempDir;

namespace {

constexpr int kSteps = 3;
constexpr double kLr = 0.01;
constexpr int kMaxStep = 10;
constexpr double kTol = 1e-5;

using TensorMap = std::map<std::string, at::Tensor>;

TensorMap to_map(const amr::NamedTensors& t) { return TensorMap(t.begin(), t.end()); }

// An official state_dict file under amr's names.
// The oracle's files under amr's names (buffer dumps hold NaN where a parameter has no
// momentum buffer: renamed, not loaded into a model).
TensorMap official(const std::string& path) { return to_map(amr::rename_official_keys(amr::read_pth(path))); }

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// The spatial gate BatchNorm buffers of the frozen compensation layer1: the official updates
// them (its module never leaves training mode), amr leaves them alone; nothing reads them (the
// gate always normalizes with batch statistics, QUIRKS.md 1).
bool unread_buffer(const std::string& k) {
  return k.rfind("compensation.layer1.", 0) == 0 && k.find(".amm.SpatialAMM.spatial.bn.") != std::string::npos &&
         (k.find("running_") != std::string::npos || k.find("num_batches_tracked") != std::string::npos);
}

bool is_num_batches(const std::string& k) { return k.find("num_batches_tracked") != std::string::npos; }

class OfficialTrainStep : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!amr::test::reference_available())
      GTEST_SKIP() << "official AMR code not found beside the checkout (../shared/reference/amr-official)";
    amr::configure_runtime(1);  // the oracle's kernels
  }
  void TearDown() override { amr::configure_runtime(2); }

  static std::string oracle(const std::string& mode, TempDir& dir) {
    amr::test::run_python("official_train_step.py " + std::string(AMR_REFERENCE_DIR) + " " + mode + " " + dir.path() +
                          " " + std::to_string(kSteps) + " " + std::to_string(kLr) + " " + std::to_string(kMaxStep));
    return dir.path();
  }

  static amr::TrainConfig config(const std::string& mode) {
    amr::TrainConfig c;
    c.variant = mode == "cam" ? "cam" : "amr";
    c.data = "unused";
    c.arch = "resnet50";
    c.strides = {2, 2, 2, 1};
    c.bn = amr::BnMode::FixedStats;
    c.routing = amr::Routing::Official;
    c.batch = 2;
    c.lr = kLr;
    c.momentum = 1e-4;  // QUIRKS.md 3: PolyOptimizer puts weight_decay in SGD's momentum slot
    c.weight_decay = 1e-4;
    c.poly_power = 0.9;
    c.official_flip_pair = mode != "cam";  // QUIRKS.md 2
    c.resolve();
    return c;
  }
};

TEST_P(OfficialTrainStep, LossesParametersAndMomentumMatchTheOfficialStep) {
  const std::string mode = GetParam();
  TempDir dir;
  oracle(mode, dir);
  const amr::TrainConfig c = config(mode);
  amr::AmrNet net(amr::net_options(c, 20));
  const TensorMap init = official(dir / "init.pth");
  amr::load_state_dict(*net, amr::NamedTensors(init.begin(), init.end()), /*strict=*/true, "init.pth");
  net->train();
  amr::PolySgd sgd(amr::param_groups(net, c), c.momentum, c.poly_power, kMaxStep);

  const TensorMap batch = to_map(amr::read_pth(dir / "batch.pth"));
  const TensorMap loss = to_map(amr::read_pth(dir / "loss.pth"));
  double worst_loss = 0, worst_param = 0, worst_buf = 0;
  for (int step = 1; step <= kSteps; ++step) {
    sgd.zero_grad();
    const amr::StepLosses l = amr::forward_backward(net, batch.at("images"), batch.at("labels"), amr::loss_options(c), 1);
    sgd.step(step - 1);
    auto near = [&](const char* term, double ours) {
      const double d = std::abs(ours - loss.at(term)[step - 1].item<double>());
      worst_loss = std::max(worst_loss, d);
      EXPECT_LE(d, kTol) << term << " at step " << step;
    };
    near("total", l.total);
    near("cls1", l.cls_s);
    if (mode != "cam") {
      near("cls2", l.cls_c);
      near("cps", l.cps);
    }
    if (step != 1 && step != kSteps) continue;

    const TensorMap theirs = official(dir / ("step_" + std::to_string(step) + ".pth"));
    const TensorMap ours = to_map(amr::state_dict(*net));
    ASSERT_EQ(ours.size(), theirs.size());
    int frozen = 0;
    for (const auto& [k, v] : ours) {
      ASSERT_TRUE(theirs.count(k)) << k;
      if (unread_buffer(k)) continue;
      if (is_num_batches(k)) {
        EXPECT_EQ(v.item<int64_t>(), theirs.at(k).item<int64_t>()) << k;
        continue;
      }
      const double d = max_abs(v, theirs.at(k));
      worst_param = std::max(worst_param, d);
      EXPECT_LE(d, kTol) << k << " after " << step << " steps";
    }
    for (const auto& item : net->named_parameters()) {
      const std::string& k = item.key();
      const at::Tensor& p = item.value();
      if (!p.requires_grad()) {
        ++frozen;  // frozen stem, detached spotlight backbone / compensation layer1: bit-equal
        EXPECT_TRUE(torch::equal(p, theirs.at(k))) << k;
        EXPECT_TRUE(torch::equal(p, init.at(k))) << k << " moved";
      }
    }
    EXPECT_GT(frozen, 0);

    const TensorMap bufs = official(dir / ("buf_" + std::to_string(step) + ".pth"));
    int with_buffer = 0;
    for (const auto& item : net->named_parameters()) {
      const std::string& k = item.key();
      const at::Tensor& p = item.value();
      const at::Tensor theirs_buf = bufs.at(k);
      const at::Tensor ours_buf = sgd.momentum_buffer(p);
      if (torch::isnan(theirs_buf).all().item<bool>()) {
        EXPECT_FALSE(ours_buf.defined()) << k << ": amr holds a momentum buffer the official does not";
        continue;
      }
      ASSERT_TRUE(ours_buf.defined()) << k << ": no momentum buffer";
      ++with_buffer;
      const double d = max_abs(ours_buf, theirs_buf);
      worst_buf = std::max(worst_buf, d);
      EXPECT_LE(d, kTol) << k << " momentum after " << step << " steps";
    }
    EXPECT_GT(with_buffer, 0);
  }
  std::cout << "[" << mode << "] max abs difference over " << kSteps << " steps: loss terms " << worst_loss
            << ", parameters/buffers " << worst_param << ", momentum buffers " << worst_buf << "\n";
}

INSTANTIATE_TEST_SUITE_P(Official, OfficialTrainStep, ::testing::Values("cam", "amr"));

// `--spotlight-from CAM_RUN --init IMAGENET` builds the official train_amr initialization: the
// spotlight and classifier from the CAM checkpoint, the compensation backbone from ImageNet;
// only the fresh parts (AMMs, classifier2) differ from the official Net's.
TEST(OfficialInit, SpotlightFromAndInitBuildTheOfficialInitialization) {
  if (!amr::test::reference_available()) GTEST_SKIP() << "official AMR code not found beside the checkout";
  TempDir dir;
  amr::test::run_python("official_train_step.py " + std::string(AMR_REFERENCE_DIR) + " amr " + dir.path() +
                        " 0 0.01 10");
  // The CAM checkpoint as a cam run, the stand-in ImageNet as import-weights output.
  amr::ImportOptions o;
  o.arch = "resnet50";
  amr::write_pth(dir / "cam_model.pt", amr::import_weights(dir / "cam.pth", o).tensors);
  amr::write_pth(dir / "imagenet.pt", amr::import_weights(dir / "imagenet.pth", o).tensors);

  amr::TrainConfig c;
  c.variant = "amr";
  c.data = "unused";
  c.arch = "resnet50";
  c.bn = amr::BnMode::FixedStats;
  c.spotlight_from = dir / "cam_model.pt";
  c.init = dir / "imagenet.pt";
  c.resolve();
  amr::AmrNet net(amr::net_options(c, 20));
  amr::initialize_weights(net, c);

  amr::ImportOptions io;
  io.arch = "resnet50";
  const TensorMap theirs = to_map(amr::import_weights(dir / "init.pth", io).tensors);
  int compared = 0;
  for (const auto& [k, v] : amr::state_dict(*net)) {
    const bool fresh = k.find(".amm.") != std::string::npos || k.rfind("classifier2.", 0) == 0;
    if (fresh || is_num_batches(k)) continue;  // a counter that running-statistics BN never reads
    ++compared;
    EXPECT_TRUE(torch::equal(v, theirs.at(k))) << k;
  }
  EXPECT_GT(compared, 300);

  // The other combinations are refused with one line naming the key.
  amr::TrainConfig both = c;
  both.copy_cam_to_both = c.spotlight_from;
  EXPECT_THROW(both.resolve(), amr::Error);
  amr::TrainConfig whole = c;
  whole.spotlight_from.clear();
  whole.init.clear();
  whole.init_from = dir / "cam_model.pt";
  amr::AmrNet net2(amr::net_options(whole, 20));
  EXPECT_THROW(amr::initialize_weights(net2, whole), amr::Error);  // a cam run is not a whole amr model
}

}  // namespace

// The IRN network, its training labels, loss and optimizer step against the official code
// (net/resnet50_irn.py, voc12 GetAffinityLabelFromIndices, step/train_irn.py) on the same
// weights and batch; python3-torch writes them at test time (tests/python/official_irn_reference.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/irn/affinity_loss.h"
#include "amr/irn/path_index.h"
#include "amr/model/irn_net.h"
#include "amr/train/irn_step.h"
#include "test_support.h"

namespace {

using Dict = amr::test::TensorDict;
using amr::test::read_dict;

double max_abs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// One oracle run for the whole suite: ResNet-50 on CPU takes seconds.
class IrnParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!amr::test::reference_available()) return;
    dir_ = new amr::test::TempDir;
    amr::test::run_python(std::string("official_irn_reference.py ") + AMR_REFERENCE_DIR + " " + dir_->path() + " 3 0.1 10");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "official AMR code not found at " << AMR_REFERENCE_DIR;
    at::set_num_threads(1);  // the oracle's kernels
  }
  static amr::IrnNet load_net(int64_t crop = 512) {
    amr::IrnNetOptions opt;
    opt.crop = crop;
    amr::IrnNet net(opt);
    const amr::NamedTensors official = amr::read_pth(*dir_ / "weights.pth");
    amr::load_state_dict(*net, amr::irn_official_keys(official), /*strict=*/true, "weights.pth");
    return net;
  }
  static amr::test::TempDir* dir_;
};
amr::test::TempDir* IrnParity::dir_ = nullptr;

}  // namespace

TEST_F(IrnParity, ForwardEdgeAndDisplacement) {
  amr::IrnNet net = load_net();
  net->eval();
  const Dict ref = read_dict(*dir_ / "forward.pth");
  torch::NoGradGuard no_grad;
  const auto [edge, dp] = net->forward(ref.at("x"));
  ASSERT_EQ(edge.sizes(), ref.at("edge").sizes());
  ASSERT_EQ(dp.sizes(), ref.at("dp").sizes());
  EXPECT_GT(ref.at("edge").abs().max().item<double>(), 0.1);
  EXPECT_LT(max_abs(edge, ref.at("edge")), 1e-4);
  EXPECT_LT(max_abs(dp, ref.at("dp")), 1e-4);  // includes the mean shift of eval mode
}

TEST_F(IrnParity, BoundaryInferenceAsEdgeDisplacement) {
  // Through the file train_irn.py writes (the loss module's state_dict, derived buffers included).
  amr::IrnNet net = amr::load_irn_model(*dir_ / "res50_irn.pth", 96);
  net->eval();
  const Dict ref = read_dict(*dir_ / "infer.pth");
  const at::Tensor boundary = amr::infer_boundary(*net, ref.at("image"));
  ASSERT_EQ(boundary.sizes(), ref.at("boundary").sizes());  // ceil(70/4) x ceil(83/4)
  EXPECT_LT(max_abs(boundary, ref.at("boundary")), 1e-5);
}

TEST_F(IrnParity, AffinityLabelsEqualOfficial) {
  const Dict batch = read_dict(*dir_ / "batch.pth"), ref = read_dict(*dir_ / "labels.pth");
  const amr::PathIndices index = amr::path_indices(10, 32, 32);
  const at::Tensor label = batch.at("label");
  const at::Tensor reduced = at::stack({amr::reduce_label(label[0]), amr::reduce_label(label[1])});
  const amr::AffinityLabels l = amr::affinity_labels(reduced, index);
  EXPECT_TRUE(l.bg_pos.equal(ref.at("bg_pos")));
  EXPECT_TRUE(l.fg_pos.equal(ref.at("fg_pos")));
  EXPECT_TRUE(l.neg.equal(ref.at("neg")));
  EXPECT_GT(l.fg_pos.sum().item<double>(), 0);
  EXPECT_GT(l.neg.sum().item<double>(), 0);
}

TEST_F(IrnParity, LossTermsAndThreeTrainingSteps) {
  amr::IrnNet net = load_net();
  net->train();
  const Dict batch = read_dict(*dir_ / "batch.pth");
  const amr::PathIndices index = amr::path_indices(10, 32, 32);
  const at::Tensor label = batch.at("label");
  const amr::AffinityLabels labels = amr::affinity_labels(at::stack({amr::reduce_label(label[0]), amr::reduce_label(label[1])}), index);
  const std::map<std::string, at::Tensor> backbone_before = [&] {
    std::map<std::string, at::Tensor> m;
    for (const auto& item : net->resnet50->named_parameters()) m[item.key()] = item.value().clone();
    return m;
  }();
  // Quirk 3 of QUIRKS.md: PolyOptimizer's SGD momentum is its weight decay (1e-4); poly power 0.9.
  amr::PolySgd sgd(amr::irn_param_groups(*net, 0.1, 1e-4), 1e-4, 0.9, 10);
  for (int step = 1; step <= 3; ++step) {
    const amr::IrnFeatures f = net->features(batch.at("images"));
    const amr::AffinityLossTerms t = amr::affinity_displacement_loss(net->edge(f), net->displacement(f), labels, index);
    const Dict ref = read_dict(*dir_ / ("terms_" + std::to_string(step) + ".pth"));
    for (const auto& [name, mine] : std::map<std::string, at::Tensor>{{"pos_aff", t.pos_aff}, {"neg_aff", t.neg_aff}, {"dp_fg", t.dp_fg},
                                                                      {"dp_bg", t.dp_bg}, {"pos_aff_loss", t.pos_aff_loss},
                                                                      {"neg_aff_loss", t.neg_aff_loss}, {"dp_fg_loss", t.dp_fg_loss},
                                                                      {"dp_bg_loss", t.dp_bg_loss}, {"total", t.total}}) {
      ASSERT_EQ(mine.sizes(), ref.at(name).sizes()) << name;
      const double scale = std::max(1.0, ref.at(name).abs().max().item<double>());
      EXPECT_LT(max_abs(mine.detach(), ref.at(name)), 1e-5 * scale) << name << " at step " << step;
    }
    sgd.zero_grad();
    t.total.backward();
    sgd.step(step - 1);
    if (step == 2) continue;
    const Dict after = read_dict(*dir_ / ("step_" + std::to_string(step) + ".pth"));
    const amr::NamedTensors mine = amr::state_dict(*net);
    size_t compared = 0;
    for (const auto& [name, value] : mine) {
      if (!after.count(name)) continue;
      EXPECT_LT(max_abs(value, after.at(name)), 1e-5) << name << " after step " << step;
      ++compared;
    }
    EXPECT_EQ(compared, after.size() - 1);  // every branch tensor (fc_dp7.4.running_mean is mean_shift's alias)
  }
  for (const auto& item : net->resnet50->named_parameters()) EXPECT_TRUE(item.value().equal(backbone_before.at(item.key()))) << item.key();
}

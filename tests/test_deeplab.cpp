// DeepLab v2 / v3+ against the reference the AMR authors used (kazuto1011/deeplab-pytorch: its
// models, MSC, PolynomialLR and main.py's training step) on the same weights and batches;
// python3-torch writes them at test time (tests/python/deeplab_reference.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "amr/base/error.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/deeplab.h"
#include "amr/model/deeplab_file.h"
#include "amr/seg/seg_loss.h"
#include "amr/seg/seg_step.h"
#include "test_support.h"

namespace {

using Dict = amr::test::TensorDict;
using amr::test::read_dict;

double max_abs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

std::string deeplab_reference_dir() { return std::string(AMR_REFERENCE_DIR) + "/../deeplab-pytorch"; }

amr::DeepLabOptions r50(amr::SegHead head) {
  amr::DeepLabOptions o;
  o.arch = "resnet50";
  o.head = head;
  o.num_classes = 7;
  return o;
}

class DeepLabParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(deeplab_reference_dir() + "/libs/models/deeplabv2.py")) return;
    dir_ = new amr::test::TempDir;
    amr::test::run_python("deeplab_reference.py " + deeplab_reference_dir() + " " + dir_->path());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "reference DeepLab code not found at " << deeplab_reference_dir();
    at::set_num_threads(1);  // the oracle's kernels
  }
  static amr::test::TempDir* dir_;
};
amr::test::TempDir* DeepLabParity::dir_ = nullptr;

}  // namespace

TEST_F(DeepLabParity, V2ForwardWithAndWithoutMsc) {
  amr::SegNet net = amr::load_seg_model(*dir_ / "v2_msc.pth", r50(amr::SegHead::V2));
  EXPECT_EQ(net->options().arch, "resnet50");  // read from the tensors: layer4 of 6 blocks
  EXPECT_EQ(net->options().num_classes, 7);
  const Dict ref = read_dict(*dir_ / "forward.pth");
  torch::NoGradGuard no_grad;
  const at::Tensor single = net->base->forward(ref.at("x"));
  const at::Tensor msc = net->forward(ref.at("x"));
  ASSERT_EQ(single.sizes(), ref.at("v2").sizes());  // 97 x 113 -> 13 x 15 at stride 8 (ceil-mode pool)
  ASSERT_EQ(msc.sizes(), ref.at("v2_msc").sizes());
  EXPECT_GT(ref.at("v2").abs().max().item<double>(), 1.0);
  EXPECT_LT(max_abs(single, ref.at("v2")), 1e-4);
  EXPECT_LT(max_abs(msc, ref.at("v2_msc")), 1e-4);
}

TEST_F(DeepLabParity, V3PlusForwardWithMsc) {
  amr::DeepLabOptions fallback = r50(amr::SegHead::V2);  // the head is read from the tensors
  fallback.output_stride = 8;
  amr::SegNet net = amr::load_seg_model(*dir_ / "v3plus_msc.pth", fallback);
  EXPECT_EQ(net->options().head, amr::SegHead::V3Plus);
  const Dict ref = read_dict(*dir_ / "forward.pth");
  torch::NoGradGuard no_grad;
  const at::Tensor msc = net->forward(ref.at("x"));
  ASSERT_EQ(msc.sizes(), ref.at("v3plus_msc").sizes());
  const double scale = ref.at("v3plus_msc").abs().max().item<double>();
  EXPECT_LT(max_abs(msc, ref.at("v3plus_msc")) / scale, 1e-5) << "max |logit| " << scale;
}

TEST_F(DeepLabParity, ReferenceLayoutsImportWithEveryKeyChecked) {
  const amr::NamedTensors msc_file = amr::read_pth(*dir_ / "v2_msc.pth");
  for (const char* file : {"v2_msc.pth", "v2_plain.pth"}) {
    amr::SegNet net = amr::load_seg_model(*dir_ / file, r50(amr::SegHead::V2));
    std::map<std::string, at::Tensor> ours;
    for (auto& [k, v] : amr::state_dict(*net)) ours[k] = v;
    EXPECT_EQ(ours.size(), msc_file.size()) << file;
    for (const auto& [k, v] : msc_file) {
      ASSERT_TRUE(ours.count(k)) << file << ": " << k;
      EXPECT_TRUE(ours[k].equal(v)) << file << ": " << k;
    }
  }
  // A key renamed or a tensor of another shape: one line naming the file.
  amr::NamedTensors bad = msc_file;
  bad[3].first = "base.layer1.conv1.bn.weigth";
  amr::write_pth(*dir_ / "bad_key.pth", bad);
  EXPECT_THROW(amr::load_seg_model(*dir_ / "bad_key.pth", r50(amr::SegHead::V2)), amr::Error);
  amr::NamedTensors wrong_classes = msc_file;
  for (auto& [k, v] : wrong_classes)
    if (k.find("aspp") != std::string::npos) v = v.narrow(0, 0, 5).contiguous();
  amr::write_pth(*dir_ / "five.pth", wrong_classes);
  try {
    amr::load_seg_model(*dir_ / "five.pth", r50(amr::SegHead::V2), /*num_classes_or_0=*/7);
    FAIL() << "a 5-class model loaded for 7 classes";
  } catch (const amr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("5 classes"), std::string::npos) << e.what();
  }
}

TEST_F(DeepLabParity, LossAndSgdStepsAsMainPy) {
  amr::SegNet net = amr::load_seg_model(*dir_ / "v2_msc.pth", r50(amr::SegHead::V2));
  net->train();
  amr::SegTrainConfig c;
  c.lr = 2e-5, c.iterations = 10, c.lr_decay_every = 2;  // the oracle's settings
  amr::PolySgd sgd = amr::seg_optimizer(*net, c);
  const Dict batch = read_dict(*dir_ / "batch.pth");
  std::vector<amr::SegBatch> subs;
  for (int k = 0; k < 2; ++k)
    subs.push_back({batch.at("images_" + std::to_string(k)), batch.at("labels_" + std::to_string(k))});
  amr::NamedTensors before = amr::state_dict(*net);
  for (auto& [k, v] : before) v = v.clone();
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    const double loss = amr::accumulate_seg_gradients(*net, subs, 2.0);
    const Dict ref = read_dict(*dir_ / ("step_" + std::to_string(step + 1) + ".pth"));
    EXPECT_NEAR(sgd.lr(0, step), ref.at("lr_1x").item<double>(), 1e-15);
    EXPECT_NEAR(sgd.lr(1, step), ref.at("lr_10x").item<double>(), 1e-15);
    EXPECT_NEAR(sgd.lr(2, step), ref.at("lr_20x").item<double>(), 1e-15);
    EXPECT_NEAR(loss, ref.at("loss").item<double>(), 1e-5 * std::max(1.0, std::abs(loss))) << "step " << step + 1;
    sgd.step(step);
    if (step == 1) continue;
    double worst = 0, moved = 0;
    std::string worst_key;
    size_t i = 0;
    for (const auto& [k, v] : amr::state_dict(*net)) {
      const at::Tensor b = before[i++].second;
      if (k.find("num_batches") != std::string::npos) continue;
      const double d = max_abs(v, ref.at(k));
      if (d > worst) worst = d, worst_key = k;
      moved = std::max(moved, max_abs(ref.at(k), b));
    }
    EXPECT_GT(moved, 1e-4) << "the reference's step changed nothing: the comparison would be empty";
    EXPECT_LT(worst, 1e-5) << "after " << step + 1 << " steps, worst " << worst_key;
  }
}

TEST(DeepLab, PilNearestIndexAsPillow) {
  // Image.resize((41, 41), NEAREST) of a 321-wide ramp (Pillow 9, computed once):
  // floor((i + 0.5) * 321 / 41) accumulated in double.
  const std::vector<int64_t> idx = amr::pil_nearest_index(321, 41);
  ASSERT_EQ(idx.size(), 41u);
  EXPECT_EQ(idx[0], 3);
  EXPECT_EQ(idx[1], 11);
  EXPECT_EQ(idx[40], 317);
  const std::vector<int64_t> up = amr::pil_nearest_index(3, 7);  // upsampling repeats
  EXPECT_EQ(up, (std::vector<int64_t>{0, 0, 1, 1, 1, 2, 2}));
}

TEST(DeepLab, LossIgnoresUnlabelledAndAllIgnoredIsZero) {
  const at::Tensor logits = torch::randn({1, 3, 4, 4}, torch::requires_grad());
  at::Tensor labels = torch::full({1, 4, 4}, 255, torch::kLong);
  EXPECT_EQ(amr::segmentation_loss({logits}, labels).item<double>(), 0.0);  // PyTorch's mean: NaN
  labels[0][1][2] = 2;
  const double one_pixel = amr::segmentation_loss({logits}, labels).item<double>();
  const double expected = -torch::log_softmax(logits[0].select(1, 1).select(1, 2), 0)[2].item<double>();
  EXPECT_NEAR(one_pixel, expected, 1e-6);
}

TEST(DeepLab, MedianFrequencyWeights) {
  const at::Tensor w = amr::median_frequency_weights({600, 300, 100, 0});
  // shares 0.6, 0.3, 0.1: median 0.3 -> 0.5, 1, 3; an absent class 0
  EXPECT_NEAR(w[0].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(w[1].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(w[2].item<double>(), 3.0, 1e-6);
  EXPECT_EQ(w[3].item<double>(), 0.0);
}

TEST(DeepLab, OutputSizesOfBothHeads) {
  torch::NoGradGuard no_grad;
  amr::DeepLabOptions v2 = r50(amr::SegHead::V2);
  v2.msc_scales.clear();
  amr::SegNet a(v2);
  a->eval();
  EXPECT_EQ(a->forward(torch::randn({1, 3, 65, 65})).sizes(), (std::vector<int64_t>{1, 7, 9, 9}));
  amr::DeepLabOptions v3 = r50(amr::SegHead::V3Plus);
  v3.output_stride = 16;
  amr::SegNet b(v3);
  b->eval();
  EXPECT_EQ(b->forward(torch::randn({1, 3, 65, 70})).sizes(), (std::vector<int64_t>{1, 7, 65, 70}));
  EXPECT_EQ(amr::atrous_rates_of(v3), (std::vector<int64_t>{6, 12, 18}));
  amr::DeepLabOptions basic = v3;
  basic.arch = "resnet34";  // basic blocks: 512 channels into the ASPP, 64 into the decoder
  amr::SegNet c(basic);
  c->eval();
  EXPECT_EQ(c->forward(torch::randn({1, 3, 65, 70})).sizes(), (std::vector<int64_t>{1, 7, 65, 70}));
  amr::DeepLabOptions bad = v2;
  bad.output_stride = 16;
  EXPECT_THROW(amr::validate(bad), amr::Error);
}

// torchvision's ResNet-50 (an ImageNet .pth) as DeepLab's initial backbone: every backbone tensor
// lands under the MSRA names (conv1 -> layer1.conv1.conv, layerL.i.conv1 -> layer(L+1).block(i+1)
// .reduce.conv, downsample.0/1 -> shortcut.conv/bn), the head keeps its initialization.
TEST(DeepLab, TorchvisionResNet50InitializesTheBackbone) {
  amr::test::TempDir dir;
  amr::test::run_python("make_resnet_reference.py resnet50 " + dir.path() + " 32 2 zip");
  amr::DeepLabOptions o = r50(amr::SegHead::V2);
  amr::SegNet net(o);
  const at::Tensor head_before = net->base->aspp_v2->branches[0]->weight.clone();
  amr::load_seg_init(*net, dir / "weights.pth", "init");
  std::map<std::string, at::Tensor> tv, ours;
  for (auto& [k, v] : amr::read_pth(dir / "weights.pth")) tv[k] = v;
  for (auto& [k, v] : amr::state_dict(*net)) ours[k] = v;
  EXPECT_TRUE(ours["base.layer1.conv1.conv.weight"].equal(tv["conv1.weight"]));
  EXPECT_TRUE(ours["base.layer1.conv1.bn.running_var"].equal(tv["bn1.running_var"]));
  EXPECT_TRUE(ours["base.layer2.block1.reduce.conv.weight"].equal(tv["layer1.0.conv1.weight"]));
  EXPECT_TRUE(ours["base.layer4.block6.conv3x3.bn.bias"].equal(tv["layer3.5.bn2.bias"]));
  EXPECT_TRUE(ours["base.layer5.block1.shortcut.conv.weight"].equal(tv["layer4.0.downsample.0.weight"]));
  EXPECT_TRUE(ours["base.layer5.block3.increase.bn.weight"].equal(tv["layer4.2.bn3.weight"]));
  EXPECT_TRUE(net->base->aspp_v2->branches[0]->weight.equal(head_before));
  // A ResNet-18 (basic blocks) does not fit DeepLab's bottlenecks: one line naming the file.
  amr::test::run_python("make_resnet_reference.py resnet18 " + dir.path() + " 32 2 zip");
  amr::SegNet other(o);
  EXPECT_THROW(amr::load_seg_init(*other, dir / "weights.pth", "init"), amr::Error);
  // It fits DeepLab's ResNet-18 (basic blocks, for small data): conv1/conv2 of each block.
  amr::DeepLabOptions small = o;
  small.arch = "resnet18";
  amr::SegNet r18(small);
  amr::load_seg_init(*r18, dir / "weights.pth", "init");
  tv.clear(), ours.clear();
  for (auto& [k, v] : amr::read_pth(dir / "weights.pth")) tv[k] = v;
  for (auto& [k, v] : amr::state_dict(*r18)) ours[k] = v;
  EXPECT_TRUE(ours["base.layer2.block2.conv2.conv.weight"].equal(tv["layer1.1.conv2.weight"]));
  EXPECT_TRUE(ours["base.layer5.block1.shortcut.bn.running_mean"].equal(tv["layer4.0.downsample.1.running_mean"]));
  EXPECT_TRUE(ours["base.layer3.block1.conv1.bn.weight"].equal(tv["layer2.0.bn1.weight"]));
  EXPECT_EQ(ours.count("base.layer2.block1.shortcut.conv.weight"), 0u);  // 64 -> 64, stride 1: identity as torchvision
  // Its model file is read back as resnet18 from the tensors alone.
  amr::write_pth(dir / "r18_plain.pth", amr::state_dict(*r18));
  EXPECT_EQ(amr::load_seg_model(dir / "r18_plain.pth", o)->options().arch, "resnet18");
}

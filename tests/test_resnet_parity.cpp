// C++ ResNet == torchvision ResNet on the same random state_dict, loaded through the real .pth
// import path (python3-torch writes the file at test time).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/resnet.h"
#include "test_support.h"

namespace {

void check_parity(const std::string& arch, int size, int l4_stride, const std::string& format) {
  amr::test::TempDir dir;
  amr::test::run_python("make_resnet_reference.py " + arch + " " + dir.path() + " " + std::to_string(size) + " " +
                        std::to_string(l4_stride) + " " + format);
  amr::ImportOptions imp;
  imp.arch = arch;
  amr::ImportResult weights = amr::import_weights(dir / "weights.pth", imp);
  EXPECT_EQ(weights.format, amr::WeightFormat::TorchVision);
  EXPECT_TRUE(weights.report.clean()) << weights.report.summary();

  amr::ResNetOptions opt;
  opt.arch = arch;
  opt.strides = {2, 2, 2, l4_stride};
  opt.bn = amr::BnMode::FixedStats;
  amr::ResNet net(opt);
  amr::load_state_dict(*net, weights.tensors, /*strict=*/true, "weights.pth");
  net->eval();

  amr::NamedTensors io = amr::read_pth(dir / "io.pth");
  torch::NoGradGuard no_grad;
  at::Tensor y = net->forward(io[0].second);
  ASSERT_EQ(y.sizes(), io[1].second.sizes());
  double err = (y - io[1].second).abs().max().item<double>();
  EXPECT_LT(err, 1e-4) << arch << " max abs error " << err;
  EXPECT_GT(io[1].second.abs().max().item<double>(), 1e-2);  // not a degenerate all-zero output
}

}  // namespace

TEST(ResNetParity, ResNet18ZipFormatOutputStride32) { check_parity("resnet18", 64, 2, "zip"); }
TEST(ResNetParity, ResNet50LegacyFormatOutputStride16) { check_parity("resnet50", 64, 1, "legacy"); }
TEST(ResNetParity, ResNet34ZipFormat) { check_parity("resnet34", 48, 1, "zip"); }

// C++ ResNet == torchvision ResNet on the same random state_dict, loaded through the real .pth
// import path (python3-torch writes the file at test time).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/weight_import.h"
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
  const at::Tensor& x = io[0].second;
  const at::Tensor& y_ref = io[1].second;
  const at::Tensor& y_ref64 = io[2].second;
  torch::NoGradGuard no_grad;
  at::Tensor y = net->forward(x);
  ASSERT_EQ(y.sizes(), y_ref.sizes());
  const double scale = y_ref.abs().max().item<double>();
  EXPECT_GT(scale, 1e-1);  // not a degenerate all-zero output
  // float32: the two sides may pick different kernels (BLAS vs oneDNN, thread splits), whose
  // rounding differs; python3-torch alone disagrees with itself by ~3e-5 relative between 1 and
  // 2 threads on ResNet-50. Bound: 1e-4 max abs at unit scale.
  const double err = (y - y_ref).abs().max().item<double>();
  EXPECT_LT(err, 1e-4 * std::max(1.0, scale)) << arch << " float32 max abs error " << err << " at scale " << scale;

  // float32 with the reference's kernels: python3-torch runs with 1 thread here, which picks
  // the same convolution paths as 1 thread in LibTorch.
  {
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const double err1 = (net->forward(x) - y_ref).abs().max().item<double>();
    at::set_num_threads(threads);
    EXPECT_LT(err1, 1e-4) << arch << " float32 (1 thread) max abs error " << err1;
  }

  // float64 on both sides: structural parity, free of rounding noise.
  net->to(torch::kFloat64);
  const double err64 = (net->forward(x.to(torch::kFloat64)) - y_ref64).abs().max().item<double>();
  EXPECT_LT(err64, 1e-4) << arch << " float64 max abs error " << err64;
  EXPECT_LT(err64, 1e-9) << arch << " float64 max abs error " << err64;
}

}  // namespace

TEST(ResNetParity, ResNet18ZipFormatOutputStride32) { check_parity("resnet18", 64, 2, "zip"); }
TEST(ResNetParity, ResNet50LegacyFormatOutputStride16) { check_parity("resnet50", 64, 1, "legacy"); }
TEST(ResNetParity, ResNet34ZipFormat) { check_parity("resnet34", 48, 1, "zip"); }

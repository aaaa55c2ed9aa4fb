#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/amm.h"
#include "test_support.h"

namespace {

at::Tensor take(amr::NamedTensors& t, const std::string& name) {
  for (auto it = t.begin(); it != t.end(); ++it) {
    if (it->first == name) {
      at::Tensor v = it->second;
      t.erase(it);
      return v;
    }
  }
  throw std::runtime_error("missing " + name);
}

void check_against_official(bool training_mode) {
  if (!amr::test::reference_available()) GTEST_SKIP() << "official AMR code not found at " << AMR_REFERENCE_DIR;
  amr::test::TempDir dir;
  const int64_t channels = 64;
  amr::test::run_python(std::string("make_amm_reference.py ") + AMR_REFERENCE_DIR + " " + dir.path() + " " +
                        std::to_string(channels));
  amr::NamedTensors t = amr::read_pth(dir / "amm.pth");
  at::Tensor x = take(t, "x"), grad_out = take(t, "grad_out"), y_ref = take(t, "y"), x_grad_ref = take(t, "x_grad");

  amr::AmmOptions opt;  // official: the spatial BN uses batch statistics even in eval()
  amr::Amm amm(channels, opt);
  amr::load_state_dict(*amm, t, /*strict=*/true, "amm.pth");
  amm->train(training_mode);

  at::Tensor xin = x.clone().requires_grad_(true);
  at::Tensor y = amm->forward(xin);
  y.backward(grad_out);
  EXPECT_LT((y - y_ref).abs().max().item<double>(), 1e-5);
  EXPECT_LT((xin.grad() - x_grad_ref).abs().max().item<double>(), 1e-5);
  EXPECT_GT(y_ref.abs().max().item<double>(), 1e-3);
}

}  // namespace

TEST(Amm, ForwardAndInputGradientEqualOfficialInTraining) { check_against_official(true); }
TEST(Amm, EvalModeKeepsOfficialBatchStatistics) { check_against_official(false); }

TEST(Amm, GaussianIsTheDetachedDensityOverTheWholeTensor) {
  torch::manual_seed(3);
  at::Tensor x = torch::randn({3, 5}, torch::kFloat64);
  at::Tensor g = amr::gaussian_modulation(x, {});
  const double mu = x.mean().item<double>();
  const double sigma = x.std().item<double>();  // unbiased
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      const double v = x[i][j].item<double>();
      const double expected = std::exp(-(v - mu) * (v - mu) / (2 * sigma * sigma)) / (std::sqrt(2 * M_PI) * sigma);
      EXPECT_NEAR(g[i][j].item<double>(), expected, 1e-12);
    }
}

TEST(Amm, ThresholdZeroesOnlyValuesBelowTau) {
  torch::manual_seed(4);
  at::Tensor x = torch::randn({4, 64}, torch::kFloat64);
  at::Tensor plain = amr::gaussian_modulation(x, {});
  const double peak = 1.0 / (std::sqrt(2 * M_PI) * x.std().item<double>());
  for (bool relative : {true, false}) {
    const double tau = relative ? 0.5 : 0.5 * peak;
    at::Tensor thr = amr::gaussian_modulation(x, {tau, relative ? amr::TauMode::Relative : amr::TauMode::Absolute});
    at::Tensor keep = relative ? (plain / peak >= tau) : (plain >= tau);
    EXPECT_GT(keep.sum().item<int64_t>(), 0);
    EXPECT_LT(keep.sum().item<int64_t>(), keep.numel());
    EXPECT_TRUE(torch::allclose(thr, torch::where(keep, plain, torch::zeros_like(plain)), 0, 1e-15));
  }
  // tau = 0 is plain AMM exactly.
  EXPECT_TRUE(torch::equal(amr::gaussian_modulation(x, {0.0, amr::TauMode::Relative}), plain));
}

TEST(Amm, ThresholdGradientFlowsOnlyThroughKeptValues) {
  torch::manual_seed(5);
  at::Tensor x = torch::randn({2, 32}, torch::kFloat64).requires_grad_(true);
  at::Tensor g = amr::gaussian_modulation(x, {0.6, amr::TauMode::Relative});
  g.sum().backward();
  at::Tensor zeroed = (g == 0);
  EXPECT_GT(zeroed.sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::all(x.grad().masked_select(zeroed) == 0).item<bool>());
}

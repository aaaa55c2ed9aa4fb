// A tiny AMR net (ResNet-18, both branches, from scratch) overfits two images.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "amr/model/amr_net.h"
#include "amr/model/losses.h"

namespace {
double overfit(amr::Routing routing, double area_weight, double tau) {
  torch::manual_seed(0);
  amr::AmrNetOptions opt;
  opt.backbone.arch = "resnet18";
  opt.backbone.bn = amr::BnMode::Train;
  opt.backbone.strides = {2, 2, 1, 1};
  opt.num_classes = 4;
  opt.routing = routing;
  opt.amm.threshold.tau = tau;
  amr::AmrNet net(opt);
  net->train();
  at::Tensor images = torch::randn({2, 3, 48, 48});
  at::Tensor labels = torch::tensor({{1.f, 0.f, 1.f, 0.f}, {0.f, 1.f, 0.f, 0.f}});
  std::vector<at::Tensor> params;
  for (auto& p : net->parameters())
    if (p.requires_grad()) params.push_back(p);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.02).momentum(0.9));
  amr::LossOptions lopt;
  lopt.area_weight = area_weight;
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    sgd.zero_grad();
    amr::LossTerms t = amr::amr_loss(net->forward(images), labels, lopt);
    t.total.backward();
    sgd.step();
    if (step == 0) first = t.total.item<double>();
    last = t.total.item<double>();
  }
  EXPECT_TRUE(std::isfinite(last));
  return last / first;
}
}  // namespace

TEST(Overfit, JointAmrLossHalvesIn50Steps) { EXPECT_LE(overfit(amr::Routing::Joint, 0.0, 0.0), 0.5); }
TEST(Overfit, ImprovedAmrLossHalvesIn50Steps) { EXPECT_LE(overfit(amr::Routing::Joint, 0.1, 0.2), 0.5); }

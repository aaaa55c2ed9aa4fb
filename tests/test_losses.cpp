#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "amr/io/pth.h"
#include "amr/model/losses.h"
#include "test_support.h"

namespace {
std::map<std::string, at::Tensor> load_reference(const amr::test::TempDir& dir) {
  amr::test::run_python("make_loss_reference.py " + dir.path());
  std::map<std::string, at::Tensor> m;
  for (auto& [k, v] : amr::read_pth(dir / "loss.pth")) m[k] = v;
  return m;
}
double val(const at::Tensor& t) { return t.item<double>(); }
}  // namespace

TEST(Losses, EqualPythonFormulas) {
  amr::test::TempDir dir;
  auto r = load_reference(dir);
  amr::AmrOutput out;
  out.logits_s = r["logits_s"];
  out.logits_c = r["logits_c"];
  out.cam_s = r["cam_s"];
  out.cam_c = r["cam_c"];
  amr::LossOptions opt;
  opt.cps_weight = 0.05;
  opt.area_weight = 0.3;
  amr::LossTerms t = amr::amr_loss(out, r["labels"], opt);
  EXPECT_NEAR(val(t.cls), val(r["cls"]), 1e-5);
  EXPECT_NEAR(val(t.cps), val(r["cps"]), 1e-5);
  EXPECT_NEAR(val(t.area), val(r["area"]), 1e-5);
  EXPECT_NEAR(val(t.total), val(r["total"]), 1e-5);

  opt.area_on_spotlight = false;  // official routing: the compensation CAM only
  t = amr::amr_loss(out, r["labels"], opt);
  EXPECT_NEAR(val(t.area), val(r["area_compensation"]), 1e-5);
  EXPECT_NEAR(val(t.total), val(r["cls"]) + 0.05 * val(r["cps"]) + 0.3 * val(r["area_compensation"]), 1e-5);

  opt.area_weight = 0.0;
  opt.official_flip_pair = true;
  t = amr::amr_loss(out, r["labels"], opt);
  EXPECT_NEAR(val(t.cps), val(r["cps_pair"]), 1e-5);
  EXPECT_NEAR(val(t.total), val(r["total_pair"]), 1e-5);
  EXPECT_FALSE(t.area.defined());

  amr::AmrOutput single;
  single.logits_s = r["logits_s"];
  single.cam_s = r["cam_s"];
  opt.area_weight = 0.3;
  t = amr::amr_loss(single, r["labels"], opt);
  EXPECT_NEAR(val(t.total), val(r["single"]), 1e-5);
}

TEST(Losses, WrongLabelShapeIsAnError) {
  amr::AmrOutput out;
  out.logits_s = torch::zeros({2, 5});
  out.cam_s = torch::zeros({2, 5, 3, 3});
  EXPECT_THROW(amr::amr_loss(out, torch::zeros({2, 4}), {}), std::exception);
}

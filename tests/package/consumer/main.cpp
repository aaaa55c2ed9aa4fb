// A program built against the installed amr package: an AMR net from its description, one
// forward pass, the description written and read back through a model file.
#include <torch/torch.h>

#include <iostream>

#include "amr/model/amr_net.h"
#include "amr/model/model_file.h"
#include "amr/base/runtime.h"

int main(int argc, char** argv) {
  amr::configure_runtime(1);
  amr::AmrNetOptions opt;
  opt.backbone.arch = "resnet18";
  opt.num_classes = 3;
  opt.amm.threshold.tau = 0.3;
  amr::AmrNet net(opt);
  net->eval();
  torch::NoGradGuard no_grad;
  const amr::AmrOutput out = net->forward(torch::randn({1, 3, 64, 64}));
  amr::save_model(std::string(argv[1]) + "/m.pt", net);
  const amr::ModelFile f = amr::read_model_file(std::string(argv[1]) + "/m.pt");
  std::cout << "cam_c " << out.cam_c.sizes() << " tau " << f.description->amm.threshold.tau << "\n";
  return argc == 2 && out.cam_c.size(1) == 3 && f.description->amm.threshold.tau == 0.3 ? 0 : 1;
}

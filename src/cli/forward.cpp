#include <chrono>
#include <iostream>

#include <torch/torch.h>

#include "amr/model/amr_net.h"
#include "commands.h"

namespace amr::cli {

void add_forward(CLI::App& app, const RuntimeFlags& runtime) {
  struct Args {
    std::string arch = "resnet50";
    int64_t size = 224, classes = 20;
    double tau = 0.0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("forward", "one forward pass of a randomly initialized AMR net on a random image");
  cmd->add_option("--arch", a->arch, "resnet18 | resnet34 | resnet50");
  cmd->add_option("--size", a->size, "image side")->check(between(32, 4096));
  cmd->add_option("--num-classes", a->classes, "foreground classes")->check(at_least(1));
  cmd->add_option("--tau", a->tau, "Gaussian threshold (relative)")->check(between(0, 1));
  add_threads(cmd, runtime);
  on_run(cmd, runtime, [a](const Runtime& rt) {
    AmrNetOptions opt;
    opt.backbone.arch = a->arch;
    opt.backbone.bn = BnMode::Train;
    opt.num_classes = a->classes;
    opt.amm.threshold = gaussian_threshold(a->tau, TauMode::Relative);
    validate(opt.backbone);
    AmrNet net(opt);
    net->eval();
    torch::manual_seed(0);
    at::Tensor image = torch::randn({1, 3, a->size, a->size});
    auto t0 = std::chrono::steady_clock::now();
    AmrOutput out;
    {
      torch::NoGradGuard no_grad;
      out = net->forward(image);
    }
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "AMR " << a->arch << " on a random " << a->size << "x" << a->size << " image (" << rt.threads
              << " threads, " << ms << " ms)\n"
              << "  spotlight logits " << out.logits_s.sizes() << ", CAM " << out.cam_s.sizes() << "\n"
              << "  compensation logits " << out.logits_c.sizes() << ", CAM " << out.cam_c.sizes() << "\n";
  });
}

}  // namespace amr::cli

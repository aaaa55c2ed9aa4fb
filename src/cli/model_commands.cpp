#include <chrono>
#include <iostream>

#include "amr/model/amr_net.h"
#include "amr/model/model_file.h"
#include "amr/model/weight_import.h"
#include "commands.h"

namespace amr::cli {

void add_import_weights(CLI::App& app) {
  struct Args {
    std::string from, arch = "resnet50", format = "auto", out;
    bool no_strict = false;
    int64_t num_classes = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("import-weights", "convert a PyTorch .pth (torchvision, official AMR, IRN) to amr weights");
  cmd->add_option("--from", a->from, "source .pth (zip or legacy format)")->required();
  cmd->add_option("--arch", a->arch, "resnet18 | resnet34 | resnet50");
  cmd->add_option("--format", a->format, "auto | torchvision | amr-official | irn-cam");
  cmd->add_option("--out", a->out, "output weights file")->required();
  cmd->add_flag("--no-strict", a->no_strict, "load matching keys only (mis-shaped keys still fail)");
  cmd->add_option("--num-classes", a->num_classes, "expected classifier classes (checked; 0 = take the file's)")
      ->check(CLI::NonNegativeNumber);
  add_threads(cmd);
  on_run(cmd, [a](const Runtime& rt) {
    ImportOptions opt;
    opt.arch = a->arch;
    opt.format = parse_weight_format(a->format);
    opt.strict = !a->no_strict;
    opt.num_classes = a->num_classes;
    ImportResult r = import_weights(a->from, opt);
    if (r.model) {
      write_model_file(a->out, r.tensors, *r.model);
    } else {
      write_pth(a->out, r.tensors);  // a bare backbone: --init material, not a model
    }
    std::cout << "imported " << r.tensors.size() << " tensors from " << a->from << " (" << to_string(r.format) << ", "
              << a->arch << (r.num_classes ? ", " + std::to_string(r.num_classes) + " classes" : std::string())
              << "): " << r.report.summary() << "\nwrote " << a->out << "\n";
  });
}

void add_forward(CLI::App& app) {
  struct Args {
    std::string arch = "resnet50";
    int64_t size = 224, classes = 20;
    double tau = 0.0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("forward", "one forward pass of a randomly initialized AMR net on a random image");
  cmd->add_option("--arch", a->arch, "resnet18 | resnet34 | resnet50");
  cmd->add_option("--size", a->size, "image side")->check(CLI::Range(32, 4096));
  cmd->add_option("--num-classes", a->classes, "foreground classes")->check(CLI::PositiveNumber);
  cmd->add_option("--tau", a->tau, "Gaussian threshold (relative)")->check(CLI::Range(0.0, 1.0));
  add_threads(cmd);
  on_run(cmd, [a](const Runtime& rt) {
    AmrNetOptions opt;
    opt.backbone.arch = a->arch;
    opt.backbone.bn = BnMode::Train;
    opt.num_classes = a->classes;
    opt.amm.threshold.tau = a->tau;
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

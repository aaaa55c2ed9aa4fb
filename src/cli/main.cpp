// The `amr` command line: parses flags, calls the library, prints. No logic lives here.
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>

#include "amr/io/error.h"
#include "amr/io/weights.h"
#include "amr/model/amr_net.h"
#include "amr/model/losses.h"
#include "amr/runtime.h"

namespace {

int threads_flag = 0;

void add_threads(CLI::App* app) {
  app->add_option("--threads", threads_flag, "intra-op threads (0 = all available cores)")->check(CLI::NonNegativeNumber);
}

void run_import(const std::string& from, const std::string& arch, const std::string& format, const std::string& out,
                bool no_strict, int64_t num_classes) {
  amr::ImportOptions opt;
  opt.num_classes = num_classes;
  opt.arch = arch;
  opt.format = amr::parse_weight_format(format);
  opt.strict = !no_strict;
  amr::ImportResult r = amr::import_weights(from, opt);
  amr::write_pth(out, r.tensors);
  std::cout << "imported " << r.tensors.size() << " tensors from " << from << " (" << amr::to_string(r.format)
            << ", " << arch << (r.num_classes ? ", " + std::to_string(r.num_classes) + " classes" : std::string())
            << "): " << r.report.summary() << "\nwrote " << out << "\n";
}

void run_forward(const std::string& arch, int64_t size, int64_t classes, double tau) {
  amr::AmrNetOptions opt;
  opt.backbone.arch = arch;
  opt.backbone.bn = amr::BnMode::Train;
  opt.num_classes = classes;
  opt.amm.threshold.tau = tau;
  amr::AmrNet net(opt);
  net->eval();
  torch::manual_seed(0);
  at::Tensor image = torch::randn({1, 3, size, size});
  auto t0 = std::chrono::steady_clock::now();
  amr::AmrOutput out;
  {
    torch::NoGradGuard no_grad;
    out = net->forward(image);
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "AMR " << arch << " on a random " << size << "x" << size << " image (" << at::get_num_threads()
            << " threads, " << ms << " ms)\n"
            << "  spotlight logits " << out.logits_s.sizes() << ", CAM " << out.cam_s.sizes() << "\n"
            << "  compensation logits " << out.logits_c.sizes() << ", CAM " << out.cam_c.sizes() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"amr: Activation Modulation and Recalibration (AAAI 2022) for weakly-supervised segmentation"};
  app.require_subcommand(1);
  add_threads(&app);

  std::string from, arch = "resnet50", format = "auto", out;
  bool no_strict = false;
  auto* imp = app.add_subcommand("import-weights", "convert a PyTorch .pth (torchvision, official AMR, IRN) to amr weights");
  imp->add_option("--from", from, "source .pth (zip or legacy format)")->required();
  imp->add_option("--arch", arch, "resnet18 | resnet34 | resnet50");
  imp->add_option("--format", format, "auto | torchvision | amr-official | irn-cam");
  imp->add_option("--out", out, "output weights file")->required();
  imp->add_flag("--no-strict", no_strict, "load matching keys only (mis-shaped keys still fail)");
  int64_t import_classes = 0;
  imp->add_option("--num-classes", import_classes, "expected classifier classes (checked; 0 = take the file's)")
      ->check(CLI::NonNegativeNumber);
  add_threads(imp);

  int64_t size = 224, classes = 20;
  double tau = 0.0;
  auto* fwd = app.add_subcommand("forward", "one forward pass of a randomly initialized AMR net on a random image");
  fwd->add_option("--arch", arch, "resnet18 | resnet34 | resnet50");
  fwd->add_option("--size", size, "image side")->check(CLI::Range(32, 4096));
  fwd->add_option("--num-classes", classes, "foreground classes")->check(CLI::PositiveNumber);
  fwd->add_option("--tau", tau, "Gaussian threshold (relative)")->check(CLI::Range(0.0, 1.0));
  add_threads(fwd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    amr::configure_runtime(threads_flag);
    if (*imp) run_import(from, arch, format, out, no_strict, import_classes);
    if (*fwd) run_forward(arch, size, classes, tau);
  } catch (const std::exception& e) {
    std::cerr << "amr: error: " << amr::one_line(e) << "\n";
    return 2;
  }
  return 0;
}

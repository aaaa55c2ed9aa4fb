#include <iostream>

#include "amr/model/model_file.h"
#include "amr/model/weight_import.h"
#include "commands.h"

namespace amr::cli {

void add_import_weights(CLI::App& app, const RuntimeFlags& runtime) {
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
      ->check(at_least(0));
  add_threads(cmd, runtime);
  on_run(cmd, runtime, [a](const Runtime&) {
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

}  // namespace amr::cli

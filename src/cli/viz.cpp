#include <iostream>

#include "amr/cam/visualize.h"
#include "commands.h"

namespace amr::cli {

void add_viz(CLI::App& app, const RuntimeFlags& runtime) {
  auto o = std::make_shared<VizOptions>();
  auto* cmd = app.add_subcommand("viz", "per-image PNG: image, CAM overlays, pseudo-label, ground truth");
  cmd->add_option("--cams", o->cams, "directory of <id>.npz")->required();
  cmd->add_option("--data", o->data, "dataset root")->required();
  cmd->add_option("--list", o->list, "ids")->required();
  cmd->add_option("--out", o->out, "output directory")->required();
  cmd->add_option("--bg-threshold", o->bg_threshold, "background threshold of the pseudo-label")->check(between(0, 1));
  cmd->add_option("--max-images", o->max_images, "only the first N ids")->check(at_least(0));
  add_threads(cmd, runtime);
  on_run(cmd, runtime, [o](const Runtime& rt) {
    std::cout << "wrote " << write_visualizations(*o, rt) << " visualizations to " << o->out << "\n";
  });
}

}  // namespace amr::cli

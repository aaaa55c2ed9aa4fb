#include <iostream>

#include "amr/cam/cam_runner.h"
#include "amr/irn/masks.h"
#include "commands.h"

namespace amr::cli {

void add_masks(CLI::App& app, const RuntimeFlags& runtime) {
  auto o = std::make_shared<MaskRunOptions>();
  auto* cmd = app.add_subcommand("masks", "pseudo-masks: IRN's random walk of the stride-4 CAMs over the boundary map (make_sem_seg_labels)");
  cmd->add_option("--cams", o->cams, "directory of <id>.npz written by amr cam (their cam_stride4)")->required();
  cmd->add_option("--data", o->data, "dataset root (JPEGImages/, classes)")->required();
  cmd->add_option("--list", o->list, "ids")->required();
  cmd->add_option("--irn", o->irn, "IRN model file (amr's, or the official res50_irn.pth)")->required();
  cmd->add_option("--out", o->out, "output directory of <id>.png (VOC palette)")->required();
  cmd->add_option("--scores", o->scores, "also write the walked class scores here as CAM files (<id>.npz), for amr eval --cams --sweep");
  auto& m = o->mask;
  cmd->add_option("--beta", m.walk.beta, "affinity exponent of the transition matrix (official 10)");
  cmd->add_option("--exp-times", m.walk.exp_times, "the walk runs 2^exp-times steps (official 8)");
  cmd->add_option("--walk-radius", m.walk.radius, "neighbourhood radius at stride 4 (official 5)");
  cmd->add_option("--cam-power", m.cam_power, "stride-4 CAMs raised to this power before the walk (official 1.5)");
  cmd->add_option("--bg-threshold", m.bg_threshold, "background where every walked class is <= this (official 0.25)");
  cmd->add_option("--crop", o->crop, "boundary inference pads images to at least crop x crop (the IRN training crop)")->check(CLI::Range(16, 4096));
  add_parsed(cmd, "--shard", "i/n: process every n-th id from i", [o](const std::string& v) {
    const Shard s = parse_shard_spec(v);
    o->shard_index = s.index, o->shard_count = s.count;
  });
  cmd->add_flag("--resume", o->resume, "skip ids whose mask exists and is valid");
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  add_threads(cmd, runtime);
  add_device(cmd, runtime);
  on_run(cmd, runtime, [o](const Runtime& rt) {
    const MaskRunSummary s = make_masks(*o, rt);
    std::cout << "wrote " << s.written << " masks to " << o->out << " (" << s.skipped << " already there, " << s.in_shard
              << " in this shard)\n";
  });
}

}  // namespace amr::cli

#include <iostream>

#include "amr/cam/pseudo_label.h"
#include "commands.h"

namespace amr::cli {
namespace {

void add_crf_flags(CLI::App* cmd, LabelOptions& o) {
  auto& c = o.crf_options;
  cmd->add_flag("--crf", o.crf, "refine with the dense CRF (mean field, permutohedral lattice; IRN's parameters)");
  cmd->add_option("--crf-iterations", c.iterations, "mean-field iterations (at most 100)")->check(between(0, kMaxCrfIterations));
  cmd->add_option("--crf-gauss-sxy", c.gauss_sxy, "smoothness kernel: position std (px)")->check(above(0));
  cmd->add_option("--crf-gauss-compat", c.gauss_compat, "smoothness kernel: Potts weight")->check(at_least(0));
  cmd->add_option("--crf-bi-sxy", c.bi_sxy, "appearance kernel: position std (px)")->check(above(0));
  cmd->add_option("--crf-bi-srgb", c.bi_srgb, "appearance kernel: colour std")->check(above(0));
  cmd->add_option("--crf-bi-compat", c.bi_compat, "appearance kernel: Potts weight")->check(at_least(0));
  cmd->add_option("--crf-gt-prob", c.gt_prob, "unary: probability of the thresholded label")->check(between(0.01, 0.99));
}

}  // namespace

void add_label(CLI::App& app, const RuntimeFlags& runtime) {
  auto o = std::make_shared<LabelOptions>();
  auto* cmd = app.add_subcommand("label", "pseudo-label PNGs (VOC palette) from CAMs");
  cmd->add_option("--cams", o->cams, "directory of <id>.npz")->required();
  cmd->add_option("--data", o->data, "dataset root (classes.txt)")->required();
  cmd->add_option("--list", o->list, "ids")->required();
  cmd->add_option("--out", o->out, "output directory of <id>.png")->required();
  cmd->add_option("--bg-threshold", o->bg_threshold, "background threshold")->check(between(0, 1));
  add_optional(cmd, "--fg", o->fg, "two thresholds: foreground above this...")->check(between(0, 1));
  add_optional(cmd, "--bg", o->bg, "...background at or below this, 255 (unsure) between")->check(between(0, 1));
  add_crf_flags(cmd, *o);
  cmd->add_flag("--resume", o->resume, "keep labels that exist and are readable PNGs of their image's size");
  add_threads(cmd, runtime);
  on_run(cmd, runtime, [o](const Runtime& rt) {
    std::cout << "wrote " << write_pseudo_labels(*o, rt) << " pseudo-labels to " << o->out << "\n";
  });
}

}  // namespace amr::cli

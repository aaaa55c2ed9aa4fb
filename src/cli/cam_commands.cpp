#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "amr/cam/cam_runner.h"
#include "amr/cam/erase_test.h"
#include "amr/cam/pseudo_label.h"
#include "amr/eval/report.h"
#include "amr/eval/segmentation.h"
#include <filesystem>
#include "amr/io/atomic_file.h"
#include "amr/io/error.h"
#include "commands.h"

namespace amr::cli {

// Flags whose value is parsed into a typed field when CLI11 reads it (errors name the flag).
template <typename F>
void add_parsed(CLI::App* cmd, const std::string& flag, const std::string& help, F parse) {
  cmd->add_option_function<std::string>(flag, parse, help);
}

void add_cam(CLI::App& app) {
  auto o = std::make_shared<CamRunOptions>();
  auto* cmd = app.add_subcommand("cam", "multi-scale CAMs of a trained run: one .npz per image");
  cmd->add_option("--run", o->run, "training run directory");
  cmd->add_option("--weights", o->weights, "or a model file (amr's carry their model description)");
  cmd->add_option("--arch", o->arch, "with --weights of another tool: resnet18 | resnet34 | resnet50 (default)");
  cmd->add_option("--tau", o->tau, "with --weights of another tool: the AMMs' Gaussian threshold (amr-improved: 0.3; default 0)");
  cmd->add_option("--tau-mode", o->tau_mode, "with --weights of another tool: relative (default) | absolute");
  cmd->add_option("--data", o->data, "dataset root (VOC layout)")->required();
  cmd->add_option("--list", o->list, "ids to process (file, or name under --data)")->required();
  cmd->add_option("--out", o->out, "output directory of <id>.npz")->required();
  add_parsed(cmd, "--scales", "comma list of scales (default 1.0,0.5,1.5,2.0)",
             [o](const std::string& v) { o->cam.scales = parse_scales(v); });
  add_parsed(cmd, "--strides", "with --weights of another tool: strides of conv1,layer2,layer3,layer4 (default 2,2,2,1)",
             [o](const std::string& v) {
               auto s = parse_range(v, "--strides");
               if (s.size() != 4) throw Error("--strides: expected 4 values");
               o->strides = std::array<int64_t, 4>{};
               for (int i = 0; i < 4; ++i) (*o->strides)[i] = static_cast<int64_t>(s[i]);
             });
  cmd->add_option("--xi", o->cam.xi, "fusion weight: xi*spotlight + (1-xi)*compensation")->check(CLI::Range(0.0, 1.0));
  add_parsed(cmd, "--branch", "spotlight | compensation | fused (default)",
             [o](const std::string& v) { o->cam.branch = parse_branch(v); });
  add_parsed(cmd, "--classes", "labels (default: ground-truth image labels) | predicted", [o](const std::string& v) {
    if (v != "predicted" && v != "labels") throw Error("--classes: expected labels or predicted, got '" + v + "'");
    o->cam.predicted_classes = v == "predicted";
  });
  cmd->add_option("--score-threshold", o->cam.score_threshold, "with --classes predicted: sigmoid score")
      ->check(CLI::Range(0.0, 1.0));
  add_parsed(cmd, "--precision", "fp32 (default) | bf16 (autocast; refused on CPUs without native bf16: AVX512-BF16 or AMX)",
             [o](const std::string& v) {
               if (v != "fp32" && v != "bf16") throw Error("--precision: expected fp32 or bf16, got '" + v + "'");
               o->cam.bf16 = v == "bf16";
             });
  add_parsed(cmd, "--refine", "none (default) | gradcam | advcam (adversarial climbing)",
             [o](const std::string& v) { o->cam.refine = parse_refine(v); });
  cmd->add_option("--adv-iterations", o->cam.adv.iterations, "advcam: climbing steps K")->check(CLI::PositiveNumber);
  cmd->add_option("--adv-step", o->cam.adv.step, "advcam: step size")->check(CLI::PositiveNumber);
  cmd->add_option("--adv-coeff", o->cam.adv.ad_coeff, "advcam: weight of the region restriction")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--adv-score-threshold", o->cam.adv.score_threshold, "advcam: restricted regions above this x max")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--adv-half-scale", o->cam.adv.half_scale_index,
                  "advcam: list position of the scale that climbs K/2 steps (official: 1; -1: none)")
      ->check(CLI::Range(-1, 64));
  cmd->add_flag("--save-branches", o->cam.keep_branches, "also store cam_s and cam_c (for --xi-sweep)");
  cmd->add_flag_function("--no-flip", [o](int64_t) { o->cam.flip = false; }, "no mirrored pass");
  cmd->add_flag("--labels-from-masks", o->labels_from_masks, "image labels from the masks");
  add_parsed(cmd, "--shard", "i/n: process every n-th id from i", [o](const std::string& v) { parse_shard(v, o.get()); });
  cmd->add_flag("--resume", o->resume, "skip ids whose .npz exists and is valid");
  cmd->add_flag("--check", o->check_only,
                "write nothing: exit 0 only if --out holds one valid .npz per id of --list and no other (after shards)");
  add_parsed(cmd, "--memory-format",
             "auto (default: channels-last for images of >= 256 x 256 px) | channels-last | contiguous",
             [o](const std::string& v) {
               using MF = CamRunOptions::MemoryFormat;
               if (v == "auto") o->memory_format = MF::Auto;
               else if (v == "channels-last") o->memory_format = MF::ChannelsLast;
               else if (v == "contiguous") o->memory_format = MF::Contiguous;
               else throw Error("--memory-format: expected auto, channels-last or contiguous, got '" + v + "'");
             });
  cmd->add_flag_function("--no-fold-bn", [o](int64_t) { o->fold_batchnorm = false; },
                         "keep BatchNorm layers separate (default: folded into the convolutions)");
  cmd->add_option("--profile", o->profile,
                  "write where the time goes (per scale, branch and stage; decode, write) to this JSON file");
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  add_threads(cmd);
  add_device(cmd);
  on_run(cmd, [o](const Runtime& rt) {
    o->device = rt.device;
    if (o->cam.bf16 && o->cam.refine != Refine::None) throw Error("--precision bf16: plain CAMs only (not with --refine)");
    CamRunSummary s = run_cam(*o);
    if (o->check_only) {
      std::cout << o->out << ": all " << s.in_shard << " CAMs of " << o->list << " present and valid, no other\n";
      return;
    }
    std::cout << "wrote " << s.written << " CAMs to " << o->out << " (" << s.skipped << " already done, shard of "
              << s.in_shard << "), " << (s.written ? s.seconds / static_cast<double>(s.written) : 0.0) << " s/image\n";
  });
}

void add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto bg = std::make_shared<double>(0.2);
  auto json = std::make_shared<std::string>();
  auto sweep = std::make_shared<std::vector<double>>();
  auto* cmd = app.add_subcommand("eval", "mIoU of CAMs (or pseudo-label PNGs) against ground-truth masks");
  auto* cams = cmd->add_option("--cams", o->cams, "directory of <id>.npz from amr cam");
  auto* labels = cmd->add_option("--labels", o->labels, "or a directory of <id>.png from amr label (255 counts as wrong)");
  cams->excludes(labels);
  cmd->add_option("--data", o->data, "dataset root with SegmentationClass[Aug]/")->required();
  cmd->add_option("--list", o->list, "ids to evaluate")->required();
  cmd->add_option("--bg-threshold", *bg, "background threshold")->check(CLI::Range(0.0, 1.0));
  add_parsed(cmd, "--sweep", "background thresholds START:STOP:STEP (e.g. 0.05:0.60:0.05)",
             [sweep](const std::string& v) { *sweep = parse_range(v, "--sweep"); });
  add_parsed(cmd, "--xi-sweep", "fusion weights START:STOP:STEP (needs CAMs from --save-branches)",
             [o](const std::string& v) { o->xis = parse_range(v, "--xi-sweep"); });
  cmd->add_option("--json", *json, "write every metric to this JSON file");
  cmd->add_flag("--constant", o->constant, "baseline: every CAM replaced by a constant map (the image's first class everywhere)");
  add_threads(cmd);
  on_run(cmd, [o, bg, json, sweep](const Runtime& rt) {
    if (o->cams.empty() && o->labels.empty()) throw Error("--cams or --labels: one is required");
    if (!o->labels.empty() && (!sweep->empty() || !o->xis.empty()))
      throw Error("--labels: --sweep/--xi-sweep apply to CAMs only");
    o->thresholds = sweep->empty() ? std::vector<double>{*bg} : *sweep;
    o->threads = rt.threads;
    EvalResult r = o->labels.empty() ? evaluate_cams(*o) : evaluate_labels(*o);
    std::cout << markdown_report(r);
    if (!json->empty()) {
      const std::string text = to_json(r).dump(1) + "\n";
      write_bytes_atomically(*json, std::vector<char>(text.begin(), text.end()));
      std::cout << "\nwrote " << *json << "\n";
    }
  });
}

static void add_crf_options(CLI::App* cmd, LabelOptions& o) {
  auto& c = o.crf_options;
  cmd->add_flag("--crf", o.crf, "refine with the dense CRF (mean field, permutohedral lattice; IRN's parameters)");
  cmd->add_option("--crf-iterations", c.iterations, "mean-field iterations")->check(CLI::NonNegativeNumber);
  cmd->add_option("--crf-gauss-sxy", c.gauss_sxy, "smoothness kernel: position std (px)")->check(CLI::PositiveNumber);
  cmd->add_option("--crf-gauss-compat", c.gauss_compat, "smoothness kernel: Potts weight")->check(CLI::NonNegativeNumber);
  cmd->add_option("--crf-bi-sxy", c.bi_sxy, "appearance kernel: position std (px)")->check(CLI::PositiveNumber);
  cmd->add_option("--crf-bi-srgb", c.bi_srgb, "appearance kernel: colour std")->check(CLI::PositiveNumber);
  cmd->add_option("--crf-bi-compat", c.bi_compat, "appearance kernel: Potts weight")->check(CLI::NonNegativeNumber);
  cmd->add_option("--crf-gt-prob", c.gt_prob, "unary: probability of the thresholded label")->check(CLI::Range(0.01, 0.99));
}

void add_label(CLI::App& app) {
  auto o = std::make_shared<LabelOptions>();
  auto* cmd = app.add_subcommand("label", "pseudo-label PNGs (VOC palette) from CAMs");
  cmd->add_option("--cams", o->cams, "directory of <id>.npz")->required();
  cmd->add_option("--data", o->data, "dataset root (classes.txt)")->required();
  cmd->add_option("--list", o->list, "ids")->required();
  cmd->add_option("--out", o->out, "output directory of <id>.png")->required();
  cmd->add_option("--bg-threshold", o->bg_threshold, "background threshold")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--fg", o->fg, "two thresholds: foreground above this...")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--bg", o->bg, "...background at or below this, 255 (unsure) between")->check(CLI::Range(0.0, 1.0));
  add_crf_options(cmd, *o);
  add_threads(cmd);
  on_run(cmd, [o](const Runtime& rt) {
    o->threads = rt.threads;
    std::cout << "wrote " << write_pseudo_labels(*o) << " pseudo-labels to " << o->out << "\n";
  });
}

void add_erase_test(CLI::App& app) {
  auto o = std::make_shared<EraseTestOptions>();
  auto json = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "erase-test", "class score after erasing the CAM peak vs an equal area of background (evidence outside the peak)");
  cmd->add_option("--run", o->run, "training run whose classifier re-scores the images")->required();
  cmd->add_option("--cams", o->cams, "directory of <id>.npz from amr cam")->required();
  cmd->add_option("--data", o->data, "dataset root (images and masks)")->required();
  cmd->add_option("--list", o->list, "ids")->required();
  cmd->add_option("--peak", o->peak_fraction, "peak region: CAM > this x its max (default 0.5)");
  cmd->add_flag("--labels-from-masks", o->labels_from_masks, "image labels from the masks");
  cmd->add_option("--json", *json, "write the result to this JSON file");
  add_threads(cmd);
  on_run(cmd, [o, json](const Runtime& rt) {
    const EraseTestResult r = erase_test(*o);
    std::cout << markdown_report(r);
    if (!json->empty()) {
      const std::string text = to_json(r).dump(1) + "\n";
      write_bytes_atomically(*json, std::vector<char>(text.begin(), text.end()));
    }
  });
}

void add_viz(CLI::App& app) {
  auto o = std::make_shared<VizOptions>();
  auto* cmd = app.add_subcommand("viz", "per-image PNG: image, CAM overlays, pseudo-label, ground truth");
  cmd->add_option("--cams", o->cams, "directory of <id>.npz")->required();
  cmd->add_option("--data", o->data, "dataset root")->required();
  cmd->add_option("--list", o->list, "ids")->required();
  cmd->add_option("--out", o->out, "output directory")->required();
  cmd->add_option("--bg-threshold", o->bg_threshold, "background threshold of the pseudo-label")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-images", o->max_images, "only the first N ids")->check(CLI::NonNegativeNumber);
  add_threads(cmd);
  on_run(cmd, [o](const Runtime& rt) {
    o->threads = rt.threads;
    std::cout << "wrote " << write_visualizations(*o) << " visualizations to " << o->out << "\n";
  });
}

}  // namespace amr::cli

namespace amr::cli {

void add_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto evals = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("report", "one self-contained HTML report from amr eval --json (and amr viz)");
  cmd->add_option("--eval", *evals, "[NAME=]eval.json from `amr eval --json` (repeatable: compared side by side)")
      ->required();
  cmd->add_option("--viz", o->viz_dir, "directory of PNGs from `amr viz` to embed");
  cmd->add_option("--max-images", o->max_images, "overlays to embed")->check(CLI::NonNegativeNumber);
  cmd->add_option("--title", o->title, "page title");
  cmd->add_option("--out", o->out, "output .html")->required();
  on_run(cmd, [o, evals](const Runtime& rt) {
    for (const auto& e : *evals) {
      const auto eq = e.find('=');
      if (eq == std::string::npos) o->evals.emplace_back(std::filesystem::path(e).stem().string(), e);
      else o->evals.emplace_back(e.substr(0, eq), e.substr(eq + 1));
    }
    write_report(*o);
    std::cout << "wrote " << o->out << "\n";
  });
}

}  // namespace amr::cli

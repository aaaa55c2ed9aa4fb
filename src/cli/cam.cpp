#include <iostream>

#include "amr/base/error.h"
#include "amr/base/parse.h"
#include "amr/cam/cam_config.h"
#include "commands.h"

namespace amr::cli {
namespace {

using Flags = std::shared_ptr<CamConfigFlags>;

template <typename T>
CLI::Option* add_key(CLI::App* cmd, const std::string& flag, const std::string& key, const Flags& f, const std::string& help) {
  return add_config_option<T>(cmd, flag, key, f, cam_config_table(), help);
}
template <typename Parse>
CLI::Option* add_parsed_key(CLI::App* cmd, const std::string& flag, const std::string& key, const Flags& f,
                            const std::string& help, Parse parse) {
  return add_parsed_config_option(cmd, flag, key, f, cam_config_table(), help, parse);
}

void add_model_flags(CLI::App* cmd, const Flags& f) {
  add_key<std::string>(cmd, "--run", "run", f, "training run directory");
  add_key<std::string>(cmd, "--weights", "weights", f, "or a model file (amr's carry their model description)");
  add_parsed_key(cmd, "--arch", "arch", f, "with --weights of another tool: resnet18 | resnet34 | resnet50 (default)",
                 [](const std::string& v) { return std::optional<std::string>(v); });
  add_parsed_key(cmd, "--tau", "tau", f, "with --weights of another tool: the AMMs' Gaussian threshold (amr-improved: 0.3; default 0)",
                 [](const std::string& v) {
                   double tau = 0;
                   if (!CLI::detail::lexical_cast(v, tau)) throw Error("--tau: expected a number, got '" + v + "'");
                   return std::optional<double>(tau);
                 })
      ->check(at_least(0));
  add_parsed_key(cmd, "--tau-mode", "tau_mode", f, "with --weights of another tool: relative (default) | absolute",
                 [](const std::string& v) { return std::optional<TauMode>(parse_tau_mode(v)); });
  add_parsed_key(cmd, "--strides", "strides", f,
                 "with --weights of another tool: strides of conv1,layer2,layer3,layer4 (default 2,2,2,1)",
                 [](const std::string& v) { return std::optional<std::array<int64_t, 4>>(parse_strides(v)); });
}

void add_advcam_flags(CLI::App* cmd, const Flags& f) {
  add_key<int>(cmd, "--adv-iterations", "adv_iterations", f, "advcam: climbing steps K")->check(at_least(1));
  add_key<double>(cmd, "--adv-step", "adv_step", f, "advcam: step size")->check(above(0));
  add_key<double>(cmd, "--adv-coeff", "adv_coeff", f, "advcam: weight of the region restriction")->check(at_least(0));
  add_key<double>(cmd, "--adv-score-threshold", "adv_score_threshold", f, "advcam: restricted regions above this x max")
      ->check(between(0, 1));
  add_key<int>(cmd, "--adv-half-scale", "adv_half_scale", f,
               "advcam: list position of the scale that climbs K/2 steps (official: 1; -1: none)")
      ->check(between(-1, 64));
}

void add_cam_value_flags(CLI::App* cmd, const Flags& f) {
  add_parsed_key(cmd, "--scales", "scales", f, "comma list of scales (default 1.0,0.5,1.5,2.0)", parse_scales);
  add_key<double>(cmd, "--xi", "xi", f, "fusion weight: xi*spotlight + (1-xi)*compensation")->check(between(0, 1));
  add_parsed_key(cmd, "--branch", "branch", f, "spotlight | compensation | fused (default)", parse_branch);
  add_parsed_key(cmd, "--classes", "classes", f, "labels (default: ground-truth image labels) | predicted", parse_class_source);
  add_key<double>(cmd, "--score-threshold", "score_threshold", f, "with --classes predicted: sigmoid score")->check(between(0, 1));
  add_parsed_key(cmd, "--precision", "precision", f,
                 "fp32 (default) | bf16 (autocast; refused on CPUs without native bf16: AVX512-BF16 or AMX)", parse_precision);
  add_parsed_key(cmd, "--refine", "refine", f, "none (default) | gradcam | advcam (adversarial climbing)", parse_refine);
  add_advcam_flags(cmd, f);
  cmd->add_flag_function("--save-branches", [f](int64_t) { f->set("save_branches", true); },
                         "also store cam_s and cam_c (for --xi-sweep)");
  cmd->add_flag_function("--no-flip", [f](int64_t) { f->set("flip", false); }, "no mirrored pass");
  cmd->add_flag_function("--labels-from-masks", [f](int64_t) { f->set("labels_from_masks", true); },
                         "image labels from the masks");
  add_parsed_key(cmd, "--memory-format", "memory_format", f,
                 "auto (default: channels-last for images of >= 256 x 256 px) | channels-last | contiguous",
                 parse_memory_format);
  cmd->add_flag_function("--no-fold-bn", [f](int64_t) { f->set("fold_bn", false); },
                         "keep BatchNorm layers separate (default: folded into the convolutions)");
}

}  // namespace

void add_cam(CLI::App& app, const RuntimeFlags& runtime) {
  auto f = std::make_shared<CamConfigFlags>();
  auto run = std::make_shared<CamRunOptions>();  // how this process runs: shard, resume, check, output
  auto config = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("cam", "multi-scale CAMs of a trained run: one .npz per image");
  cmd->add_option("--config", *config, "YAML of cam settings (keys as the flags, with _ for -; `_base_` composes)");
  add_model_flags(cmd, f);
  add_key<std::string>(cmd, "--data", "data", f, "dataset root (VOC layout)");
  add_key<std::string>(cmd, "--list", "list", f, "ids to process (file, or name under --data)");
  add_key<std::string>(cmd, "--out", "out", f, "output directory of <id>.npz");
  add_cam_value_flags(cmd, f);
  add_parsed(cmd, "--shard", "i/n: process every n-th id from i", [run](const std::string& v) { parse_shard(v, run.get()); });
  cmd->add_flag("--resume", run->resume, "skip ids whose .npz exists and is valid");
  cmd->add_flag("--check", run->check_only,
                "write nothing: exit 0 only if --out holds one valid .npz per id of --list and no other (after shards)");
  cmd->add_option("--profile", run->profile,
                  "write where the time goes (per scale, branch and stage; decode, write) to this JSON file");
  cmd->add_flag("--quiet", run->quiet, "no progress output");
  add_threads(cmd, runtime);
  add_device(cmd, runtime);
  on_run(cmd, runtime, [f, run, config](const Runtime& rt) {
    CamRunOptions o = load_cam_config(*config, *f);
    require_given(o.data, "--data");
    require_given(o.list, "--list");
    require_given(o.out, "--out");
    o.shard_index = run->shard_index, o.shard_count = run->shard_count;
    o.resume = run->resume, o.check_only = run->check_only, o.profile = run->profile, o.quiet = run->quiet;
    const CamRunSummary s = run_cam(o, rt);
    if (o.check_only) {
      std::cout << o.out << ": all " << s.in_shard << " CAMs of " << o.list << " present and valid, no other\n";
      return;
    }
    std::cout << "wrote " << s.written << " CAMs to " << o.out << " (" << s.skipped << " already done, shard of "
              << s.in_shard << "), " << (s.written ? s.seconds / static_cast<double>(s.written) : 0.0) << " s/image\n";
  });
}

}  // namespace amr::cli

#include "amr/cam/cam_config.h"

#include "amr/base/error.h"
#include "amr/base/parse.h"
#include "amr/io/config_table.h"

namespace amr {

const ConfigTable<CamRunOptions>& cam_config_table() {
  using C = CamRunOptions;
  static const ConfigTable<C> table = [] {
    ConfigTable<C> t;
    t.add("run", &C::run).add("weights", &C::weights).add("arch", &C::arch).add("strides", &C::strides).add("tau", &C::tau);
    t.add_named<std::optional<TauMode>>(
        "tau_mode", [](C& c) -> std::optional<TauMode>& { return c.tau_mode; },
        [](const std::string& s) { return std::optional<TauMode>(parse_tau_mode(s)); },
        [](std::optional<TauMode> m) { return m ? to_string(*m) : std::string("relative"); });
    t.add("data", &C::data).add("list", &C::list).add("out", &C::out).add("labels_from_masks", &C::labels_from_masks);
    t.add<std::vector<double>>("scales", [](C& c) -> std::vector<double>& { return c.cam.scales; });
    t.add<bool>("flip", [](C& c) -> bool& { return c.cam.flip; });
    t.add<double>("xi", [](C& c) -> double& { return c.cam.xi; });
    t.add_named<CamBranch>("branch", [](C& c) -> CamBranch& { return c.cam.branch; }, parse_branch,
                           [](CamBranch b) { return to_string(b); });
    t.add_named<bool>("classes", [](C& c) -> bool& { return c.cam.predicted_classes; }, parse_class_source,
                      class_source_name);
    t.add<double>("score_threshold", [](C& c) -> double& { return c.cam.score_threshold; });
    t.add_named<bool>("precision", [](C& c) -> bool& { return c.cam.bf16; }, parse_precision, precision_name);
    t.add_named<Refine>("refine", [](C& c) -> Refine& { return c.cam.refine; }, parse_refine,
                        [](Refine r) { return to_string(r); });
    t.add<int>("adv_iterations", [](C& c) -> int& { return c.cam.adv.iterations; });
    t.add<double>("adv_step", [](C& c) -> double& { return c.cam.adv.step; });
    t.add<double>("adv_coeff", [](C& c) -> double& { return c.cam.adv.ad_coeff; });
    t.add<double>("adv_score_threshold", [](C& c) -> double& { return c.cam.adv.score_threshold; });
    t.add<int>("adv_half_scale", [](C& c) -> int& { return c.cam.adv.half_scale_index; });
    t.add<bool>("save_branches", [](C& c) -> bool& { return c.cam.keep_branches; });
    t.add_named<C::MemoryFormat>("memory_format", [](C& c) -> C::MemoryFormat& { return c.memory_format; },
                                 parse_memory_format, memory_format_name);
    t.add("fold_bn", &C::fold_batchnorm);
    return t;
  }();
  return table;
}

CamRunOptions load_cam_config(const std::string& yaml_path, const CamConfigFlags& flags) {
  return load_config(cam_config_table(), yaml_path, flags);
}

void validate(const CamRunOptions& opt) {
  const CamOptions& c = opt.cam;
  if (c.scales.empty()) throw Error("--scales: at least one scale (e.g. 1.0,0.5,1.5,2.0)");
  for (double s : c.scales)
    if (!(s >= 0.1 && s <= 4.0)) throw Error("--scales: each scale must be in [0.1, 4], got " + std::to_string(s));
  check_xi(c.xi, "--xi");
  if (!(c.score_threshold >= 0 && c.score_threshold <= 1)) throw Error("--score-threshold: must be between 0 and 1");
  if (c.adv.iterations < 1) throw Error("--adv-iterations: must be at least 1");
  if (!(c.adv.step > 0)) throw Error("--adv-step: must be above 0");
  if (!(c.adv.ad_coeff >= 0)) throw Error("--adv-coeff: must be at least 0");
  if (!(c.adv.score_threshold >= 0 && c.adv.score_threshold <= 1))
    throw Error("--adv-score-threshold: must be between 0 and 1");
  if (c.adv.half_scale_index < -1) throw Error("--adv-half-scale: must be at least -1");
  if (opt.tau && !(*opt.tau >= 0)) throw Error("--tau: must be at least 0");
  if (opt.shard_count < 1 || opt.shard_index < 0 || opt.shard_index >= opt.shard_count)
    throw Error("--shard: expected 0 <= i < n");
}

}  // namespace amr

#pragma once
#include <string>

#include "amr/cam/cam_runner.h"
#include "amr/io/config_fwd.h"

namespace amr {

// `amr cam`'s settings as a config (keys: run, weights, arch, strides, tau, tau_mode, data, list,
// out, labels_from_masks, scales, flip, xi, branch, classes, score_threshold, precision, refine,
// adv_iterations, adv_step, adv_coeff, adv_score_threshold, adv_half_scale, save_branches,
// memory_format, fold_bn): a YAML file (with `_base_`), then typed flags over it. What a run
// made is recorded in CAMS/cam_settings.json.
const ConfigTable<CamRunOptions>& cam_config_table();
using CamConfigFlags = ConfigFlags<CamRunOptions>;
CamRunOptions load_cam_config(const std::string& yaml_path, const CamConfigFlags& flags);

// Throws naming the flag/key of the first value outside its meaning.
void validate(const CamRunOptions& opt);

}  // namespace amr

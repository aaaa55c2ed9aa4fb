#pragma once
#include <string>

#include "amr/eval/segmentation.h"
#include "amr/io/config_fwd.h"

namespace amr {

// `amr eval`'s settings as a config (keys: cams, labels, data, list, thresholds, xis, constant):
// a YAML file (with `_base_`), then typed flags over it; checked (one of cams / labels, sweeps
// for CAMs only). The evaluation's --json output records every point it scored.
const ConfigTable<EvalOptions>& eval_config_table();
using EvalConfigFlags = ConfigFlags<EvalOptions>;
EvalOptions load_eval_config(const std::string& yaml_path, const EvalConfigFlags& flags);

}  // namespace amr

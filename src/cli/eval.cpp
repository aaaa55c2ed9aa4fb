#include <iostream>

#include <nlohmann/json.hpp>

#include "amr/base/parse.h"
#include "amr/eval/eval_config.h"
#include "commands.h"

namespace amr::cli {

void add_eval(CLI::App& app, const RuntimeFlags& runtime) {
  auto f = std::make_shared<EvalConfigFlags>();
  auto config = std::make_shared<std::string>();
  auto json = std::make_shared<std::string>();
  const auto& table = eval_config_table();
  auto* cmd = app.add_subcommand("eval", "mIoU of CAMs (or pseudo-label PNGs) against ground-truth masks");
  cmd->add_option("--config", *config, "YAML of eval settings (cams, labels, data, list, thresholds, xis, constant)");
  auto* cams = add_config_option<std::string>(cmd, "--cams", "cams", f, table, "directory of <id>.npz from amr cam");
  auto* labels = add_config_option<std::string>(cmd, "--labels", "labels", f, table,
                                                "or a directory of <id>.png from amr label (255 counts as wrong)");
  cams->excludes(labels);
  add_config_option<std::string>(cmd, "--data", "data", f, table, "dataset root with SegmentationClass[Aug]/");
  add_config_option<std::string>(cmd, "--list", "list", f, table, "ids to evaluate");
  add_parsed_config_option(cmd, "--bg-threshold", "thresholds", f, table, "background threshold (default 0.2)",
                           [](const std::string& v) { return parse_range(v, "--bg-threshold"); })
      ->check(between(0, 1));
  // --sweep wins over --bg-threshold, in any order.
  auto sweep = std::make_shared<std::vector<double>>();
  add_parsed(cmd, "--sweep", "background thresholds START:STOP:STEP (e.g. 0.05:0.60:0.05)",
             [sweep](const std::string& v) { *sweep = parse_range(v, "--sweep"); });
  add_parsed_config_option(cmd, "--xi-sweep", "xis", f, table, "fusion weights START:STOP:STEP (needs CAMs from --save-branches)",
                           [](const std::string& v) { return parse_range(v, "--xi-sweep"); });
  cmd->add_option("--json", *json, "write every metric to this JSON file");
  cmd->add_flag_function("--constant", [f](int64_t) { f->set("constant", true); },
                         "baseline: every CAM replaced by a constant map (the image's first class everywhere)");
  add_threads(cmd, runtime);
  on_run(cmd, runtime, [f, config, json, sweep](const Runtime& rt) {
    if (!sweep->empty()) f->set("thresholds", *sweep);
    const EvalOptions o = load_eval_config(*config, *f);
    const EvalResult r = o.labels.empty() ? evaluate_cams(o, rt) : evaluate_labels(o, rt);
    std::cout << markdown_report(r);
    write_json_if_given(*json, to_json(r));
    if (!json->empty()) std::cout << "\nwrote " << *json << "\n";
  });
}

}  // namespace amr::cli

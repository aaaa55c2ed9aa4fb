#include <iostream>

#include <nlohmann/json.hpp>

#include "amr/cam/erase_test.h"
#include "commands.h"

namespace amr::cli {

void add_erase_test(CLI::App& app, const RuntimeFlags& runtime) {
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
  add_threads(cmd, runtime);
  on_run(cmd, runtime, [o, json](const Runtime&) {
    const EraseTestResult r = erase_test(*o);
    std::cout << markdown_report(r);
    write_json_if_given(*json, to_json(r));
  });
}

}  // namespace amr::cli

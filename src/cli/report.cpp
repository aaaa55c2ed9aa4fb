#include <filesystem>
#include <iostream>

#include "amr/eval/report.h"
#include "commands.h"

namespace amr::cli {

void add_report(CLI::App& app, const RuntimeFlags& runtime) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "one self-contained HTML report from amr eval --json (and amr viz)");
  auto evals = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--eval", *evals, "[NAME=]eval.json from `amr eval --json` (repeatable: compared side by side)")
      ->required();
  cmd->add_option("--viz", o->viz_dir, "directory of PNGs from `amr viz` to embed");
  cmd->add_option("--max-images", o->max_images, "overlays to embed")->check(at_least(0));
  cmd->add_option("--title", o->title, "page title");
  cmd->add_option("--out", o->out, "output .html")->required();
  on_run(cmd, runtime, [o, evals](const Runtime&) {
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

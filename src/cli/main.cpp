// The `amr` command line: parses flags, calls the library, prints. No logic lives here.
#include <iostream>

#include "amr/io/error.h"
#include "amr/runtime.h"
#include "commands.h"

namespace amr::cli {
namespace {
int g_threads = 0;
std::string g_device = "cpu";
}
void add_threads(CLI::App* app) {
  app->add_option("--threads", g_threads, "intra-op threads (0 = all available cores)")->check(CLI::NonNegativeNumber);
}
int threads_flag() { return g_threads; }
void add_device(CLI::App* app) {
  app->add_option("--device", g_device, "cpu (default) | cuda | cuda:K (a CUDA build of amr; cuda: the local rank's GPU)");
}
void on_run(CLI::App* cmd, std::function<void(const Runtime&)> fn) {
  cmd->callback([fn = std::move(fn)] { fn(configure_runtime(g_threads, parse_device(g_device))); });
}
}  // namespace amr::cli

int main(int argc, char** argv) {
  CLI::App app{"amr: Activation Modulation and Recalibration (AAAI 2022) for weakly-supervised segmentation"};
  app.require_subcommand(1);
  amr::cli::add_threads(&app);
  amr::cli::add_import_weights(app);
  amr::cli::add_forward(app);
  amr::cli::add_scenes(app);
  amr::cli::add_train(app);
  amr::cli::add_cam(app);
  amr::cli::add_eval(app);
  amr::cli::add_erase_test(app);
  amr::cli::add_label(app);
  amr::cli::add_viz(app);
  amr::cli::add_report(app);
  if (argc > 1 && argv[1][0] != '-') {
    try {
      app.get_subcommand(argv[1]);
    } catch (const CLI::OptionNotFound&) {
      std::cerr << "amr: error: unknown subcommand '" << argv[1] << "' (see amr --help)\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error (CLI11 would add a "Run with --help" line).
    std::cerr << "amr: error: " << e.what() << " (see amr --help)\n";
    return 2;  // the documented status of every error (CLI11 would use 105-114 by kind)
  } catch (const std::exception& e) {
    std::cerr << "amr: error: " << amr::one_line(e) << "\n";
    return 2;
  }
  return 0;
}

// The `amr` command line: parses flags, calls the library, prints. No logic lives here.
#include <iostream>

#include "amr/base/error.h"
#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"amr: Activation Modulation and Recalibration (AAAI 2022) for weakly-supervised segmentation"};
  app.require_subcommand(1);
  const amr::cli::RuntimeFlags runtime;
  amr::cli::add_threads(&app, runtime);
  for (auto add : {amr::cli::add_import_weights, amr::cli::add_forward, amr::cli::add_scenes, amr::cli::add_train,
                   amr::cli::add_recalibrate, amr::cli::add_cam, amr::cli::add_eval, amr::cli::add_erase_test, amr::cli::add_label, amr::cli::add_train_irn, amr::cli::add_masks,
                   amr::cli::add_viz, amr::cli::add_report, amr::cli::add_train_seg, amr::cli::add_segment})
    add(app, runtime);
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
  } catch (const amr::Error& e) {
    std::cerr << "amr: error: " << amr::one_line(e) << "\n";
    return 2;
  } catch (const std::exception& e) {
    // Not foreseen by amr's checks: say so before the library's own words.
    std::cerr << "amr: error: " << (argc > 1 ? argv[1] : "amr") << " stopped on an unexpected failure ("
              << amr::one_line(e) << ")\n";
    return 2;
  }
  return 0;
}

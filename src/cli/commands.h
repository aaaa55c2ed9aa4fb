#pragma once
#include <CLI/CLI.hpp>

#include "amr/runtime.h"

// Each subcommand registers its flags and a callback that calls the library.
namespace amr::cli {

void add_import_weights(CLI::App& app);
void add_forward(CLI::App& app);
void add_scenes(CLI::App& app);
void add_train(CLI::App& app);
void add_cam(CLI::App& app);
void add_eval(CLI::App& app);
void add_erase_test(CLI::App& app);
void add_label(CLI::App& app);
void add_viz(CLI::App& app);
void add_report(CLI::App& app);

// --threads, shared by every subcommand.
void add_threads(CLI::App* app);
int threads_flag();  // as given (0: not given, all cores)
// --device, on the subcommands that run networks (train, cam).
void add_device(CLI::App* app);
// Sets the subcommand's action: the run-time set-up (threads, malloc, denormals) made once,
// then `fn` with the resulting Runtime.
void on_run(CLI::App* cmd, std::function<void(const Runtime&)> fn);

}  // namespace amr::cli

#pragma once
#include <CLI/CLI.hpp>

#include "flags.h"

// Each subcommand (one file each) registers its flags and a callback that calls the library.
namespace amr::cli {

void add_import_weights(CLI::App& app, const RuntimeFlags& rt);
void add_forward(CLI::App& app, const RuntimeFlags& rt);
void add_scenes(CLI::App& app, const RuntimeFlags& rt);
void add_train(CLI::App& app, const RuntimeFlags& rt);
void add_recalibrate(CLI::App& app, const RuntimeFlags& rt);
void add_cam(CLI::App& app, const RuntimeFlags& rt);
void add_eval(CLI::App& app, const RuntimeFlags& rt);
void add_erase_test(CLI::App& app, const RuntimeFlags& rt);
void add_label(CLI::App& app, const RuntimeFlags& rt);
void add_masks(CLI::App& app, const RuntimeFlags& rt);
void add_train_irn(CLI::App& app, const RuntimeFlags& rt);
void add_viz(CLI::App& app, const RuntimeFlags& rt);
void add_report(CLI::App& app, const RuntimeFlags& rt);
void add_train_seg(CLI::App& app, const RuntimeFlags& rt);
void add_segment(CLI::App& app, const RuntimeFlags& rt);

}  // namespace amr::cli

#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include "amr/base/runtime.h"
#include "amr/distributed/world.h"
#include "amr/io/config_table.h"

// The flag helpers every subcommand uses.
namespace amr::cli {

// --threads and --device as typed: owned by main() for the life of the parse, read once by
// on_run into the Runtime that every stage receives.
struct RuntimeFlags {
  std::shared_ptr<int> threads = std::make_shared<int>(0);
  std::shared_ptr<std::string> device = std::make_shared<std::string>("cpu");
};
void add_threads(CLI::App* cmd, const RuntimeFlags& rt);
void add_device(CLI::App* cmd, const RuntimeFlags& rt);  // on the subcommands that run networks
// The data-parallel flags of the training subcommands (torchrun's environment when absent).
void add_world_flags(CLI::App* cmd, WorldFlags& world);
// The subcommand's action: configure_runtime once (threads split over the local ranks of a
// data-parallel launch), then `fn` with the resulting Runtime.
void on_run(CLI::App* cmd, const RuntimeFlags& rt, std::function<void(const Runtime&)> fn);

// Range checks that say what is expected in amr's words ("--epochs: must be at least 1, got 0").
CLI::Validator at_least(double min);
CLI::Validator above(double min);
CLI::Validator between(double min, double max);

// A flag whose text is parsed into a typed field when CLI11 reads it (errors name the flag).
void add_parsed(CLI::App* cmd, const std::string& flag, const std::string& help,
                std::function<void(const std::string&)> parse);
// A flag that sets an optional field (unset: not given).
template <typename T>
CLI::Option* add_optional(CLI::App* cmd, const std::string& flag, std::optional<T>& field, const std::string& help) {
  return cmd->add_option_function<T>(flag, [&field](const T& v) { field = v; }, help);
}

// A flag bound to a config key: its typed value (T, the key's type) is applied through the
// config's table, over the YAML file, when the stage runs.
template <typename T, typename C>
CLI::Option* add_config_option(CLI::App* cmd, const std::string& flag, const std::string& key,
                               const std::shared_ptr<ConfigFlags<C>>& flags, const ConfigTable<C>& table,
                               const std::string& help) {
  if (!table.has(key)) throw std::logic_error(flag + ": bound to no config key '" + key + "'");
  return cmd->add_option_function<T>(flag, [flags, key](const T& v) { flags->set(key, v); }, help);
}
// The same for a flag whose text is parsed into the key's value.
template <typename C, typename Parse>
CLI::Option* add_parsed_config_option(CLI::App* cmd, const std::string& flag, const std::string& key,
                                      const std::shared_ptr<ConfigFlags<C>>& flags, const ConfigTable<C>& table,
                                      const std::string& help, Parse parse) {
  if (!table.has(key)) throw std::logic_error(flag + ": bound to no config key '" + key + "'");
  return cmd->add_option_function<std::string>(
      flag, [flags, key, parse](const std::string& v) { flags->set(key, parse(v)); }, help);
}

// Throws "FLAG: required (a flag or a key of --config)" when `value` is empty.
void require_given(const std::string& value, const std::string& flag);

// Writes `j` to `path` (atomically) when a path was given.
void write_json_if_given(const std::string& path, const nlohmann::json& j);

}  // namespace amr::cli

#include "flags.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/distributed/world.h"
#include "amr/io/atomic_file.h"

namespace amr::cli {

void add_threads(CLI::App* cmd, const RuntimeFlags& rt) {
  cmd->add_option("--threads", *rt.threads, "intra-op threads (0 = all available cores, shared by the local ranks)")
      ->check(at_least(0));
}

void add_device(CLI::App* cmd, const RuntimeFlags& rt) {
  cmd->add_option("--device", *rt.device, "cpu (default) | cuda | cuda:K (a CUDA build of amr; cuda: the local rank's GPU)");
}

void on_run(CLI::App* cmd, const RuntimeFlags& rt, std::function<void(const Runtime&)> fn) {
  cmd->callback([rt, fn = std::move(fn)] {
    fn(configure_runtime(*rt.threads, parse_device(*rt.device), local_world_size()));
  });
}

namespace {
CLI::Validator number_check(std::function<bool(double)> ok, const std::string& expected) {
  return CLI::Validator(
      [ok, expected](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return "expected a number, got '" + text + "'";
        return ok(v) ? std::string() : "must be " + expected + ", got " + text;
      },
      "", "");
}
}  // namespace

CLI::Validator at_least(double min) {
  return number_check([min](double v) { return v >= min; }, "at least " + shortest_double(min));
}

CLI::Validator above(double min) {
  return number_check([min](double v) { return v > min; }, "above " + shortest_double(min));
}

CLI::Validator between(double min, double max) {
  return number_check([min, max](double v) { return v >= min && v <= max; },
                      "between " + shortest_double(min) + " and " + shortest_double(max));
}

void add_parsed(CLI::App* cmd, const std::string& flag, const std::string& help,
                std::function<void(const std::string&)> parse) {
  cmd->add_option_function<std::string>(flag, std::move(parse), help);
}

void require_given(const std::string& value, const std::string& flag) {
  if (value.empty()) throw Error(flag + ": required (a flag or a key of --config)");
}

void write_json_if_given(const std::string& path, const nlohmann::json& j) {
  if (!path.empty()) write_text_atomically(path, j.dump(1) + "\n");
}

void add_world_flags(CLI::App* cmd, WorldFlags& world) {
  auto* group = "data-parallel (c10d Gloo on CPU, NCCL on CUDA; torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT when absent)";
  add_optional(cmd, "--world-size", world.world_size, "number of ranks (processes) of the job")->group(group)->check(at_least(1));
  add_optional(cmd, "--rank", world.rank, "this process's rank, 0 .. world size - 1 (rank 0 writes --out)")
      ->group(group)
      ->check(at_least(0));
  add_optional(cmd, "--master-addr", world.master_addr, "rank 0's address (default 127.0.0.1)")->group(group);
  add_optional(cmd, "--master-port", world.master_port, "rank 0's TCP port (default 29500)")->group(group)->check(between(1, 65535));
  cmd->add_option("--dist-timeout", world.timeout_s, "seconds before a missing or dead rank is an error (default 300)")
      ->group(group)
      ->check(at_least(1));
  cmd->add_option_function<std::string>(
         "--dist-backend", [&world](const std::string& s) { world.backend = parse_backend(s); },
         "auto (default: gloo on CPU, nccl on CUDA; none for one rank) | gloo | nccl (named: a group even for one rank)")
      ->group(group);
}

}  // namespace amr::cli

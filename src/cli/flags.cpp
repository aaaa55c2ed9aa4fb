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

}  // namespace amr::cli

#include "test_support.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "amr/base/runtime.h"
#include "amr/io/pth.h"
#include "amr/data/scenes.h"

namespace amr::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "amr_test_XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

RunResult run(const std::string& command) {
  RunResult r{-1, {}};
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void run_python_with(const std::string& python, const std::string& script_and_args) {
  RunResult r = run(python + " " + AMR_TEST_PY_DIR + "/" + script_and_args);
  ASSERT_EQ(r.exit_code, 0) << "python oracle failed: " << script_and_args << "\n" << r.output;
}

void run_python(const std::string& script_and_args) { run_python_with(AMR_PYTHON, script_and_args); }

std::string cli_path() {
  const char* moved = std::getenv("AMR_TEST_CLI");
  return moved && *moved ? moved : AMR_CLI;
}

RunResult run_cli(const std::string& args) { return run(cli_path() + " " + args); }

TensorDict read_dict(const std::string& path) {
  TensorDict out;
  for (auto& [k, v] : read_pth(path)) out[k] = v;
  return out;
}

bool reference_available() { return std::filesystem::exists(std::string(AMR_REFERENCE_DIR) + "/net/amm.py"); }

namespace {
// Tests run with a fixed thread count, like the CLI's run-time set-up.
struct RuntimeSetup : ::testing::Environment {
  void SetUp() override { configure_runtime(2); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new RuntimeSetup);
}  // namespace

std::string small_scenes(const TempDir& dir, int64_t train) {
  ScenesOptions so;
  so.train = train;
  so.val = 6;
  so.size = 48;
  so.out = dir / "data";
  so.seed = 5;
  generate_scenes(so, threads(2));
  return so.out;
}

TrainConfig tiny_config(const std::string& data, const std::string& variant) {
  TrainConfig c = config_from_yaml_text(
      "arch: resnet18\nstrides: [2, 2, 1, 1]\nbn: train\nrouting: joint\nepochs: 2\nbatch: 4\nlr: 0.01\n"
      "crop: 48\nresize_long: [40, 56]\nworkers: 2\nseed: 9\n",
      "test");
  c.data = data;
  c.variant = variant;
  return c;
}

}  // namespace amr::test

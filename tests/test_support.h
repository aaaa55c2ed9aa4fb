#pragma once
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "amr/base/runtime.h"
#include "amr/train/config.h"

namespace amr::test {

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code;
  std::string output;  // stdout + stderr
};

// Runs a shell command, capturing its output.
RunResult run(const std::string& command);
// Runs tests/python/<script> with AMR_PYTHON (the oracle: a python whose torch is the build's
// LibTorch version); fails the test on error.
void run_python(const std::string& script_and_args);
// The same with another interpreter (AMR_OFFICIAL_PYTHON: the torch the official code was written for).
void run_python_with(const std::string& python, const std::string& script_and_args);
// The `amr` binary: the build's, or AMR_TEST_CLI (tests run from a copy, e.g. bench/gpu.sh).
std::string cli_path();
// Runs the `amr` binary.
RunResult run_cli(const std::string& args);

bool reference_available();

// A .pth of name -> tensor (what the Python oracles write) as a map.
using TensorDict = std::map<std::string, at::Tensor>;
TensorDict read_dict(const std::string& path);

// FashionScenes of 48 px in DIR/data (`train` training scenes, 6 validation, seed 5); its root.
std::string small_scenes(const TempDir& dir, int64_t train);

// A run of seconds on small_scenes: ResNet-18 at output stride 8, bn: train, joint routing,
// 2 epochs of batch 4 at 48 px, seed 9.
TrainConfig tiny_config(const std::string& data, const std::string& variant);

// The Runtime a stage gets in a test: `n` threads on the CPU.
inline Runtime threads(int n) {
  Runtime rt;
  rt.threads = n;
  return rt;
}  // the official AMR code beside the checkout

}  // namespace amr::test

// The `amr` binary: import-weights on real .pth files, and one-line errors with no partial
// output on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::run_cli;
using amr::test::TempDir;

namespace {

size_t count_files(const std::string& dir) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

// A failed command: exit code != 0, one line on stderr naming `needle`, nothing written.
void expect_clean_failure(const std::string& args, const std::string& needle, const TempDir& out_dir) {
  size_t before = count_files(out_dir.path());
  amr::test::RunResult r = run_cli(args);
  EXPECT_NE(r.exit_code, 0) << args;
  EXPECT_NE(r.output.find(needle), std::string::npos) << "error does not name '" << needle << "': " << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "not one line: " << r.output;
  EXPECT_EQ(r.output.rfind("amr: error: ", 0), 0u) << r.output;
  EXPECT_EQ(count_files(out_dir.path()), before) << "partial output left behind by: " << args;
}

}  // namespace

TEST(Cli, HelpListsSubcommands) {
  auto r = run_cli("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("import-weights"), std::string::npos);
}

TEST(Cli, ForwardPassOnRandomImage) {
  auto r = run_cli("forward --arch resnet18 --size 64 --num-classes 5 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("CAM [1, 5, 4, 4]"), std::string::npos) << r.output;
}

TEST(Cli, ImportWeightsTorchvisionAndBadInputs) {
  TempDir src, out;
  amr::test::run_python("make_resnet_reference.py resnet18 " + src.path() + " 32 2 zip");
  auto r = run_cli("import-weights --from " + (src / "weights.pth") + " --arch resnet18 --out " + (out / "init.pt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("torchvision"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out / "init.pt"));
  fs::remove(out / "init.pt");

  const std::string target = " --out " + (out / "x.pt");
  expect_clean_failure("import-weights --from " + (src / "weights.pth") + " --arch resnet51" + target, "--arch", out);
  expect_clean_failure("import-weights --from " + (src / "weights.pth") + " --arch resnet50" + target, "mis-shaped", out);
  expect_clean_failure("import-weights --from " + (src / "nope.pth") + " --arch resnet18" + target, "nope.pth", out);
  expect_clean_failure("import-weights --from " + (src / "weights.pth") + " --format caffe" + target, "--format", out);

  // Truncated file.
  {
    std::ifstream in(src / "weights.pth", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(src / "cut.pth", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_clean_failure("import-weights --from " + (src / "cut.pth") + " --arch resnet18" + target, "cut.pth", out);

  // Mismatched keys: a checkpoint with an extra and a missing key.
  amr::test::run_python("make_irn_cam_weights.py " + (src / "irn.pth"));
  expect_clean_failure("import-weights --from " + (src / "irn.pth") + " --arch resnet18 --format torchvision" + target,
                       "missing", out);
  // Wrong class count.
  expect_clean_failure("import-weights --from " + (src / "irn.pth") + " --arch resnet18 --num-classes 10" + target,
                       "10", out);
  r = run_cli("import-weights --from " + (src / "irn.pth") + " --arch resnet18 --num-classes 20" + target);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("irn-cam"), std::string::npos) << r.output;

  // Unwritable output directory.
  expect_clean_failure("import-weights --from " + (src / "weights.pth") + " --arch resnet18 --out /proc/amr/x.pt",
                       "/proc/amr/x.pt", out);
}

TEST(Cli, ImportsOfficialAmrCheckpointLegacyFormat) {
  if (!amr::test::reference_available()) GTEST_SKIP() << "official AMR code not found";
  TempDir src, out;
  amr::test::run_python(std::string("make_official_amr_weights.py ") + AMR_REFERENCE_DIR + " " + (src / "amr.pth") +
                        " legacy");
  auto r = run_cli("import-weights --from " + (src / "amr.pth") + " --arch resnet50 --out " + (out / "amr.pt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("amr-official"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("20 classes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("all keys match"), std::string::npos) << r.output;
}

TEST(Cli, FlagErrorsAreOneLine) {
  TempDir out;
  expect_clean_failure("train --data x", "--out", out);
  expect_clean_failure("eval --cams a --data b --list c --bg-threshold 7", "--bg-threshold", out);
  expect_clean_failure("frobnicate", "frobnicate", out);
}

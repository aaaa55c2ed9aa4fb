// The `amr` binary: import-weights on real .pth files, and one-line errors with no partial
// output on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "amr/train/config.h"
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

// Every flag of `amr train` lands in RUN/config.yaml, exactly (lr 1e-7 included), and the
// run-time --threads does not (a resumed run uses the current machine's).
TEST(Cli, TrainFlagsRoundTripToConfigYaml) {
  TempDir d;
  auto r = run_cli("scenes --out " + d / "data" + " --train 8 --val 4 --size 48 --seed 1 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string common = " --data " + d / "data" +
                             " --set arch=resnet18 --set crop=48 --set 'resize_long=[40, 56]' --set 'strides=[2, 2, 1, 1]'"
                             " --set bn=train --threads 1 --quiet";
  r = run_cli("train --out " + d / "cam" + " --variant cam --epochs 1 --batch 4" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto config = [&](const std::string& run) {
    std::ifstream in(run + "/config.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str().find("threads"), std::string::npos) << "threads is run-time, not a property of the run";
    return amr::config_from_yaml_text(ss.str(), run);
  };
  r = run_cli("train --out " + d / "amr" + " --variant amr-improved --list train.txt --val-list val.txt --init " + d / "cam" +
              " --spotlight-from " + d / "cam" + " --epochs 3 --batch 2 --lr 1e-7 --workers 1 --labels-from-masks" +
              " --stop-after-steps 1" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  amr::TrainConfig c = config(d / "amr");
  EXPECT_EQ(c.data, d / "data");
  EXPECT_EQ(c.list, "train.txt");
  EXPECT_EQ(c.val_list, "val.txt");
  EXPECT_EQ(c.variant, "amr-improved");
  EXPECT_EQ(c.init, d / "cam");
  EXPECT_EQ(c.spotlight_from, d / "cam");
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.batch, 2);
  EXPECT_EQ(c.lr, 1e-7);
  EXPECT_EQ(c.workers, 1);
  EXPECT_TRUE(c.labels_from_masks);
  EXPECT_EQ(c.arch, "resnet18");
  EXPECT_EQ(c.crop, 48);
  EXPECT_EQ(c.tau, 0.3);  // the variant's default, resolved

  r = run_cli("train --out " + d / "both" + " --variant amr --copy-cam-to-both " + d / "cam" + " --stop-after-steps 1" +
              " --batch 4" + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(config(d / "both").copy_cam_to_both, d / "cam");
  r = run_cli("train --out " + d / "again" + " --variant cam --init-from " + d / "cam" + " --stop-after-steps 1 --batch 4" +
              common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(config(d / "again").init_from, d / "cam");
}

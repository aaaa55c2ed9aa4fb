// The `amr` binary: import-weights on real .pth files, and one-line errors with no partial
// output on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/seg/seg_config.h"
#include "amr/train/config.h"
#include "amr/train/irn_trainer.h"
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

// Numbers are written in the shortest form that reads back to the same double, in config.yaml
// (through the config table) and in JSON (nlohmann's shortest round trip).
TEST(Cli, NumbersAreWrittenInTheShortestRoundTripForm) {
  EXPECT_EQ(amr::shortest_double(1e-7), "1e-07");
  EXPECT_EQ(amr::shortest_double(0.1), "0.1");
  EXPECT_EQ(amr::shortest_double(0.30000000000000004), "0.30000000000000004");
  EXPECT_EQ(amr::shortest_double(0.0001), "0.0001");
  EXPECT_EQ(amr::shortest_double(100), "100");
  EXPECT_EQ(amr::shortest_double(65535), "65535");
  EXPECT_EQ(amr::shortest_double(1e20), "1e+20");
  for (double v : {1.0 / 3, 2.5e-8, 123456.789, 0.05, 1e-5, 4096.0})
    EXPECT_EQ(std::stod(amr::shortest_double(v)), v) << amr::shortest_double(v);
  amr::TrainConfig c;
  c.data = "d";
  c.lr = 1e-7;
  c.momentum = 0.0001;
  c.tau = 0.3;
  const std::string yaml = amr::to_yaml(c);
  EXPECT_NE(yaml.find("lr: 1e-07\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("momentum: 0.0001\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("tau: 0.3\n"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("9999"), std::string::npos) << yaml;
  const amr::TrainConfig back = amr::config_from_yaml_text(yaml, "round trip");
  EXPECT_EQ(back.lr, 1e-7);
  EXPECT_EQ(back.momentum, 0.0001);
  EXPECT_EQ(amr::to_yaml(back), yaml);
  EXPECT_EQ(nlohmann::json({{"lr", 1e-7}, {"xi", 0.1}}).dump(), R"({"lr":1e-07,"xi":0.1})");
}

// Configs compose (`_base_`, relative to the including file, later bases and the file's own keys
// win); a key twice in one file, a cycle, an unknown key are errors; the repository's configs
// state only what differs and resolve.
TEST(Cli, ConfigsCompose) {
  TempDir d;
  fs::create_directories(d / "b");
  std::ofstream(d / "b/one.yaml") << "epochs: 3\nbatch: 8\nlr: 0.5\n";
  std::ofstream(d / "b/two.yaml") << "_base_: one.yaml\nbatch: 4\n";
  std::ofstream(d / "child.yaml") << "_base_: [b/two.yaml]\nlr: 0.25\n";
  amr::TrainConfig c = amr::load_train_config(d / "child.yaml", {"data=x"});
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.batch, 4);
  EXPECT_EQ(c.lr, 0.25);
  std::ofstream(d / "loop.yaml") << "_base_: loop2.yaml\n";
  std::ofstream(d / "loop2.yaml") << "_base_: loop.yaml\n";
  EXPECT_THROW(amr::load_train_config(d / "loop.yaml", {}), amr::Error);
  std::ofstream(d / "unknown.yaml") << "_base_: b/one.yaml\nfrobnicate: 1\n";
  EXPECT_THROW(amr::load_train_config(d / "unknown.yaml", {}), amr::Error);
  EXPECT_THROW(amr::config_from_yaml_text("_base_: b/one.yaml\n", "text"), amr::Error);

  const std::string configs = std::string(AMR_SOURCE_DIR) + "/configs/";
  for (const auto& e : fs::directory_iterator(configs)) {
    if (e.path().extension() != ".yaml") continue;
    if (e.path().stem().string().find("-irn") != std::string::npos) {  // amr train-irn's configs
      amr::IrnTrainConfig irn = amr::irn_config_from_yaml(e.path().string());
      irn.data = "x", irn.labels = "y";
      EXPECT_NO_THROW(amr::validate(irn)) << e.path();
      continue;
    }
    const std::string stem = e.path().stem().string();
    if (stem.find("-seg") != std::string::npos || stem.find("deeplab") != std::string::npos) {  // amr train-seg's configs
      amr::SegTrainConfig seg = amr::seg_config_from_yaml(e.path().string());
      seg.data = "x";
      EXPECT_NO_THROW(amr::validate(seg)) << e.path();
      continue;
    }
    amr::TrainConfig r = amr::load_train_config(e.path().string(), {"data=x"});
    EXPECT_NO_THROW(r.resolve()) << e.path();
  }
  const amr::TrainConfig parts = amr::load_train_config(configs + "parts-cam.yaml", {});
  EXPECT_EQ(parts.variant, "cam");
  EXPECT_EQ(parts.crop, 96);
  EXPECT_EQ(parts.lr_mult_classifier, 10.0);
  EXPECT_EQ(parts.cutout, 24);
  EXPECT_EQ(parts.strides, (std::array<int64_t, 4>{2, 2, 1, 1}));
  EXPECT_EQ(parts.arch, "resnet18");
  const amr::TrainConfig voc = amr::load_train_config(configs + "voc-official-amr.yaml", {});
  EXPECT_EQ(voc.momentum, 0.0001);
  EXPECT_EQ(voc.cutout, 0);
  EXPECT_TRUE(voc.official_flip_pair);
}

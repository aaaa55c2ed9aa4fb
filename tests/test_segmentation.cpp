// The segmentation stage end to end on small FashionScenes: DeepLab trained on masks learns
// (loss down, mIoU up), a resumed run equals an uninterrupted one, `amr segment` + `amr eval`
// score it, and bad inputs are one-line errors that write nothing.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "amr/base/error.h"
#include "amr/data/voc.h"
#include "amr/io/png.h"
#include "amr/io/pth.h"
#include "amr/model/deeplab_file.h"
#include "amr/seg/seg_trainer.h"
#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::run_cli;
using amr::test::TempDir;

namespace {

// ResNet-50 DeepLab v2 from scratch (trainable BatchNorm, ImageNet input convention), single
// scale, 48 px crops of the 48 px scenes, batch 4, no accumulation.
amr::SegTrainConfig small_config(const std::string& data, int64_t iterations) {
  amr::SegTrainConfig c;
  c.data = data;
  c.model.arch = "resnet50";
  c.model.bn = amr::BnMode::Train;
  c.model.input = amr::SegInput::ImageNet;
  c.model.msc_scales.clear();
  c.crop = 48;
  c.scales = {0.75, 1.0, 1.25};
  c.batch = 4, c.iter_size = 1, c.iterations = iterations;
  c.lr = 0.01, c.lr_mult_head = 1, c.lr_mult_head_bias = 2;
  c.seed = 4;
  return c;
}

std::vector<double> logged(const std::string& run, const std::string& type, const std::string& key) {
  std::vector<double> v;
  std::ifstream f(run + "/log.jsonl");
  for (std::string line; std::getline(f, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.at("type") == type) v.push_back(j.at(key).get<double>());
  }
  return v;
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

size_t count_files(const std::string& dir) {
  size_t n = 0;
  if (!fs::exists(dir)) return 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

void expect_clean_failure(const std::string& args, const std::string& needle, const std::string& out) {
  const size_t before = count_files(out);
  const amr::test::RunResult r = run_cli(args);
  EXPECT_NE(r.exit_code, 0) << args;
  EXPECT_NE(r.output.find(needle), std::string::npos) << "error does not name '" << needle << "': " << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "not one line: " << r.output;
  EXPECT_EQ(count_files(out), before) << "output left behind by: " << args;
}

}  // namespace

TEST(Segmentation, MemorizesItsMasksThenSegmentAndEvalScoreIt) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 4);
  amr::SegTrainConfig c = small_config(data, 60);
  c.val_list = "train.txt";  // what it was trained on: a memorization check (no augmentation)
  c.scales = {1.0};
  c.flip = false;
  amr::SegRunOptions opt;
  opt.out = dir / "run";
  opt.quiet = true;
  const amr::SegTrainSummary s = amr::train_segmentation(c, opt, amr::test::threads(2));
  ASSERT_TRUE(s.finished);
  const std::vector<double> loss = logged(opt.out, "step", "loss");
  ASSERT_EQ(loss.size(), 60u);
  EXPECT_LT(mean(loss, 50, 60), 0.5 * mean(loss, 0, 5)) << "first " << mean(loss, 0, 5) << ", last " << mean(loss, 50, 60);
  // Predicting the background everywhere scores ~0.08 (its IoU ~0.85 over 11 classes).
  EXPECT_GT(s.val_miou, 0.5);
  // The CLI chain on the model: segment (multi-scale + flip), then eval scores the PNGs.
  const auto r = run_cli("segment --model " + s.model + " --data " + data + " --list train.txt --out " + (dir / "pred") +
                         " --scales 1,0.75 --flip --threads 2 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(count_files(dir / "pred"), 4u);
  const auto e = run_cli("eval --labels " + (dir / "pred") + " --data " + data + " --list train.txt --threads 2");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NE(e.output.find("**mean**"), std::string::npos) << e.output;
}

TEST(Segmentation, ResumedRunEqualsUninterrupted) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 8);
  amr::SegTrainConfig c = small_config(data, 6);
  c.iter_size = 2, c.batch = 2;
  amr::SegRunOptions straight;
  straight.out = dir / "straight";
  straight.quiet = true;
  amr::train_segmentation(c, straight, amr::test::threads(2));
  amr::SegRunOptions parts = straight;
  parts.out = dir / "parts";
  parts.stop_after = 4;
  EXPECT_FALSE(amr::train_segmentation(c, parts, amr::test::threads(2)).finished);
  EXPECT_FALSE(fs::exists(parts.out + "/model.pt"));
  parts.resume = true;
  ASSERT_TRUE(amr::train_segmentation(c, parts, amr::test::threads(2)).finished);
  const amr::NamedTensors a = amr::read_pth(straight.out + "/model.pt"), b = amr::read_pth(parts.out + "/model.pt");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
  EXPECT_EQ(logged(straight.out, "step", "loss"), logged(parts.out, "step", "loss"));
}

// iter_size 2 shared by 2 ranks (one sub-batch each, gradients averaged over Gloo) is the step of
// one process computing both sub-batches: each forward sees the same sub-batch of 2 either way
// (batch statistics included), so the parameters differ only by the summation order. The running
// statistics are rank 0's (one sub-batch per iteration instead of two): not compared.
TEST(Segmentation, TwoRanksEqualOneProcess) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 8);
  const std::string args = " --data " + data + " --iterations 3 --batch 2 --set iter_size=2 --set arch=resnet50 --set crop=48"
                           " --set bn=train --set input=imagenet --set lr=0.001 --set workers=0 --threads 1 --quiet";
  const int port = 21000 + static_cast<int>(getpid() % 20000);
  auto r = amr::test::run("MASTER_PORT=" + std::to_string(port) + " bash " AMR_SOURCE_DIR "/scripts/launch-local.sh 2 -- " +
                          amr::test::cli_path() + " train-seg --out " + (dir / "two") + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("train-seg --out " + (dir / "one") + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const amr::NamedTensors a = amr::read_pth(dir / "two/model.pt"), b = amr::read_pth(dir / "one/model.pt");
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first.find("running_") != std::string::npos || a[i].first.find("num_batches") != std::string::npos) continue;
    worst = std::max(worst, (a[i].second.to(torch::kDouble) - b[i].second.to(torch::kDouble)).abs().max().item<double>());
  }
  std::cout << "2 ranks x 1 sub-batch vs 1 process x 2 sub-batches, 3 iterations: max |difference| " << worst << "\n";
  EXPECT_LE(worst, 1e-5);
  // Both sub-batches count on both sides (the logged loss is the iteration's whole loss), and the
  // steps changed the network (the loss moves).
  const std::vector<double> two = logged(dir / "two", "step", "loss"), one = logged(dir / "one", "step", "loss");
  ASSERT_EQ(two.size(), 3u);
  ASSERT_EQ(one.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(two[i], one[i], 1e-5 * one[i]) << "iteration " << i + 1;
  EXPECT_NE(one[0], one[2]);
}

TEST(Segmentation, BadInputsAreOneLineErrors) {
  TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 4);
  const std::string train = "train-seg --data " + data + " --iterations 1 --batch 2 --set arch=resnet50 --set crop=48 --quiet --out ";
  // masks of another size than their image
  fs::create_directories(dir / "small");
  for (const auto& id : amr::read_id_list(data + "/train.txt")) amr::write_label_png(dir / ("small/" + id + ".png"), cv::Mat(10, 12, CV_8UC1, cv::Scalar(0)));
  expect_clean_failure(train + (dir / "r1") + " --masks " + (dir / "small"), "mask of 12x10", dir / "r1");
  // label values beyond the classes (11 with the background)
  fs::create_directories(dir / "big");
  for (const auto& id : amr::read_id_list(data + "/train.txt"))
    amr::write_label_png(dir / ("big/" + id + ".png"), cv::Mat(48, 48, CV_8UC1, cv::Scalar(40)));
  expect_clean_failure(train + (dir / "r2") + " --masks " + (dir / "big"), "value 40 is neither 255 nor a class index", dir / "r2");
  // an empty mask directory
  fs::create_directories(dir / "empty");
  expect_clean_failure(train + (dir / "r3") + " --masks " + (dir / "empty"), "no .png masks", dir / "r3");
  // a model of another class count
  amr::DeepLabOptions three;
  three.arch = "resnet50", three.num_classes = 3, three.msc_scales.clear();
  amr::SegNet net(three);
  amr::save_seg_model(dir / "three.pt", *net);
  expect_clean_failure("segment --model " + (dir / "three.pt") + " --data " + data + " --list val.txt --out " + (dir / "p1"),
                       "a model of 3 classes, the data set has 11", dir / "p1");
  // an image that is no image
  fs::create_directories(dir / "photos");
  std::ofstream(dir / "photos/holiday.jpg") << "not a JPEG at all";
  expect_clean_failure("segment --model " + (dir / "three.pt") + " --images " + (dir / "photos") + " --out " + (dir / "p2"),
                       "holiday.jpg", dir / "p2");
  // a model file that is no model
  std::ofstream(dir / "junk.pt") << "junk";
  fs::create_directories(dir / "good");
  cv::imwrite(dir / "good/cat.png", cv::Mat(20, 30, CV_8UC3, cv::Scalar(10, 200, 30)));
  expect_clean_failure("segment --model " + (dir / "junk.pt") + " --images " + (dir / "good") + " --out " + (dir / "p3"), "junk.pt",
                       dir / "p3");
}

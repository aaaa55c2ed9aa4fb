#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "amr/cam/cam_file.h"
#include "amr/cam/cam_runner.h"
#include "amr/model/model_file.h"
#include "amr/cam/erase_test.h"
#include "amr/cam/pseudo_label.h"
#include "amr/data/scenes.h"
#include "amr/data/transforms.h"
#include "amr/data/voc.h"
#include "amr/eval/segmentation.h"
#include "amr/base/error.h"
#include "amr/io/npz.h"
#include "amr/io/png.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/weight_import.h"
#include "amr/train/trainer.h"
#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::TempDir;

namespace {

const std::string kVoc = std::string(AMR_SHARED_DATA) + "/voc2012";

// A VOC-layout dataset of random masks and random CAM files for them.
struct RandomCase {
  TempDir dir;
  std::string root() const { return dir / "data"; }
  std::string cams() const { return dir / "cams"; }
  RandomCase(bool background, int k, int images) {
    fs::create_directories(dir / "data/SegmentationClass");
    fs::create_directories(dir / "cams");
    std::ofstream classes(dir / "data/classes.txt");
    if (background) classes << "background\n";
    for (int c = 0; c < k; ++c) classes << "c" << c << "\n";
    classes.close();
    std::ofstream list(dir / "data/val.txt");
    torch::manual_seed(42);
    for (int i = 0; i < images; ++i) {
      const std::string id = "im" + std::to_string(i);
      list << id << "\n";
      const int h = 20 + 3 * i, w = 30 - i;
      at::Tensor gt = torch::randint(0, k + (background ? 1 : 0), {h, w}, torch::kUInt8);
      gt.masked_fill_(torch::rand({h, w}) < 0.1, 255);
      cv::Mat m(h, w, CV_8UC1, gt.data_ptr<uint8_t>());
      amr::write_label_png(dir / ("data/SegmentationClass/" + id + ".png"), m.clone());
      std::vector<int32_t> keys;
      for (int c = 0; c < k; ++c)
        if (torch::rand({}).item<float>() < 0.5) keys.push_back(c);
      at::Tensor cam = torch::rand({static_cast<int64_t>(keys.size()), h, w});
      amr::write_npz(dir / ("cams/" + id + ".npz"),
                     {{"keys", torch::tensor(keys, torch::kInt32).view({static_cast<int64_t>(keys.size())})}, {"cam", cam}});
    }
  }
};

double python_miou(const RandomCase& c, double thr, bool bg) {
  auto r = amr::test::run(std::string(AMR_PYTHON) + " " + AMR_TEST_PY_DIR + "/eval_reference.py " + c.cams() + " " +
                          c.root() + " val.txt " + std::to_string(thr) + (bg ? " 1" : " 0"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return std::stod(r.output);
}

// A one-image VOC dataset under DIR/data (classes, val list "im", mask) and an empty DIR/OUTPUT.
void one_image_case(const TempDir& dir, const std::string& classes, const cv::Mat& mask, const std::string& output) {
  fs::create_directories(dir / "data/SegmentationClass");
  fs::create_directories(dir / output);
  std::ofstream(dir / "data/classes.txt") << classes;
  std::ofstream(dir / "data/val.txt") << "im\n";
  amr::write_label_png(dir / "data/SegmentationClass/im.png", mask);
}

amr::EvalOptions eval_opts(const std::string& cams, const std::string& root, const std::string& list) {
  amr::EvalOptions o;
  o.cams = cams;
  o.data = root;
  o.list = list;
  return o;
}

}  // namespace

TEST(Eval, MiouEqualsNumpyReferenceWithBackground) {
  RandomCase c(true, 5, 12);
  amr::EvalOptions o = eval_opts(c.cams(), c.root(), "val.txt");
  o.thresholds = {0.3, 0.6};
  amr::EvalResult r = amr::evaluate_cams(o, amr::test::threads(2));
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_NEAR(r.points[0].metrics.miou, python_miou(c, 0.3, true), 1e-9);
  EXPECT_NEAR(r.points[1].metrics.miou, python_miou(c, 0.6, true), 1e-9);
  EXPECT_EQ(r.images, 12u);
}

TEST(Eval, MiouEqualsNumpyReferenceWithoutBackground) {
  RandomCase c(false, 4, 9);
  amr::EvalResult r = amr::evaluate_cams(eval_opts(c.cams(), c.root(), "val.txt"), amr::test::threads(2));
  EXPECT_FALSE(r.has_background);
  EXPECT_NEAR(r.points[0].metrics.miou, python_miou(c, 0.0, false), 1e-9);
}

TEST(Eval, HandComputedTwoClassCase) {
  // gt: 0 0 1 1 / pred: 0 1 1 1 -> IoU bg = 1/2, IoU c = 2/3; precision bg 1, recall bg 1/2.
  amr::Confusion c(2);
  cv::Mat gt = (cv::Mat_<uint8_t>(1, 5) << 0, 0, 1, 1, 255), pred = (cv::Mat_<uint8_t>(1, 5) << 0, 1, 1, 1, 0);
  c.add(pred, gt);
  amr::SegMetrics m = amr::segmentation_metrics(c, {"bg", "c"});
  EXPECT_DOUBLE_EQ(m.iou[0], 0.5);
  EXPECT_DOUBLE_EQ(m.iou[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.miou, (0.5 + 2.0 / 3.0) / 2);
  EXPECT_DOUBLE_EQ(m.precision[0], 1.0);
  EXPECT_DOUBLE_EQ(m.recall[0], 0.5);
  EXPECT_DOUBLE_EQ(m.fp_rate[1], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.pixel_accuracy, 0.75);
}

// --constant: whatever the CAM values, every pixel takes the first key's class.
// gt 0 1 1 2 (background, c0, c0, c1), keys {c0, c1} -> prediction c0 everywhere:
// IoU background 0, c0 2/4, c1 0 -> mIoU 1/6, at every threshold below 1.
TEST(Eval, ConstantMapBaselineHandComputed) {
  TempDir dir;
  one_image_case(dir, "background\nc0\nc1\n", (cv::Mat_<uint8_t>(1, 4) << 0, 1, 1, 2), "cams");
  amr::write_npz(dir / "cams/im.npz", {{"keys", torch::tensor({0, 1}, torch::kInt32)},
                                      {"cam", torch::tensor({0.1f, 0.9f, 0.9f, 0.1f, 0.1f, 0.1f, 0.1f, 0.9f}).view({2, 1, 4})}});
  amr::EvalOptions o = eval_opts(dir / "cams", dir / "data", "val.txt");
  o.thresholds = {0.05, 0.5, 0.95};
  amr::EvalResult real = amr::evaluate_cams(o, amr::test::threads(2));
  o.constant = true;
  amr::EvalResult constant = amr::evaluate_cams(o, amr::test::threads(2));
  for (const auto& p : constant.points) EXPECT_DOUBLE_EQ(p.metrics.miou, 1.0 / 6.0) << "threshold " << p.threshold;
  EXPECT_DOUBLE_EQ(real.points[1].metrics.miou, 1.0);  // the CAM itself is exact at 0.5
  o.xis = {0.5};
  EXPECT_THROW(amr::evaluate_cams(o, amr::test::threads(2)), amr::Error);
}

// PartScenes' split recall, by hand. One object of class c0 over 6 pixels: 2 part pixels
// (both activated), 4 body pixels (1 activated), then a 255 border and a background pixel.
// At threshold 0.5: part recall 2/2, body recall 1/4; at 0.05 everything is c0: 1 and 1.
TEST(Eval, PartAndBodyRecallHandComputed) {
  TempDir dir;
  one_image_case(dir, "background\nc0\n", (cv::Mat_<uint8_t>(1, 8) << 1, 1, 1, 1, 1, 1, 255, 0), "cams");
  fs::create_directories(dir / "data/SegmentationPart");
  amr::write_label_png(dir / "data/SegmentationPart/im.png", (cv::Mat_<uint8_t>(1, 8) << 2, 2, 1, 1, 1, 1, 255, 0));
  amr::write_npz(dir / "cams/im.npz", {{"keys", torch::tensor({0}, torch::kInt32)},
                                      {"cam", torch::tensor({1.f, 0.9f, 0.6f, 0.2f, 0.1f, 0.1f, 0.f, 0.f}).view({1, 1, 8})}});
  amr::EvalOptions o = eval_opts(dir / "cams", dir / "data", "val.txt");
  o.thresholds = {0.05, 0.5};
  amr::EvalResult r = amr::evaluate_cams(o, amr::test::threads(2));
  ASSERT_TRUE(r.has_parts);
  EXPECT_DOUBLE_EQ(r.points[1].parts.part_recall(), 1.0);
  EXPECT_DOUBLE_EQ(r.points[1].parts.body_recall(), 0.25);
  EXPECT_DOUBLE_EQ(r.points[0].parts.body_recall(), 1.0);
  EXPECT_EQ(r.points[1].parts.part + r.points[1].parts.body, 6);
  EXPECT_NE(amr::markdown_report(r).find("on body pixels"), std::string::npos);
  EXPECT_DOUBLE_EQ(amr::to_json(r)["points"][1]["body_recall"].get<double>(), 0.25);
  fs::remove_all(dir / "data/SegmentationPart");
  EXPECT_FALSE(amr::evaluate_cams(o, amr::test::threads(2)).has_parts);
}

TEST(Eval, GroundTruthAsCamScoresExactly100OnVocVal) {
  if (!fs::exists(kVoc + "/val.txt")) GTEST_SKIP() << "shared data not found";
  TempDir cams;
  amr::DatasetOptions d;
  d.root = kVoc;
  d.list = "val.txt";
  d.require_images = false;
  d.load_labels = false;
  amr::VocDataset ds = amr::open_voc(d);
  ASSERT_EQ(ds.ids.size(), 1449u);
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    cv::Mat gt = amr::read_label_png(ds.mask_path(i));
    std::vector<int32_t> keys;
    std::vector<at::Tensor> planes;
    at::Tensor g = torch::from_blob(gt.data, {gt.rows, gt.cols}, torch::kUInt8);
    for (int c = 1; c <= 20; ++c) {
      at::Tensor plane = (g == c).to(torch::kFloat32);
      if (plane.sum().item<float>() > 0) {
        keys.push_back(c - 1);
        planes.push_back(plane);
      }
    }
    at::Tensor cam = planes.empty() ? torch::zeros({0, gt.rows, gt.cols}) : torch::stack(planes);
    amr::write_npz(cams / (ds.ids[i] + ".npz"),
                   {{"keys", torch::tensor(keys, torch::kInt32).view({static_cast<int64_t>(keys.size())})}, {"cam", cam}});
  }
  amr::EvalResult r = amr::evaluate_cams(eval_opts(cams.path(), kVoc, "val.txt"), amr::test::threads(2));
  EXPECT_EQ(r.points[0].metrics.miou, 1.0);
  EXPECT_EQ(r.points[0].metrics.classes.size(), 21u);
  for (double iou : r.points[0].metrics.iou) EXPECT_EQ(iou, 1.0);
}

TEST(Eval, BadCamFilesAreClearErrors) {
  RandomCase c(true, 3, 4);
  auto expect_error = [&](const std::string& needle) {
    try {
      amr::evaluate_cams(eval_opts(c.cams(), c.root(), "val.txt"), amr::test::threads(2));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const amr::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // CAM / mask size mismatch.
  amr::write_npz(c.cams() + "/im1.npz", {{"keys", torch::tensor({0}, torch::kInt32)}, {"cam", torch::rand({1, 5, 5})}});
  expect_error("mask");
  // Class index out of range.
  amr::write_npz(c.cams() + "/im1.npz", {{"keys", torch::tensor({7}, torch::kInt32)}, {"cam", torch::rand({1, 23, 29})}});
  expect_error("class index 7 out of range");
  // Missing CAM file.
  fs::remove(c.cams() + "/im1.npz");
  expect_error("im1.npz: no such file");
  // Truncated file.
  { std::ofstream(c.cams() + "/im1.npz") << "PK\x03\x04 not really"; }
  expect_error("im1.npz");
}

TEST(Labels, TwoThresholdsLeaveAnUnsureBand) {
  // One class, CAM row 0.01 .. 0.91: bg <= 0.2 -> 0, > 0.5 -> class 3 (+1), between -> 255.
  std::vector<float> cam;
  for (int x = 0; x < 10; ++x) cam.push_back(x / 10.f + 0.01f);
  amr::LabelOptions o;
  o.fg = 0.5;
  o.bg = 0.2;
  cv::Mat l = amr::cam_to_label({2}, cam.data(), 1, 1, 10, true, o);
  std::vector<int> got(l.begin<uint8_t>(), l.end<uint8_t>());
  EXPECT_EQ(got, (std::vector<int>{0, 0, 255, 255, 255, 3, 3, 3, 3, 3}));
  o.fg = o.bg = std::nullopt;
  o.bg_threshold = 0.45;
  l = amr::cam_to_label({2}, cam.data(), 1, 1, 10, true, o);
  got.assign(l.begin<uint8_t>(), l.end<uint8_t>());
  EXPECT_EQ(got, (std::vector<int>{0, 0, 0, 0, 0, 3, 3, 3, 3, 3}));
}

namespace {
// A trained-for-one-step run on tiny scenes, for the CAM pipeline tests.
struct TinyRun {
  TempDir dir;
  std::string data() const { return dir / "data"; }
  std::string run() const { return dir / "run"; }
  explicit TinyRun(const std::string& variant = "amr") {
    amr::ScenesOptions so;
    so.train = 8;
    so.val = 5;
    so.size = 40;
    so.out = data();
    amr::generate_scenes(so, amr::test::threads(2));
    amr::TrainConfig c = amr::config_from_yaml_text(
        "arch: resnet18\nstrides: [2, 2, 1, 1]\nbn: train\nrouting: joint\nepochs: 1\nbatch: 4\n"
        "crop: 40\nresize_long: [40, 40]\nworkers: 1\n",
        "test");
    c.variant = variant;
    c.data = data();
    amr::TrainOptions t;
    t.run_dir = run();
    t.quiet = true;
    amr::train(c, t);
  }
};
}  // namespace

TEST(Cam, ShardsCoverTheListOnceAndResumeSkipsDoneFiles) {
  TinyRun tr;
  std::set<std::string> seen;
  size_t total = 0;
  for (int shard = 0; shard < 2; ++shard) {
    TempDir out;
    amr::CamRunOptions o;
    o.run = tr.run();
    o.data = tr.data();
    o.list = "val.txt";
    o.out = out.path();
    o.quiet = true;
    o.cam.keep_branches = true;
    amr::parse_shard(std::to_string(shard) + "/2", &o);
    amr::CamRunSummary s = amr::run_cam(o, amr::test::threads(2));
    total += s.written;
    for (auto& e : fs::directory_iterator(out.path())) {
      if (e.path().extension() != ".npz") continue;  // cam_settings.json
      EXPECT_TRUE(seen.insert(e.path().stem().string()).second) << "id in two shards";
      amr::NamedArrays a = amr::read_npz(e.path().string());
      at::Tensor cam = amr::npz_get(a, "cam", "x"), cs = amr::npz_get(a, "cam_s", "x"), cc = amr::npz_get(a, "cam_c", "x");
      EXPECT_EQ(cam.size(1), 40);
      EXPECT_LE(cam.max().item<float>(), 1.0f);
      EXPECT_GE(cam.min().item<float>(), 0.0f);
      EXPECT_TRUE(torch::allclose(cam, 0.5 * cs + 0.5 * cc, 1e-6, 1e-6));
    }
    o.resume = true;
    amr::CamRunSummary again = amr::run_cam(o, amr::test::threads(2));
    EXPECT_EQ(again.written, 0u);
    EXPECT_EQ(again.skipped, s.written);
  }
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(seen.size(), 5u);

  // --classes predicted: keys from the classifier's scores (at least the top class).
  amr::LoadedRun run = amr::load_run(tr.run(), 10);
  cv::Mat rgb = amr::read_rgb(tr.data() + "/JPEGImages/val_000000.jpg");
  amr::CamOptions po;
  po.predicted_classes = true;
  po.score_threshold = 0.999;
  amr::ImageCam pc = amr::compute_cam(run.net, rgb, {}, po);
  ASSERT_GE(pc.keys.size(), 1u);
  for (int64_t k : pc.keys) EXPECT_LT(k, 10);
  EXPECT_EQ(pc.cam.size(0), static_cast<int64_t>(pc.keys.size()));
  po.score_threshold = 0.0;
  EXPECT_EQ(amr::compute_cam(run.net, rgb, {}, po).keys.size(), 10u);
  amr::CamRunOptions bad;
  EXPECT_THROW(amr::parse_shard("2/2", &bad), amr::Error);
  EXPECT_THROW(amr::parse_shard("x", &bad), amr::Error);
}

TEST(Cam, WeightsFileWithTauEqualsTheRunOfAnImprovedModel) {
  TinyRun tr("amr-improved");  // trained with tau 0.3 (relative)
  auto cams = [&](const std::string& run, const std::string& weights, std::optional<double> tau) {
    TempDir out;
    amr::CamRunOptions o;
    o.run = run;
    o.weights = weights;
    o.arch = "resnet18";
    o.strides = {2, 2, 1, 1};
    o.tau = tau;
    o.data = tr.data();
    o.list = "val.txt";
    o.out = out.path();
    o.quiet = true;
    o.cam.keep_branches = true;
    amr::run_cam(o, amr::test::threads(2));
    std::map<std::string, at::Tensor> m;
    for (auto& e : fs::directory_iterator(out.path()))
      if (e.path().extension() == ".npz") m[e.path().filename().string()] = amr::npz_get(amr::read_npz(e.path().string()), "cam_c", "x").clone();
    return m;
  };
  auto from_run = cams(tr.run(), "", std::nullopt);
  // model.pt describes its network (tau 0.3 included): --weights rebuilds it with or without
  // the flag, and a flag that disagrees is an error.
  auto from_weights = cams("", tr.run() + "/model.pt", 0.3);
  auto described = cams("", tr.run() + "/model.pt", std::nullopt);
  // The same tensors without the description (as weights from another tool): --tau decides.
  TempDir bare;
  amr::write_pth(bare / "bare.pt", amr::read_pth(tr.run() + "/model.pt"));
  auto bare_with_tau = cams("", bare / "bare.pt", 0.3);
  auto without_tau = cams("", bare / "bare.pt", std::nullopt);
  ASSERT_EQ(from_run.size(), 5u);
  double diff_without = 0;
  for (auto& [id, cam] : from_run) {
    EXPECT_TRUE(torch::allclose(cam, from_weights.at(id), 1e-5, 1e-6)) << id;
    EXPECT_TRUE(torch::equal(cam, described.at(id))) << id;
    EXPECT_TRUE(torch::allclose(cam, bare_with_tau.at(id), 1e-5, 1e-6)) << id;
    diff_without = std::max(diff_without, (cam - without_tau.at(id)).abs().max().item<double>());
  }
  EXPECT_GT(diff_without, 1e-3) << "tau must reach the AMMs";
  EXPECT_THROW(cams(tr.run(), "", 0.3), amr::Error);
  EXPECT_THROW(cams("", tr.run() + "/model.pt", 0.1), amr::Error);
}

// erase-test plumbing on a tiny run: CAM files with a known 10x10 peak give the exact peak
// area; the unerased score is the classifier's sigmoid on the image; the background region is
// no larger than the peak.
TEST(EraseTest, KnownPeakAreaAndOriginalScores) {
  TinyRun tr;
  TempDir cams;
  amr::DatasetOptions d;
  d.root = tr.data();
  d.list = "val.txt";
  amr::VocDataset ds = amr::open_voc(d);
  amr::AmrNet net = amr::load_run(tr.run(), ds.num_classes()).net;
  net->eval();
  double expected_score = 0;
  size_t pairs = 0;
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    std::vector<int32_t> keys;
    for (int k = 0; k < ds.num_classes(); ++k)
      if (ds.labels[i][static_cast<size_t>(k)] > 0.5f) keys.push_back(k);
    at::Tensor cam = torch::zeros({static_cast<int64_t>(keys.size()), 40, 40});
    cam.narrow(1, 5, 10).narrow(2, 5, 10).fill_(1.0);
    amr::write_npz(cams / (ds.ids[i] + ".npz"),
                   {{"keys", torch::tensor(keys, torch::kInt32).view({static_cast<int64_t>(keys.size())})}, {"cam", cam}});
    torch::NoGradGuard no_grad;
    at::Tensor s = torch::sigmoid(net->forward(amr::to_normalized_tensor(amr::read_rgb(ds.image_path(i))).unsqueeze(0)).logits_s);
    for (int32_t k : keys) expected_score += s[0][k].item<double>(), ++pairs;
  }
  amr::EraseTestOptions o;
  o.run = tr.run();
  o.cams = cams.path();
  o.data = tr.data();
  o.list = "val.txt";
  amr::EraseTestResult r = amr::erase_test(o);
  ASSERT_EQ(r.samples, pairs);
  EXPECT_NEAR(r.score, expected_score / static_cast<double>(pairs), 1e-5);
  EXPECT_DOUBLE_EQ(r.peak_area, 100.0 / 1600.0);
  EXPECT_GT(r.background_area, 0.0);
  EXPECT_LE(r.background_area, 1.0);
  EXPECT_NE(r.score_peak_erased, r.score);
  o.peak_fraction = 1.5;
  EXPECT_THROW(amr::erase_test(o), amr::Error);
}

TEST(Cam, UnreadableRunDirIsAClearError) {
  TempDir d;
  amr::CamRunOptions o;
  o.run = d / "nope";
  o.data = d.path();
  o.list = "val.txt";
  o.out = d / "out";
  try {
    amr::run_cam(o, amr::test::threads(2));
    FAIL();
  } catch (const amr::Error& e) {
    EXPECT_FALSE(std::string(e.what()).empty());
  }
  EXPECT_FALSE(fs::exists(d / "out"));
}

TEST(Cam, EqualsOfficialCamClassOnTheReferenceComputation) {
  if (!amr::test::reference_available()) GTEST_SKIP() << "official AMR code not found";
  TempDir dir;
  const std::string root = dir / "voc";
  fs::create_directories(root + "/JPEGImages");
  {
    std::ofstream classes(root + "/classes.txt");
    classes << "background\n";
    for (int c = 0; c < 20; ++c) classes << "c" << c << "\n";
    std::ofstream(root + "/val.txt") << "img\n";
    std::ofstream(root + "/cls_labels.txt") << "img 0 0 1 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0\n";
    cv::Mat small(6, 8, CV_8UC3), img;
    cv::randu(small, 0, 255);
    cv::resize(small, img, cv::Size(90, 70), 0, 0, cv::INTER_CUBIC);
    cv::imwrite(root + "/JPEGImages/img.jpg", img);
  }
  // The official AMM on torch 2.11 moves its CAMs by 5e-4 against its own 1.13 results (its
  // train-mode BatchNorm and Gaussian; measured): the oracle is the official code on 1.13.
  amr::test::run_python_with(AMR_OFFICIAL_PYTHON, std::string("make_official_amr_weights.py ") + AMR_REFERENCE_DIR + " " +
                                                      (dir / "official.pth"));
  amr::ImportResult w = amr::import_weights(dir / "official.pth", {});
  amr::write_pth(dir / "amr.pt", w.tensors);

  amr::CamRunOptions o;
  o.weights = dir / "amr.pt";
  o.data = root;
  o.list = "val.txt";
  o.out = dir / "cams";
  o.quiet = true;
  amr::run_cam(o, amr::test::threads(2));
  amr::test::run_python_with(AMR_OFFICIAL_PYTHON, std::string("official_cam_reference.py ") + AMR_REFERENCE_DIR + " " + (dir / "official.pth") +
                        " " + root + "/JPEGImages/img.jpg 2,14 1.0,0.5,1.5,2.0 0.5 " + (dir / "ref.npy"));
  amr::NamedArrays ours = amr::read_npz(dir / "cams/img.npz");
  at::Tensor cam = amr::npz_get(ours, "cam", "ours");
  EXPECT_TRUE(torch::equal(amr::npz_get(ours, "keys", "ours"), torch::tensor({2, 14}, torch::kInt32)));
  // The reference .npy, read through a one-entry npz written by numpy would need numpy.savez;
  // np.save output is a plain .npy: wrap it.
  auto r = amr::test::run(std::string(AMR_OFFICIAL_PYTHON) + " -c \"import numpy as np; np.savez('" + (dir / "ref.npz") +
                          "', cam=np.load('" + (dir / "ref.npy") + "'), stride4=np.load('" + (dir / "ref.stride4.npy") + "'))\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  at::Tensor ref = amr::npz_get(amr::read_npz(dir / "ref.npz"), "cam", "ref");
  ASSERT_EQ(cam.sizes(), ref.sizes());
  const double err = (cam - ref).abs().max().item<double>();
  EXPECT_LT(err, 1e-4) << "max abs difference " << err;
  EXPECT_GT(ref.max().item<double>(), 0.9);
  // The stride-4 map the IRN stage walks: the official `cam` key.
  const at::Tensor s4 = amr::npz_get(ours, "cam_stride4", "ours"), ref4 = amr::npz_get(amr::read_npz(dir / "ref.npz"), "stride4", "ref");
  ASSERT_EQ(s4.sizes(), ref4.sizes());
  EXPECT_LT((s4 - ref4).abs().max().item<double>(), 1e-4);
  EXPECT_GT(ref4.max().item<double>(), 0.9);
}

TEST(Eval, LabelPngsAgainstMasksHandComputed) {
  // mask [0 0 1 1], prediction [0 1 1 255]: background TP 1, FN 1 -> IoU 1/2; class a TP 1, FP 1,
  // FN 1 (the unsure pixel) -> IoU 1/3.
  TempDir dir;
  one_image_case(dir, "background\na\n", (cv::Mat_<uint8_t>(1, 4) << 0, 0, 1, 1), "labels");
  amr::write_label_png(dir / "labels/im.png", (cv::Mat_<uint8_t>(1, 4) << 0, 1, 1, 255));
  amr::EvalOptions o;
  o.labels = dir / "labels";
  o.data = dir / "data";
  o.list = "val.txt";
  amr::EvalResult r = amr::evaluate_labels(o, amr::test::threads(2));
  EXPECT_NEAR(r.points[r.best].metrics.miou, (0.5 + 1.0 / 3.0) / 2, 1e-12);
  auto bad = amr::test::run_cli("eval --labels " + (dir / "labels") + " --data " + (dir / "data") + " --list val.txt --sweep 0.1:0.2:0.1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--labels"), std::string::npos) << bad.output;
}

// xi at values other than 0.5, where swapping xi and 1 - xi shows: hand-made branches, the CAM
// computation, and eval --xi-sweep against the same fusion written out by hand.
TEST(Cam, XiOtherThanHalfWeighsTheSpotlight) {
  amr::CamFile f;
  f.keys = {0};
  f.cam_s = torch::ones({1, 2, 3});
  f.cam_c = torch::zeros({1, 2, 3});
  f.cam = f.cam_s;
  EXPECT_TRUE(torch::allclose(f.fused(0.2, "f"), torch::full({1, 2, 3}, 0.2)));
  EXPECT_TRUE(torch::allclose(f.fused(0.9, "f"), torch::full({1, 2, 3}, 0.9)));
  EXPECT_THROW(f.fused(1.5, "f"), amr::Error);
  EXPECT_THROW(f.fused(std::nan(""), "f"), amr::Error);

  TinyRun tr;
  amr::AmrNet net = amr::load_run_model(tr.run(), 10);
  cv::Mat rgb = amr::read_rgb(tr.data() + "/JPEGImages/val_000000.jpg");
  amr::VocDataset ds = amr::open_voc([&] {
    amr::DatasetOptions d;
    d.root = tr.data();
    d.list = "val.txt";
    return d;
  }());
  amr::CamOptions o;
  o.xi = 0.2;
  o.keep_branches = true;
  amr::ImageCam c = amr::compute_cam(net, rgb, ds.labels[0], o);
  ASSERT_GT((c.cam_s - c.cam_c).abs().max().item<double>(), 1e-3) << "branches must differ for this test";
  EXPECT_TRUE(torch::allclose(c.cam, 0.2 * c.cam_s + 0.8 * c.cam_c, 1e-6, 1e-6));
  ASSERT_TRUE(c.xi.has_value());
  EXPECT_EQ(*c.xi, 0.2);

  RandomCase rc(true, 3, 6);
  TempDir fused_dir;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "im" + std::to_string(i);
    amr::CamFile g = amr::read_cam_file(rc.cams() + "/" + id + ".npz", 3);
    g.cam_s = g.cam;
    g.cam_c = torch::rand(g.cam.sizes());  // a different compensation map
    amr::write_cam_file(rc.cams() + "/" + id + ".npz", g);
    amr::CamFile h = g;
    h.cam = 0.2 * g.cam_s + 0.8 * g.cam_c;
    h.cam_s = h.cam_c = at::Tensor();
    amr::write_cam_file(fused_dir / (id + ".npz"), h);
  }
  amr::EvalOptions sweep = eval_opts(rc.cams(), rc.root(), "val.txt");
  sweep.thresholds = {0.3};
  sweep.xis = {0.2, 0.8};
  amr::EvalResult swept = amr::evaluate_cams(sweep, amr::test::threads(2));
  amr::EvalOptions by_hand = eval_opts(fused_dir.path(), rc.root(), "val.txt");
  by_hand.thresholds = {0.3};
  amr::EvalResult reference = amr::evaluate_cams(by_hand, amr::test::threads(2));
  ASSERT_EQ(swept.points.size(), 2u);
  EXPECT_EQ(swept.points[0].xi, std::optional<double>(0.2));
  EXPECT_DOUBLE_EQ(swept.points[0].metrics.miou, reference.points[0].metrics.miou);
  EXPECT_NE(swept.points[1].metrics.miou, reference.points[0].metrics.miou);
}

// Channels-last activations (amr cam's default on images >= 256 x 256) give the CAMs of the
// NCHW path within rounding: same keys, maps within 1e-3 (measured 3.5e-4 on ResNet-50 x 2 at
// 448 px after one training step; the Gaussian and the per-class max amplify last bits).
TEST(Cam, ChannelsLastGivesTheContiguousCams) {
  TinyRun tr;
  amr::AmrNet net = amr::load_run_model(tr.run(), 10);
  net->eval();
  cv::Mat rgb = amr::read_rgb(tr.data() + "/JPEGImages/val_000000.jpg");
  cv::resize(rgb, rgb, cv::Size(160, 120), 0, 0, cv::INTER_CUBIC);
  std::vector<float> labels(10, 0.f);
  labels[1] = labels[4] = 1.f;
  amr::CamOptions o;
  o.keep_branches = true;
  const amr::ImageCam a = amr::compute_cam(net, rgb, labels, o);
  amr::use_channels_last(net);
  o.channels_last = true;
  const amr::ImageCam b = amr::compute_cam(net, rgb, labels, o);
  EXPECT_EQ(a.keys, b.keys);
  ASSERT_EQ(a.cam.sizes(), b.cam.sizes());
  const double diff = std::max((a.cam_s - b.cam_s).abs().max().item<double>(), (a.cam_c - b.cam_c).abs().max().item<double>());
  std::cout << "channels-last vs NCHW: max |CAM difference| " << diff << "\n";
  EXPECT_LE(diff, 1e-3);
  EXPECT_TRUE(b.cam.is_contiguous());
}

TEST(Cam, ProfilingTimesEveryPartAndChangesNoValue) {
  TinyRun tr;
  amr::AmrNet net = amr::load_run_model(tr.run(), 10);
  net->eval();
  cv::Mat rgb = amr::read_rgb(tr.data() + "/JPEGImages/val_000000.jpg");
  std::vector<float> labels(10, 0.f);
  labels[2] = 1.f;
  amr::CamOptions o;
  o.keep_branches = true;
  o.scales = {1.0, 0.5};
  const amr::ImageCam plain = amr::compute_cam(net, rgb, labels, o);
  amr::CamProfile profile;
  o.profile = &profile;
  const amr::ImageCam timed = amr::compute_cam(net, rgb, labels, o);
  EXPECT_TRUE(torch::equal(plain.cam_s, timed.cam_s));
  EXPECT_TRUE(torch::equal(plain.cam_c, timed.cam_c));
  for (const char* scale : {"scale 1/", "scale 0.5/"})
    for (const char* branch : {"spotlight/", "compensation/"})
      for (const char* stage : {"stem", "layer1", "layer2", "layer3", "layer4", "classifier"}) {
        const std::string key = std::string(scale) + branch + stage;
        ASSERT_TRUE(profile.seconds.count(key)) << key;
        EXPECT_GE(profile.seconds[key], 0.0) << key;
      }
  EXPECT_TRUE(profile.seconds.count("prepare") && profile.seconds.count("accumulate") && profile.seconds.count("normalize"));
  EXPECT_EQ(profile.seconds.size(), 2u * 2u * 6u + 3u);
}

// `amr cam --config` and `amr eval --config`: the same settings as flags, in a YAML file (with
// `_base_`), give the same files; flags override the file.
TEST(Cam, ConfigFilesGiveTheSameCamsAndScoresAsFlags) {
  TinyRun tr("cam");
  TempDir d;
  const std::string flags = " --run " + tr.run() + " --data " + tr.data() + " --list val.txt --scales 1.0,0.5 --no-flip --threads 1 --quiet";
  auto r = amr::test::run_cli("cam --out " + d / "by_flags" + flags);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ofstream(d / "base.yaml") << "run: " << tr.run() << "\ndata: " << tr.data() << "\nlist: val.txt\nscales: [1.0, 2.0]\n";
  std::ofstream(d / "cam.yaml") << "_base_: base.yaml\nflip: false\nscales: [1.0, 0.5]\nout: " << d / "by_config" << "\n";
  r = amr::test::run_cli("cam --config " + d / "cam.yaml" + " --threads 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (auto& e : fs::directory_iterator(d / "by_flags")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".npz")
      EXPECT_TRUE(torch::equal(amr::npz_get(amr::read_npz(e.path().string()), "cam", name),
                               amr::npz_get(amr::read_npz(d / ("by_config/" + name)), "cam", name)))
          << name;
  }
  // A flag overrides the file: other scales, other CAMs (refused in the same --out).
  r = amr::test::run_cli("cam --config " + d / "cam.yaml" + " --scales 1.0 --threads 1 --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("other settings"), std::string::npos) << r.output;
  std::ofstream(d / "bad.yaml") << "run: x\nscales: [9.0]\ndata: " << tr.data() << "\nlist: val.txt\nout: " << d / "o" << "\n";
  r = amr::test::run_cli("cam --config " + d / "bad.yaml" + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--scales: each scale must be in [0.1, 4]"), std::string::npos) << r.output;

  std::ofstream(d / "eval.yaml") << "cams: " << d / "by_config" << "\ndata: " << tr.data()
                                 << "\nlist: val.txt\nthresholds: [0.1, 0.3]\n";
  r = amr::test::run_cli("eval --config " + d / "eval.yaml" + " --json " + d / "config.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = amr::test::run_cli("eval --cams " + d / "by_flags" + " --data " + tr.data() + " --list val.txt --sweep 0.1:0.3:0.2 --json " +
                         d / "flags.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream a(d / "config.json"), b(d / "flags.json");
  EXPECT_EQ(nlohmann::json::parse(a), nlohmann::json::parse(b));
  std::ofstream(d / "twice.yaml") << "cams: a\ncams: b\n";
  r = amr::test::run_cli("eval --config " + d / "twice.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("key 'cams' given twice"), std::string::npos) << r.output;
}

// The HTML report: self-contained, and rendered by headless Chromium without console errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "amr/eval/report.h"
#include "amr/base/parse.h"
#include "amr/eval/segmentation.h"
#include "amr/io/npz.h"
#include "amr/io/png.h"
#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::TempDir;

namespace {

// Evaluation JSON of random CAMs with a threshold x xi sweep.
std::string make_eval(const TempDir& dir, const std::string& name, int seed) {
  const std::string root = dir / (name + "_data"), cams = dir / (name + "_cams");
  fs::create_directories(root + "/SegmentationClass");
  fs::create_directories(cams);
  std::ofstream(root + "/classes.txt") << "background\ncat\ndog\nbird\n";
  std::ofstream list(root + "/val.txt");
  torch::manual_seed(seed);
  for (int i = 0; i < 6; ++i) {
    const std::string id = "v" + std::to_string(i);
    list << id << "\n";
    at::Tensor gt = torch::randint(0, 4, {16, 16}, torch::kUInt8);
    cv::Mat m(16, 16, CV_8UC1, gt.data_ptr<uint8_t>());
    amr::write_label_png(root + "/SegmentationClass/" + id + ".png", m.clone());
    at::Tensor cs = torch::rand({3, 16, 16}), cc = torch::rand({3, 16, 16});
    amr::write_npz(cams + "/" + id + ".npz", {{"keys", torch::tensor({0, 1, 2}, torch::kInt32)},
                                              {"cam", 0.5 * cs + 0.5 * cc}, {"cam_s", cs}, {"cam_c", cc}});
  }
  list.close();
  amr::EvalOptions o;
  o.cams = cams;
  o.data = root;
  o.list = "val.txt";
  o.thresholds = amr::parse_range("0.1:0.5:0.1", "--sweep");
  o.xis = amr::parse_range("0:1:0.25", "--xi-sweep");
  const std::string path = dir / (name + ".json");
  std::ofstream(path) << amr::to_json(amr::evaluate_cams(o, amr::test::threads(2))).dump();
  return path;
}

}  // namespace

TEST(Report, SelfContainedHtmlWithTablesChartsAndImages) {
  TempDir dir;
  amr::ReportOptions o;
  o.evals = {{"CAM", make_eval(dir, "a", 1)}, {"AMR", make_eval(dir, "b", 2)}};
  const nlohmann::json fusion = nlohmann::json::parse(std::ifstream(o.evals[0].second))["fusion"];
  EXPECT_TRUE(fusion["spotlight_alone"].is_number() && fusion["compensation_alone"].is_number()) << fusion;
  EXPECT_EQ(fusion["fusion_helped"].get<bool>(), fusion["best_xi"] != 0.0 && fusion["best_xi"] != 1.0);
  fs::create_directories(dir / "viz");
  cv::Mat img(40, 120, CV_8UC3, cv::Scalar(30, 160, 220));
  cv::imwrite(dir / "viz/v0.png", img);
  o.viz_dir = dir / "viz";
  o.out = dir / "report.html";
  amr::write_report(o);
  std::ifstream in(o.out);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string html = ss.str();
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("mIoU vs background threshold"), std::string::npos);
  EXPECT_NE(html.find("mIoU vs xi"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find(">AMR<"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // no network
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);

  // Rendered by Debian's chromium: no console error, and not a blank page.
  const std::string chromium = "/usr/bin/chromium";
  ASSERT_TRUE(fs::exists(chromium)) << "chromium is a test dependency (scripts/install-deps.sh)";
  const std::string shot = dir / "shot.png";
  auto r = amr::test::run(chromium + " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --user-data-dir=" + (dir / "profile") + " --enable-logging=stderr --v=0"
                          " --window-size=1100,1600 --screenshot=" + shot + " file://" + o.out);
  EXPECT_TRUE(fs::exists(shot)) << r.output;
  EXPECT_EQ(r.output.find("CONSOLE"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Uncaught"), std::string::npos) << r.output;
  cv::Mat page = cv::imread(shot, cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(page.empty());
  cv::Scalar mean, stddev;
  cv::meanStdDev(page, mean, stddev);
  EXPECT_GT(stddev[0], 10.0) << "blank page";
  // The embedded overlay's colour is on the page.
  cv::Mat colour = cv::imread(shot, cv::IMREAD_COLOR);
  cv::Mat hit;
  cv::inRange(colour, cv::Scalar(24, 154, 214), cv::Scalar(36, 166, 226), hit);
  EXPECT_GT(cv::countNonZero(hit), 1000) << "the embedded image is not on the page";

  EXPECT_THROW(amr::write_report({{{"x", dir / "missing.json"}}, "", 1, "t", dir / "r2.html"}), std::exception);
  EXPECT_FALSE(fs::exists(dir / "r2.html"));
}

// amr eval's fusion summary: each branch alone beside the fused CAM, and when one branch alone
// is best (xi 0 or 1) the sentence that the fusion did not help, in the markdown, the JSON and
// the HTML report.
TEST(Report, FusionThatDidNotHelpIsSaidWithEachBranchAlone) {
  // (xi, mIoU): the spotlight alone (xi 1) is best; the compensation alone far below.
  auto f = amr::fusion_summary({{0.0, 0.0864}, {0.0, 0.05}, {0.5, 0.40}, {1.0, 0.4876}, {1.0, 0.30}});
  EXPECT_DOUBLE_EQ(amr::fusion_summary({{0.0, 0.6}, {0.0, 0.1}, {1.0, 0.3}})->fused, 0.6);  // several thresholds per xi
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->one_branch_best());
  EXPECT_DOUBLE_EQ(f->best_xi, 1.0);
  EXPECT_DOUBLE_EQ(*f->spotlight_alone, 0.4876);
  EXPECT_DOUBLE_EQ(*f->compensation_alone, 0.0864);
  EXPECT_NE(f->sentence().find("The fusion did not help: the best CAM is the spotlight branch alone (xi 1, mIoU 48.76); "
                               "spotlight alone 48.76, compensation alone 8.64."),
            std::string::npos)
      << f->sentence();
  EXPECT_NE(f->sentence().find("stale BatchNorm statistics"), std::string::npos);
  f = amr::fusion_summary({{0.0, 0.47}, {0.2, 0.50}, {1.0, 0.49}});
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->one_branch_best());
  EXPECT_EQ(f->sentence(), "Fused (xi 0.2) mIoU 50.00; spotlight alone 49.00, compensation alone 47.00.");
  EXPECT_FALSE(amr::fusion_summary({{0.3, 0.5}, {0.3, 0.6}}));  // one xi: no sweep

  TempDir dir;
  nlohmann::json j = {{"images", 3}, {"best", 2}, {"has_background", true}};
  for (auto [xi, miou] : std::vector<std::pair<double, double>>{{0.0, 0.0864}, {0.5, 0.40}, {1.0, 0.4876}})
    j["points"].push_back({{"threshold", 0.1}, {"xi", xi}, {"miou", miou}, {"pixel_accuracy", 0.9},
                           {"mean_precision", 0.5}, {"mean_recall", 0.5}, {"classes", nlohmann::json::array()}});
  std::ofstream(dir / "e.json") << j.dump();
  amr::ReportOptions o;
  o.evals = {{"AMR", dir / "e.json"}};
  o.out = dir / "r.html";
  amr::write_report(o);
  std::stringstream html;
  html << std::ifstream(o.out).rdbuf();
  EXPECT_NE(html.str().find("<b>AMR</b>: The fusion did not help"), std::string::npos);
  EXPECT_NE(html.str().find("<td>8.6</td>"), std::string::npos);  // the compensation-alone column
}

TEST(Report, PipelineTableOfRunStages) {
  // amr/cam 51.2, amr/ir-labels 40.0, amr/masks 63.5, cam/cam 48.0: one row per run, a column per
  // stage in order of appearance, a dash where a run lacks a stage.
  TempDir dir;
  auto write_eval = [&](const std::string& file, double miou) {
    nlohmann::json j = {{"images", 4}, {"best", 0}, {"has_background", true}};
    j["points"].push_back({{"threshold", 0.25}, {"miou", miou}, {"pixel_accuracy", 0.9}, {"mean_precision", 0.5},
                           {"mean_recall", 0.5}, {"classes", nlohmann::json::array()}});
    std::ofstream(dir / file) << j.dump();
    return dir / file;
  };
  amr::ReportOptions o;
  o.evals = {{"amr/cam", write_eval("a.json", 0.512)}, {"amr/ir-labels", write_eval("b.json", 0.40)},
             {"amr/masks", write_eval("c.json", 0.635)}, {"cam/cam", write_eval("d.json", 0.48)}};
  o.out = dir / "r.html";
  amr::write_report(o);
  std::stringstream html;
  html << std::ifstream(o.out).rdbuf();
  const std::string h = html.str();
  EXPECT_NE(h.find("<tr><th>run</th><th>cam</th><th>ir-labels</th><th>masks</th></tr>"), std::string::npos) << h.substr(0, 2000);
  EXPECT_NE(h.find("<tr><td>amr</td><td>51.2</td><td>40.0</td><td>63.5</td></tr>"), std::string::npos);
  EXPECT_NE(h.find("<tr><td>cam</td><td>48.0</td><td>&ndash;</td><td>&ndash;</td></tr>"), std::string::npos);
  // Without RUN/STAGE names there is no pipeline table.
  o.evals = {{"AMR", dir / "a.json"}};
  amr::write_report(o);
  std::stringstream plain;
  plain << std::ifstream(o.out).rdbuf();
  EXPECT_EQ(plain.str().find("Pipeline"), std::string::npos);
}

// IRN stage: path indices, affinities and the sparse random walk against the official
// misc/indexing.py (python3-torch oracle), plus the walk's own invariants.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "amr/base/error.h"
#include "amr/data/voc.h"
#include "amr/cam/cam_file.h"
#include "amr/io/atomic_file.h"
#include "amr/io/npz.h"
#include "amr/io/png.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/irn/masks.h"
#include "amr/irn/path_index.h"
#include "amr/irn/random_walk.h"
#include "amr/model/irn_net.h"
#include "test_support.h"

namespace {

using amr::test::read_dict;

#define SKIP_WITHOUT_REFERENCE() \
  if (!amr::test::reference_available()) GTEST_SKIP() << "official AMR code not found at " << AMR_REFERENCE_DIR

void expect_equal_indices(const std::map<std::string, at::Tensor>& ref, const std::string& name, int64_t radius, int64_t h, int64_t w) {
  const amr::PathIndices pi = amr::path_indices(radius, h, w);
  ASSERT_TRUE(ref.count(name + "_src"));
  EXPECT_TRUE(pi.sources.equal(ref.at(name + "_src"))) << name;
  EXPECT_TRUE(pi.destinations.equal(ref.at(name + "_dst"))) << name;
  size_t groups = 0;
  while (ref.count(name + "_len" + std::to_string(groups))) ++groups;
  ASSERT_EQ(pi.by_length.size(), groups) << name;
  for (size_t i = 0; i < groups; ++i) EXPECT_TRUE(pi.by_length[i].equal(ref.at(name + "_len" + std::to_string(i)))) << name << " group " << i;
  std::vector<int64_t> dirs;
  for (const auto& d : pi.paths.directions) dirs.insert(dirs.end(), d.begin(), d.end());
  EXPECT_TRUE(at::tensor(dirs).view({-1, 2}).equal(ref.at(name + "_search_dst"))) << name;
}

}  // namespace

TEST(PathIndex, EqualsOfficialPathIndex) {
  SKIP_WITHOUT_REFERENCE();
  amr::test::TempDir dir;
  amr::test::run_python(std::string("irn_walk_reference.py ") + AMR_REFERENCE_DIR + " " + dir.path() + " 23 19 2 10 8");
  const auto ref = read_dict(dir / "paths.pth");
  expect_equal_indices(ref, "r10", 10, 40, 36);
  expect_equal_indices(ref, "r5", 5, 21, 30);
}

TEST(PathIndex, DirectionsCoverTheHalfDisc) {
  const amr::SearchPaths sp = amr::search_paths(5);
  // Lattice points with 0 < |d| < 5 number 68; one of each +-pair: 34.
  EXPECT_EQ(sp.directions.size(), 34u);
  for (const auto& group : sp.by_length)
    for (const auto& path : group) {
      EXPECT_EQ(path.size(), group.front().size());
      EXPECT_EQ(path.back(), (amr::Offset{0, 0}));  // every path ends at its source
    }
  EXPECT_THROW(amr::search_paths(1), amr::Error);
}

TEST(RandomWalk, SparseEqualsOfficialDense) {
  SKIP_WITHOUT_REFERENCE();
  amr::test::TempDir dir;
  amr::test::run_python(std::string("irn_walk_reference.py ") + AMR_REFERENCE_DIR + " " + dir.path() + " 23 19 2 10 8");
  const auto ref = read_dict(dir / "walk.pth");
  amr::RandomWalkOptions opt;  // beta 10, 2^8 steps, radius 5: make_sem_seg_labels' settings
  const at::Tensor rw = amr::random_walk(ref.at("cams"), ref.at("edge"), opt);
  const double scale = ref.at("rw").abs().max().item<double>();
  std::cout << "walk: max abs error vs float32 dense " << (rw - ref.at("rw")).abs().max().item<double>() << ", vs float64 dense "
            << (rw.to(at::kDouble) - ref.at("rw64")).abs().max().item<double>() << " at scale " << scale << "\n";
  ASSERT_GT(scale, 1e-3);
  EXPECT_LT((rw - ref.at("rw")).abs().max().item<double>(), 1e-4 * scale);
  EXPECT_LT((rw.to(at::kDouble) - ref.at("rw64")).abs().max().item<double>(), 1e-4 * scale);
  // The walk moved the CAMs: not the identity.
  EXPECT_GT((ref.at("rw") - ref.at("cams") * (1 - ref.at("edge"))).abs().max().item<double>(), 10 * 1e-4 * scale);
}

TEST(RandomWalk, ConservesMassPerColumnAndStopsAtBoundaries) {
  // A vertical wall of boundary 1 splits the map: nothing crosses it.
  at::Tensor edge = at::zeros({12, 16});
  edge.select(1, 8).fill_(1.0);
  at::Tensor cams = at::zeros({1, 12, 16});
  cams[0][6][2] = 1.0;
  amr::RandomWalkOptions opt;
  opt.exp_times = 6;
  const at::Tensor rw = amr::random_walk(cams, edge, opt);
  EXPECT_EQ(rw.slice(2, 8).abs().max().item<float>(), 0.0f);
  EXPECT_GT(rw.slice(2, 0, 8).min().item<float>(), 0.0f);  // spread over the whole left side
  // v T keeps the mass of v weighted by the column sums: sum_j (vT)_j D_j / ... ; simpler: the
  // transition has non-negative weights summing to 1 at each pixel.
  const amr::SparseTransition t = amr::sparse_transition(edge, opt);
  EXPECT_LT((t.weights.sum(0) - 1).abs().max().item<float>(), 1e-5f);
  EXPECT_GE(t.weights.min().item<float>(), 0.0f);
}

TEST(RandomWalk, RejectsBadSettingsAndShapes) {
  const at::Tensor edge = at::zeros({8, 8}), cams = at::zeros({2, 8, 8});
  auto message = [&](amr::RandomWalkOptions opt, const at::Tensor& c, const at::Tensor& e) {
    try {
      amr::random_walk(c, e, opt);
    } catch (const amr::Error& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  amr::RandomWalkOptions beta0;
  beta0.beta = 0;
  EXPECT_NE(message(beta0, cams, edge).find("--beta"), std::string::npos);
  amr::RandomWalkOptions negative;
  negative.exp_times = -1;
  EXPECT_NE(message(negative, cams, edge).find("--exp-times"), std::string::npos);
  EXPECT_NE(message({}, at::zeros({2, 8, 9}), edge).find("do not match the boundary map"), std::string::npos);
  EXPECT_NE(message({}, cams, at::zeros({1, 8, 8})).find("boundary map [h, w]"), std::string::npos);
  at::Tensor nan_edge = edge.clone();
  nan_edge[0][0] = NAN;
  EXPECT_NE(message({}, cams, nan_edge).find("NaN"), std::string::npos);
}

TEST(Masks, WalkToMaskEqualsMakeSemSegLabels) {
  SKIP_WITHOUT_REFERENCE();
  amr::test::TempDir dir;
  amr::test::run_python(std::string("irn_walk_reference.py ") + AMR_REFERENCE_DIR + " " + dir.path() + " 23 19 2 10 8");
  const auto walk = read_dict(dir / "walk.pth");
  const at::Tensor ref = read_dict(dir / "mask.pth").at("mask");
  const cv::Mat mask = amr::walk_to_mask({4, 11}, walk.at("cams"), walk.at("edge"), ref.size(0), ref.size(1), {});
  ASSERT_EQ(mask.rows, ref.size(0));
  ASSERT_EQ(mask.cols, ref.size(1));
  const at::Tensor mine = torch::from_blob(mask.data, {mask.rows, mask.cols}, at::kByte).clone();
  // The three labels all appear (the comparison is not between two blank masks).
  for (int v : {0, 5, 12}) EXPECT_GT(ref.eq(v).sum().item<int64_t>(), 0) << v;
  // The walks agree to ~3e-5; a pixel within that of a tie may flip: at most 0.2% of them.
  EXPECT_LE(mine.ne(ref).sum().item<int64_t>(), ref.numel() / 500);
}

TEST(Masks, EmptyKeysGiveBackgroundAndBadShapesAreRefused) {
  const at::Tensor edge = at::zeros({5, 6});
  const cv::Mat empty = amr::walk_to_mask({}, at::zeros({0, 5, 6}), edge, 20, 24, {});
  EXPECT_EQ(cv::countNonZero(empty), 0);
  EXPECT_THROW(amr::walk_to_mask({1}, at::zeros({1, 5, 6}), at::zeros({5, 7}), 20, 24, {}), amr::Error);  // boundary size
  EXPECT_THROW(amr::walk_to_mask({1}, at::zeros({1, 4, 6}), edge, 20, 24, {}), amr::Error);              // CAM size
  EXPECT_THROW(amr::walk_to_mask({1, 2}, at::zeros({1, 5, 6}), edge, 20, 24, {}), amr::Error);           // keys vs CAMs
  amr::MaskOptions bad;
  bad.cam_power = 0;
  EXPECT_THROW(amr::walk_to_mask({1}, at::ones({1, 5, 6}), edge, 20, 24, bad), amr::Error);
}

namespace {

// CAM files with cam_stride4 for every val image of small_scenes (class of the image's
// first label, a square blob), and a random ResNet-18 IRN model.
struct MaskCase {
  amr::test::TempDir dir;
  std::string data;
  MaskCase() {
    data = amr::test::small_scenes(dir, 2);
    std::filesystem::create_directories(dir / "cams");
    std::ifstream list(data + "/val.txt");
    for (std::string id; std::getline(list, id);) {
      const cv::Mat rgb = amr::read_rgb(data + "/JPEGImages/" + id + ".jpg");
      at::Tensor cam = at::zeros({1, rgb.rows, rgb.cols});
      cam[0].slice(0, 8, 30).slice(1, 10, 34).fill_(1.0);
      at::Tensor s4 = at::zeros({1, (rgb.rows + 3) / 4, (rgb.cols + 3) / 4});
      s4[0].slice(0, 2, 8).slice(1, 3, 9).fill_(1.0);
      amr::write_npz(dir / ("cams/" + id + ".npz"), {{"keys", at::tensor({3}, at::kInt)}, {"cam", cam}, {"cam_stride4", s4}});
    }
    amr::IrnNetOptions opt;
    opt.arch = "resnet18";
    amr::IrnNet net(opt);
    // A boundary of sigmoid(2) = 0.88 everywhere: affinities (1 - 0.88)^10 ~ 6e-10, so the walk
    // leaves each CAM where it is (scaled by 1 - boundary) and the mask is the blob, whatever
    // the random weights.
    {
      at::NoGradGuard no_grad;
      net->fc_edge6->weight.zero_();
      net->fc_edge6->bias.fill_(2.0);
    }
    amr::write_pth(dir / "irn.pt", amr::state_dict(*net));
  }
  std::string args(const std::string& out) const {
    return "masks --cams " + dir / "cams" + " --data " + data + " --list val.txt --irn " + dir / "irn.pt" + " --out " + out +
           " --crop 64 --exp-times 4 --threads 2";
  }
};

}  // namespace

TEST(Masks, CliWritesOneMaskPerImageAndResumes) {
  MaskCase c;
  amr::test::RunResult r = amr::test::run_cli(c.args(c.dir / "masks"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 6 masks"), std::string::npos) << r.output;
  std::ifstream list(c.data + "/val.txt");
  for (std::string id; std::getline(list, id);) {
    const cv::Mat m = amr::read_label_png(c.dir / ("masks/" + id + ".png"));
    const cv::Mat rgb = amr::read_rgb(c.data + "/JPEGImages/" + id + ".jpg");
    ASSERT_EQ(m.size(), rgb.size()) << id;
    double lo, hi;
    cv::minMaxLoc(m, &lo, &hi);
    EXPECT_EQ(lo, 0) << id;
    EXPECT_EQ(hi, 4) << id;                   // key 3 -> VOC index 4
    EXPECT_EQ(m.at<uint8_t>(20, 24), 4) << id;  // inside the stride-4 blob (rows 2-7, cols 3-8)
    EXPECT_EQ(m.at<uint8_t>(2, 2), 0) << id;    // outside it
  }
  r = amr::test::run_cli(c.args(c.dir / "masks") + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 0 masks"), std::string::npos) << r.output;

  // --scores: resume redoes the ids without a scores file; each scores file is a CAM file whose
  // thresholding at the background threshold is the mask, and amr eval sweeps it.
  r = amr::test::run_cli(c.args(c.dir / "masks") + " --resume --scores " + c.dir / "scores");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 6 masks"), std::string::npos) << r.output;
  std::ifstream again(c.data + "/val.txt");
  for (std::string id; std::getline(again, id);) {
    const amr::CamFile f = amr::read_cam_file(c.dir / ("scores/" + id + ".npz"), 20);
    EXPECT_EQ(f.keys, (std::vector<int64_t>{3}));
    EXPECT_NEAR(f.cam.max().item<double>(), 1.0, 1e-6) << id;
    ASSERT_TRUE(f.boundary.defined()) << id;  // the model's constant boundary, sigmoid(2)
    EXPECT_NEAR(f.boundary.min().item<double>(), 0.880797, 1e-5) << id;
    EXPECT_NEAR(f.boundary.max().item<double>(), 0.880797, 1e-5) << id;
    const cv::Mat m = amr::read_label_png(c.dir / ("masks/" + id + ".png"));
    const cv::Mat t = amr::cam_to_prediction(f.keys, f.cam.contiguous().data_ptr<float>(), 1, m.rows, m.cols, true, 0.25);
    EXPECT_EQ(cv::countNonZero(m != t), 0) << id;
  }
  r = amr::test::run_cli("eval --cams " + c.dir / "scores" + " --data " + c.data + " --list val.txt --sweep 0.1:0.5:0.1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("mIoU"), std::string::npos) << r.output;
}

TEST(Masks, CliRefusesBadInputsInOneLine) {
  MaskCase c;
  auto error_of = [&](const std::string& args) {
    const amr::test::RunResult r = amr::test::run_cli(args);
    EXPECT_NE(r.exit_code, 0) << args;
    return r.output;
  };
  EXPECT_NE(error_of(c.args(c.dir / "m1") + " --beta 0").find("--beta"), std::string::npos);
  EXPECT_NE(error_of(c.args(c.dir / "m2") + " --exp-times -1").find("--exp-times"), std::string::npos);
  EXPECT_NE(error_of(c.args(c.dir / "cams")).find("--cams"), std::string::npos);  // would write into its input
  EXPECT_NE(error_of(c.args(c.dir / "m0") + " --scores " + c.dir / "cams").find("--scores"), std::string::npos);
  // A CAM file without the stride-4 map, then one of another size than its image.
  std::ifstream list(c.data + "/val.txt");
  std::string id;
  std::getline(list, id);
  amr::write_npz(c.dir / ("cams/" + id + ".npz"), {{"keys", at::tensor({3}, at::kInt)}, {"cam", at::zeros({1, 48, 48})}});
  EXPECT_NE(error_of(c.args(c.dir / "m3")).find("no cam_stride4"), std::string::npos);
  amr::write_npz(c.dir / ("cams/" + id + ".npz"),
                 {{"keys", at::tensor({3}, at::kInt)}, {"cam", at::zeros({1, 40, 48})}, {"cam_stride4", at::zeros({1, 10, 12})}});
  EXPECT_NE(error_of(c.args(c.dir / "m4")).find("differs from image"), std::string::npos);
  // An IRN model file that is not one.
  amr::write_pth(c.dir / "bad.pt", {{"conv1.weight", at::zeros({1})}});
  EXPECT_NE(error_of("masks --cams " + c.dir / "cams" + " --data " + c.data + " --list val.txt --irn " + c.dir / "bad.pt" +
                     " --out " + c.dir / "m5")
                .find("not an IRN model"),
            std::string::npos);
}

namespace {

// Mean loss of the `type: step` lines of steps [first, last] in RUN/log.jsonl.
double mean_loss(const std::string& log, int64_t first, int64_t last) {
  std::ifstream in(log);
  double sum = 0;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["type"] == "step" && j["step"] >= first && j["step"] <= last) sum += j["loss"].get<double>(), ++n;
  }
  return n ? sum / n : NAN;
}

// Ground-truth masks as IR labels: a ResNet-18 at crop 64, radius 5, one batch of the 4 scenes
// per epoch (the loss falls from ~1.4 to ~1.15 in 30 steps on a random backbone).
std::string irn_common(const std::string& data, const std::string& out) {
  return "train-irn --data " + data + " --labels " + data + "/SegmentationClass --out " + out +
         " --set arch=resnet18 --set crop=64 --set radius=5 --lr 0.05 --set workers=2 --threads 2 --quiet";
}
std::string irn_args(const std::string& data, const std::string& out) { return irn_common(data, out) + " --batch 4"; }

}  // namespace

TEST(TrainIrn, LossDecreasesAndAResumedRunIsTheSame) {
  amr::test::TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 4);
  amr::test::RunResult r = amr::test::run_cli(irn_args(data, dir / "irn") + " --epochs 30");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double first = mean_loss(dir / "irn/log.jsonl", 1, 5), last = mean_loss(dir / "irn/log.jsonl", 26, 30);
  EXPECT_LT(last, first - 0.1) << "steps 1-5 " << first << ", steps 26-30 " << last;
  amr::IrnNet net = amr::load_irn_model(dir / "irn/model.pt", 64);
  EXPECT_NE(net->mean_shift_running_mean.abs().sum().item<double>(), 0.0);  // set from the infer list

  // The same run in two invocations: stopped after epoch 1, then --resume, gives the same model.
  r = amr::test::run_cli(irn_args(data, dir / "split") + " --epochs 30 --stop-after-epochs 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "split/model.pt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = amr::test::run_cli(irn_args(data, dir / "split") + " --epochs 30 --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const amr::NamedTensors a = amr::read_pth(dir / "irn/model.pt"), b = amr::read_pth(dir / "split/model.pt");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT((a[i].second.to(at::kDouble) - b[i].second.to(at::kDouble)).abs().max().item<double>(), 1e-5) << a[i].first;
}

TEST(TrainIrn, RefusesBadInputsInOneLine) {
  amr::test::TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 4);
  auto error_of = [&](const std::string& args) {
    const amr::test::RunResult r = amr::test::run_cli(args);
    EXPECT_NE(r.exit_code, 0) << args;
    return r.output;
  };
  std::filesystem::create_directories(dir / "empty_labels");
  EXPECT_NE(error_of("train-irn --data " + data + " --labels " + dir / "empty_labels" + " --out " + dir / "r1 --set arch=resnet18 --set crop=64 --set radius=5 --batch 2")
                .find("missing IR label"),
            std::string::npos);
  EXPECT_NE(error_of(irn_args(data, dir / "r2") + " --set radius=9").find("radius"), std::string::npos);
  EXPECT_NE(error_of(irn_args(data, dir / "r3") + " --set crop=60").find("crop"), std::string::npos);
  EXPECT_NE(error_of(irn_args(data, dir / "r4") + " --set nonsense=1").find("unknown key"), std::string::npos);
  EXPECT_NE(error_of(irn_common(data, dir / "r5") + " --batch 64").find("fewer than one batch"), std::string::npos);
}

TEST(OfficialCams, NpyDictReadsAsCamFileAndFeedsMasksAndLabels) {
  amr::test::TempDir dir;
  amr::test::run_python("official_cam_npy.py " + dir / "a.npy" + " 30 41 3,14");
  const amr::CamFile f = amr::read_cam_file(dir / "a.npy", 20);
  EXPECT_EQ(f.keys, (std::vector<int64_t>{3, 14}));
  const auto ref = read_dict(dir / "a.npy.pth");
  EXPECT_TRUE(f.cam.equal(ref.at("high_res")));
  EXPECT_TRUE(f.cam_stride4.equal(ref.at("cam")));  // [2, 8, 11]

  // amr masks and amr label read .npy CAM files where no .npz is.
  MaskCase c;
  std::ifstream list(c.data + "/val.txt");
  std::string id;
  std::getline(list, id);
  std::filesystem::remove(c.dir / ("cams/" + id + ".npz"));
  amr::test::run_python("official_cam_npy.py " + c.dir / ("cams/" + id + ".npy") + " 48 48 3");
  amr::test::RunResult r = amr::test::run_cli(c.args(c.dir / "masks"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(amr::read_label_png(c.dir / ("masks/" + id + ".png")).size(), cv::Size(48, 48));
  r = amr::test::run_cli("label --cams " + c.dir / "cams" + " --data " + c.data + " --list val.txt --out " + c.dir / "labels");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // Truncated: one line naming the file.
  const std::vector<char> bytes = amr::read_file_bytes(dir / "a.npy");
  std::ofstream(dir / "cut.npy", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  try {
    amr::read_cam_file(dir / "cut.npy", 20);
    ADD_FAILURE() << "a truncated .npy was read";
  } catch (const amr::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.npy"), std::string::npos) << e.what();
  }
}

TEST(IrLabels, ThresholdingEqualsCamToIrLabel) {
  amr::test::TempDir dir;
  const std::string data = amr::test::small_scenes(dir, 2);
  std::ifstream list(data + "/val.txt");
  std::string id;
  std::getline(list, id);
  std::ofstream(data + "/one.txt") << id << "\n";
  std::filesystem::create_directories(dir / "cams");
  // Smooth CAMs with ties at the thresholds' level, so that the tie rule (background wins) counts.
  at::Tensor cam = at::stack({at::linspace(0, 1, 48).view({1, 48}).expand({48, 48}), at::linspace(1, 0, 48).view({48, 1}).expand({48, 48})});
  cam[0].slice(0, 0, 6).fill_(0.6);
  cam[1].slice(1, 40, 48).fill_(0.33);
  amr::write_npz(dir / ("cams/" + id + ".npz"), {{"keys", at::tensor({2, 5}, at::kInt)}, {"cam", cam.contiguous()}});
  for (const auto& [fg, bg] : {std::pair<std::string, std::string>{"0.6", "0.33"}, {"0.3", "0.05"}}) {
    const std::string out = dir / ("labels_" + fg);
    const amr::test::RunResult r = amr::test::run_cli("label --cams " + dir / "cams" + " --data " + data + " --list one.txt --out " + out +
                                                      " --fg " + fg + " --bg " + bg);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    amr::test::run_python("official_ir_label.py " + dir / ("cams/" + id + ".npz") + " " + fg + " " + bg + " " + dir / "ref.npy");
    auto res = amr::test::run(std::string(AMR_PYTHON) + " -c \"import numpy as np; np.savez('" + dir / "ref.npz" + "', conf=np.load('" +
                              dir / "ref.npy" + "'))\"");
    ASSERT_EQ(res.exit_code, 0) << res.output;
    const at::Tensor ref = amr::npz_get(amr::read_npz(dir / "ref.npz"), "conf", "ref");
    const cv::Mat mine = amr::read_label_png(out + "/" + id + ".png");
    const at::Tensor m = torch::from_blob(mine.data, {mine.rows, mine.cols}, at::kByte).clone();
    for (int v : {0, 3, 6, 255}) EXPECT_GT(ref.eq(v).sum().item<int64_t>(), 0) << "fg " << fg << ": no pixel of " << v;
    EXPECT_TRUE(m.equal(ref)) << "fg " << fg << ": " << m.ne(ref).sum().item<int64_t>() << " pixels differ";
  }
}

TEST(IrLabels, ResumeKeepsFinishedLabelsAndRedoesMissingOrBrokenOnes) {
  MaskCase c;
  const std::string args = "label --cams " + c.dir / "cams" + " --data " + c.data + " --list val.txt --out " + c.dir / "ir" + " --fg 0.3 --bg 0.05";
  amr::test::RunResult r = amr::test::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 6 pseudo-labels"), std::string::npos) << r.output;
  std::ifstream list(c.data + "/val.txt");
  std::string first, second;
  std::getline(list, first);
  std::getline(list, second);
  const std::string broken = c.dir / ("ir/" + second + ".png");
  const cv::Mat before = amr::read_label_png(broken);
  std::filesystem::remove(c.dir / ("ir/" + first + ".png"));
  std::filesystem::resize_file(broken, std::filesystem::file_size(broken) / 2);
  r = amr::test::run_cli(args + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 2 pseudo-labels"), std::string::npos) << r.output;
  EXPECT_EQ(cv::countNonZero(amr::read_label_png(broken) != before), 0);
  EXPECT_TRUE(std::filesystem::exists(c.dir / ("ir/" + first + ".png")));
  // A label of another size than its image is redone too.
  amr::write_label_png(broken, cv::Mat::zeros(8, 8, CV_8UC1));
  r = amr::test::run_cli(args + " --resume");
  EXPECT_NE(r.output.find("wrote 1 pseudo-labels"), std::string::npos) << r.output;
}

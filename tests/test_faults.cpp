// Bad input and faults (issue 15's cases), each a regression test with its crafted file made here.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "amr/cam/cam_file.h"
#include "amr/cam/cam_runner.h"
#include "amr/cam/make_cam.h"
#include "amr/data/voc.h"
#include "amr/eval/report.h"
#include "amr/eval/segmentation.h"
#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/io/npz.h"
#include "amr/io/pickle.h"
#include "amr/io/png.h"
#include "amr/io/pth.h"
#include "amr/base/runtime.h"
#include "amr/model/weight_import.h"
#include "amr/train/config.h"
#include "amr/train/run_dir.h"
#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::TempDir;

namespace {

std::vector<char> bytes(const std::string& s) { return std::vector<char>(s.begin(), s.end()); }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// A legacy (pre-zip) torch.save file whose root object is `root_pickle`.
std::string legacy_pth(const std::string& root_pickle) {
  const std::string magic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  const std::string protocol("\x80\x02M\xe9\x03.", 6);
  const std::string sys_info("\x80\x02}.", 4);
  const std::string keys("\x80\x02).", 4);
  return magic + protocol + sys_info + root_pickle + keys;
}

template <typename F>
void expect_error(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming '" << needle << "'";
  } catch (const amr::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Faults, CyclicAndDeepPicklesAreErrorsNotCrashes) {
  // A list that holds itself: ] MEMOIZE BINGET 0 APPEND STOP.
  const std::string self_cycle("\x80\x04]\x94h\x00" "a.", 7);
  size_t pos = 0;
  expect_error([&] { amr::pickle::parse(bytes(self_cycle), &pos, "x.pth"); }, "holds itself");
  // 200,000 nested 1-tuples (would overflow the stack of every recursive walk and destructor).
  const std::string deep = "\x80\x04N" + std::string(200000, '\x85') + ".";
  pos = 0;
  expect_error([&] { amr::pickle::parse(bytes(deep), &pos, "x.pth"); }, "nested deeper");
  // Two lists holding each other (a cycle through the memo), as a legacy checkpoint's root.
  const std::string two_cycle("\x80\x04]\x94]\x94h\x00" "ah\x01" "a.", 13);
  TempDir dir;
  write_file(dir / "cycle.pth", legacy_pth(two_cycle));
  expect_error([&] { amr::read_pth(dir / "cycle.pth"); }, "cycle.pth");
  write_file(dir / "self.pth", legacy_pth(self_cycle));
  expect_error([&] { amr::read_pth(dir / "self.pth"); }, "self.pth");
  auto r = amr::test::run_cli("import-weights --from " + dir / "self.pth" + " --out " + dir / "out.pt");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out.pt"));
}

TEST(Faults, ReportRejectsABestIndexOutOfRangeAndItsOwnInputAsOutput) {
  TempDir dir;
  write_file(dir / "e.json", R"({"points": [{"miou": 0.5, "classes": []}], "best": 7})");
  amr::ReportOptions o;
  o.evals = {{"e", dir / "e.json"}};
  o.out = dir / "r.html";
  expect_error([&] { amr::write_report(o); }, "best");
  write_file(dir / "e.json", R"({"points": [{"miou": 0.5, "classes": []}], "best": 0})");
  o.out = dir / "e.json";
  expect_error([&] { amr::write_report(o); }, "never overwrites an input");
  std::ifstream in(dir / "e.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), R"({"points": [{"miou": 0.5, "classes": []}], "best": 0})");
}

TEST(Faults, FlagValuesOutsideTheirMeaning) {
  auto r = amr::test::run_cli("forward --arch resnet18 --size 32 --threads 99999");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--threads 99999"), std::string::npos) << r.output;
  amr::CamRunOptions c;
  expect_error([&] { amr::parse_shard("0/2x", &c); }, "--shard");
  expect_error([&] { amr::parse_shard("x0/2", &c); }, "--shard");
  expect_error([&] { amr::parse_scales("0.01"); }, "--scales");
  expect_error([&] { amr::parse_scales(""); }, "--scales");
  expect_error([&] { amr::parse_scales("1.0,abc"); }, "--scales");
  EXPECT_EQ(amr::parse_scales("1.0,0.5"), (std::vector<double>{1.0, 0.5}));
  expect_error([&] { amr::check_xi(std::nan(""), "--xi"); }, "--xi");
  expect_error([&] { amr::check_xi(-0.1, "--xi-sweep"); }, "--xi-sweep");
}

TEST(Faults, ListsWithDuplicateIds) {
  TempDir dir;
  write_file(dir / "list.txt", "a\nb\na\n");
  expect_error([&] { amr::read_id_list(dir / "list.txt"); }, "'a' appears twice");
}

TEST(Faults, EvalThresholdsAndCamFileContents) {
  TempDir dir;
  fs::create_directories(dir / "data/SegmentationClass");
  fs::create_directories(dir / "cams");
  write_file(dir / "data/classes.txt", "background\nc0\n");
  write_file(dir / "data/val.txt", "im\n");
  {
    cv::Mat mask(4, 5, CV_8UC1, cv::Scalar(1));
    amr::write_label_png(dir / "data/SegmentationClass/im.png", mask);
  }
  auto write_cam = [&](at::Tensor cam, at::Tensor cam_c = at::Tensor()) {
    amr::NamedArrays a = {{"keys", torch::tensor({0}, torch::kInt32)}, {"cam", cam}};
    if (cam_c.defined()) {
      a.emplace_back("cam_s", cam);
      a.emplace_back("cam_c", cam_c);
    }
    amr::write_npz(dir / "cams/im.npz", a);
  };
  amr::EvalOptions o;
  o.cams = dir / "cams";
  o.data = dir / "data";
  o.list = "val.txt";
  write_cam(torch::rand({1, 4, 5}));
  o.thresholds = {std::nan("")};
  expect_error([&] { amr::evaluate_cams(o, amr::test::threads(1)); }, "--bg-threshold");
  o.thresholds = {5.0};
  expect_error([&] { amr::evaluate_cams(o, amr::test::threads(1)); }, "--bg-threshold");
  o.thresholds = {0.2};
  EXPECT_NO_THROW(amr::evaluate_cams(o, amr::test::threads(1)));
  at::Tensor with_nan = torch::rand({1, 4, 5});
  with_nan[0][1][1] = std::nanf("");
  write_cam(with_nan);
  expect_error([&] { amr::evaluate_cams(o, amr::test::threads(1)); }, "NaN");
  write_cam(torch::rand({1, 4, 5}), torch::rand({1, 1, 5}));  // a cam_c of another shape
  o.xis = {0.5};
  expect_error([&] { amr::evaluate_cams(o, amr::test::threads(1)); }, "branch CAM");
}

TEST(Faults, StaleTempFilesOfADeadWriterAreRemoved) {
  TempDir dir;
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // a pid that no longer runs
  write_file(dir / ("last.pt.tmp." + std::to_string(child)), "partial");
  write_file(dir / ("model.pt.tmp." + std::to_string(getpid())), "ours, in flight");
  write_file(dir / "notes.tmp.txt", "not a temp file of ours");
  amr::RunDir run(dir.path(), /*resume=*/false);
  EXPECT_FALSE(fs::exists(dir / ("last.pt.tmp." + std::to_string(child))));
  EXPECT_TRUE(fs::exists(dir / ("model.pt.tmp." + std::to_string(getpid()))));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp.txt"));
}

// `train --out` on a directory that holds another run: refused unless --resume or --overwrite
// (which removes the old checkpoints and models first); a second writer at the same time is
// refused by the directory's lock.
TEST(Faults, TrainNeverMixesTwoRunsInOneDirectory) {
  TempDir d;
  auto r = amr::test::run_cli("scenes --out " + d / "data" + " --train 8 --val 4 --size 48 --seed 1 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string args = " --data " + d / "data" +
                           " --variant cam --set arch=resnet18 --set crop=48 --set 'resize_long=[40, 56]'"
                           " --set 'strides=[2, 2, 1, 1]' --set bn=train --epochs 2 --batch 4 --workers 0 --threads 1 --quiet";
  r = amr::test::run_cli("train --out " + d / "run" + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(fs::exists(d / "run/epoch_2.pt"));
  const auto model_time = fs::last_write_time(d / "run/model.pt");

  r = amr::test::run_cli("train --out " + d / "run" + args + " --set epochs=1 --set lr=0.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("holds a run already"), std::string::npos) << r.output;
  EXPECT_EQ(fs::last_write_time(d / "run/model.pt"), model_time);
  EXPECT_EQ(read_text(d / "run/config.yaml").find("lr: 0.5"), std::string::npos) << "config.yaml was replaced";

  {
    // Another writer holds the lock (flock is per open file: this process is "another amr train").
    const int fd = ::open((d / "run/.lock").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    r = amr::test::run_cli("train --out " + d / "run" + args + " --overwrite");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("another amr train is writing"), std::string::npos) << r.output;
    EXPECT_TRUE(fs::exists(d / "run/model.pt"));
    ::close(fd);
  }
  r = amr::test::run_cli("train --out " + d / "run" + args + " --set epochs=1 --overwrite");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(d / "run/epoch_2.pt")) << "a model of the old run outlived it";
  EXPECT_TRUE(fs::exists(d / "run/model.pt"));
}

// label and viz never write into the data set's images or ground truth.
TEST(Faults, OutputsNeverLandInTheDataSet) {
  TempDir d;
  auto r = amr::test::run_cli("scenes --out " + d / "data" + " --train 8 --val 4 --size 48 --seed 1 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = amr::test::run_cli("train --out " + d / "run --data " + d / "data" +
                         " --variant cam --set arch=resnet18 --set crop=48 --set 'resize_long=[40, 56]'"
                         " --set 'strides=[2, 2, 1, 1]' --set bn=train --epochs 1 --batch 4 --workers 0 --threads 1 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = amr::test::run_cli("cam --run " + d / "run" + " --data " + d / "data" + " --list val.txt --out " + d / "cams --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string first = amr::read_id_list(d / "data/val.txt").front();
  const std::string mask = d / ("data/SegmentationClass/" + first + ".png");
  const std::string before = read_text(mask);
  const std::string common = " --cams " + d / "cams" + " --data " + d / "data" + " --list val.txt";
  const std::string cam = "cam --run " + d / "run" + " --data " + d / "data" + " --list val.txt --quiet";
  for (const std::string& cmd : {"label" + common + " --out " + d / "data/SegmentationClass",
                                 "label" + common + " --out " + d / "data/SegmentationClass/../SegmentationClass/x",
                                 "viz" + common + " --out " + d / "data/JPEGImages",
                                 cam + " --out " + d / "data/SegmentationClass",
                                 cam + " --out " + d / "cams2 --profile " + d / "data/SegmentationClass/p.json",
                                 "train --out " + d / "data/JPEGImages/run --data " + d / "data" +
                                     " --variant cam --set arch=resnet18 --epochs 1 --workers 0 --threads 1 --quiet"}) {
    r = amr::test::run_cli(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.output.find("inside the data set's"), std::string::npos) << r.output;
  }
  EXPECT_EQ(read_text(mask), before);
  EXPECT_FALSE(fs::exists(d / "cams2"));
  EXPECT_FALSE(fs::exists(d / "data/JPEGImages/run"));
  // A profile that could not be written is refused before any CAM is computed.
  r = amr::test::run_cli(cam + " --out " + d / "cams3 --profile " + d / "missing/p.json");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--profile " + d / "missing/p.json" + ": directory"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d / "cams3"));
  r = amr::test::run_cli("label" + common + " --out " + d / "labels");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  // A CAM whose size differs from its image: an error in label (also without --crf) and viz.
  amr::CamFile small = amr::read_cam_file(d / ("cams/" + first + ".npz"), 5);
  small.cam = small.cam.narrow(1, 0, 40).contiguous();
  small.cam_stride4 = small.cam_stride4.narrow(1, 0, 10).contiguous();  // consistent with the cut cam
  amr::write_cam_file(d / ("cams/" + first + ".npz"), small);
  for (const std::string& cmd : {"label" + common + " --out " + d / "labels2", "viz" + common + " --out " + d / "viz2"}) {
    r = amr::test::run_cli(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd;
    EXPECT_NE(r.output.find("differs from image"), std::string::npos) << r.output;
  }
}

// Flag parse errors (CLI11's own, e.g. a repeated or unknown flag) exit with the documented 2.
TEST(Faults, FlagParseErrorsExitWithTwo) {
  for (const std::string& args : {"train --out x --epochs 1 --epochs 2", "eval --frobnicate", "cam --threads abc"}) {
    auto r = amr::test::run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find("amr: error:"), std::string::npos) << r.output;
  }
}

namespace {

// 8 train / 4 val FashionScenes at 48 px, and the flags of a tiny cam run on them.
std::string tiny_scenes(const TempDir& d) {
  auto r = amr::test::run_cli("scenes --out " + d / "data" + " --train 8 --val 4 --size 48 --seed 1 --threads 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return " --data " + d / "data" +
         " --variant cam --set arch=resnet18 --set crop=48 --set 'resize_long=[40, 56]'"
         " --set 'strides=[2, 2, 1, 1]' --set bn=train --epochs 1 --batch 4 --workers 0 --threads 1 --quiet";
}

}  // namespace

// A mask value that is neither 255 nor a class (77 with 5 classes) is an error wherever masks
// are read (train --labels-from-masks, viz), as it is in eval.
TEST(Faults, MaskValuesOutsideTheClassesAreErrors) {
  TempDir d;
  const std::string args = tiny_scenes(d);
  const std::string id = amr::read_id_list(d / "data/train.txt").front();
  const std::string mask = d / ("data/SegmentationClass/" + id + ".png");
  cv::Mat m = amr::read_label_png(mask);
  m.at<uint8_t>(3, 5) = 77;
  amr::write_label_png(mask, m);
  auto r = amr::test::run_cli("train --out " + d / "run" + args + " --labels-from-masks");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("value 77 at (5, 3) is neither 255 nor a class index"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d / "run/model.pt"));
  fs::create_directories(d / "cams");
  for (const auto& i : amr::read_id_list(d / "data/train.txt")) {
    amr::CamFile f;
    f.keys = {0};
    f.cam = torch::zeros({1, 48, 48});
    amr::write_cam_file(d / ("cams/" + i + ".npz"), f);
  }
  r = amr::test::run_cli("viz --cams " + d / "cams" + " --data " + d / "data" + " --list train.txt --out " + d / "viz");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("value 77"), std::string::npos) << r.output;
}

// A JPEG cut short decodes with grey rows and only a libjpeg warning: it is an error.
TEST(Faults, TruncatedImagesAreErrors) {
  TempDir d;
  const std::string args = tiny_scenes(d);
  const std::string id = amr::read_id_list(d / "data/train.txt").back();
  const std::string jpg = d / ("data/JPEGImages/" + id + ".jpg");
  const std::string whole = read_text(jpg);
  ASSERT_NO_THROW(amr::read_rgb(jpg));
  write_file(jpg, whole.substr(0, whole.size() * 2 / 3));
  expect_error([&] { amr::read_rgb(jpg); }, "truncated");
  auto r = amr::test::run_cli("train --out " + d / "run" + args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(id + ".jpg: truncated"), std::string::npos) << r.output;
}

// A last.pt whose position lies outside the run (crafted negative epoch) is refused on --resume.
TEST(Faults, ResumeRefusesAPositionOutsideTheRun) {
  TempDir d;
  const std::string args = tiny_scenes(d);
  auto r = amr::test::run_cli("train --out " + d / "run" + args + " --stop-after-steps 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  amr::NamedTensors t = amr::read_pth(d / "run/last.pt");
  for (auto& [k, v] : t)
    if (k == "meta.epoch") v = torch::tensor(int64_t(-2));
  amr::write_pth(d / "run/last.pt", t);
  r = amr::test::run_cli("train --out " + d / "run --resume --threads 1 --quiet");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("last.pt: its position (epoch -2"), std::string::npos) << r.output;
}

// Sizes declared by a file are checked against the file before anything is allocated: a
// forged memo index, a forged deflate size, a tensor view reaching outside its storage.
TEST(Faults, ForgedSizesAreErrorsNotAllocations) {
  TempDir dir;
  // LONG_BINPUT 0xffffffff: a 4-billion-entry memo for a 20-byte pickle.
  write_file(dir / "memo.pth", legacy_pth(std::string("\x80\x02Nr\xff\xff\xff\xff.", 9)));
  expect_error([&] { amr::read_pth(dir / "memo.pth"); }, "memo index 4294967295 beyond the data");

  // An npz member rewritten as "deflated" with a declared size of ~4 GB.
  amr::write_npz(dir / "ok.npz", {{"cam", torch::zeros({2, 3})}});
  std::string z = read_text(dir / "ok.npz");
  const size_t central = z.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(central, std::string::npos);
  z[central + 10] = 8;  // method: deflate
  for (int k = 0; k < 4; ++k) z[central + 24 + static_cast<size_t>(k)] = static_cast<char>(0xf0);
  write_file(dir / "forged.npz", z);
  expect_error([&] { amr::read_npz(dir / "forged.npz"); }, "declares");

  // A zip checkpoint whose directory declares a ~4 GB data.pkl (PyTorch's reader would allocate
  // it before noticing): refused from the declared size, before the reader runs.
  amr::write_pth(dir / "ok.pth", {{"w", torch::ones({2, 2})}});
  std::string pth = read_text(dir / "ok.pth");
  const std::string pkl_name = "/data.pkl";
  size_t entry = std::string::npos;
  for (size_t at = pth.find(std::string("PK\x01\x02", 4)); at != std::string::npos; at = pth.find(std::string("PK\x01\x02", 4), at + 1)) {
    const size_t nlen = static_cast<unsigned char>(pth[at + 28]) | (static_cast<unsigned char>(pth[at + 29]) << 8);
    if (pth.compare(at + 46 + nlen - pkl_name.size(), pkl_name.size(), pkl_name) == 0) entry = at;
  }
  ASSERT_NE(entry, std::string::npos);
  for (int k = 0; k < 4; ++k) pth[entry + 24 + static_cast<size_t>(k)] = static_cast<char>(0xf0);
  write_file(dir / "forged.pth", pth);
  expect_error([&] { amr::read_pth(dir / "forged.pth"); }, "entry 'archive/data.pkl' declares 4042322160 bytes");
  EXPECT_NO_THROW(amr::read_pth(dir / "ok.pth"));
}

// --precision bf16 only where the CPU computes bfloat16 natively (else it is emulated, ~11x
// slower than fp32): decided from /proc/cpuinfo's flags.
TEST(Faults, Bf16OnlyWhereTheCpuHasIt) {
  EXPECT_FALSE(amr::cpuinfo_has_native_bf16("processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"));
  EXPECT_TRUE(amr::cpuinfo_has_native_bf16("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 vaes\n"));
  EXPECT_TRUE(amr::cpuinfo_has_native_bf16("flags\t\t: avx2 amx_bf16 amx_tile\n"));
  EXPECT_FALSE(amr::cpuinfo_has_native_bf16("flags\t\t: avx2 avx512_bf16x\nbugs\t\t: avx512_bf16\n"));
  EXPECT_FALSE(amr::cpuinfo_has_native_bf16(""));
  std::cout << "this machine: native bf16 " << (amr::cpu_has_native_bf16() ? "yes" : "no") << "\n";
}

// Inputs that crashed a fuzzer (bench/fuzz.sh) once, kept in tests/fuzz/regressions/: each is
// now a one-line error naming the file.
TEST(Faults, FuzzerFindingsStayFixed) {
  size_t seen = 0;
  for (const auto& e : fs::directory_iterator(AMR_SOURCE_DIR "/tests/fuzz/regressions")) {
    const std::string path = e.path().string(), ext = e.path().extension().string();
    ++seen;
    if (ext == ".npz") expect_error([&] { amr::read_npz(path); }, "corrupt");
    else if (ext == ".pth") expect_error([&] { amr::read_pth(path); }, path);
    else if (ext == ".png") expect_error([&] { amr::read_label_png(path); }, path);
    else ADD_FAILURE() << "unknown regression input " << path;
  }
  EXPECT_GE(seen, 1u);
}

// Issue 25's hostile inputs, one test per class.

// Sizes a file declares are bounded by what the file (and the setting) can hold before anything
// is allocated: image headers (PNG, JPEG) and .npy shapes.
TEST(Faults, DeclaredSizesAreBoundedBeforeAllocation) {
  TempDir dir;
  // A label PNG whose IHDR says 900000 x 900000.
  amr::write_label_png(dir / "ok.png", cv::Mat(4, 4, CV_8UC1, cv::Scalar(1)));
  std::string png = read_text(dir / "ok.png");
  for (int k = 0; k < 2; ++k)
    for (int b = 0; b < 4; ++b) png[16 + 4 * k + b] = std::string("\x00\x0d\xbb\xa0", 4)[b];  // 900000
  // A forger fixes the IHDR chunk's CRC (type + data: bytes 12..29).
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  for (int b = 0; b < 4; ++b) png[29 + b] = static_cast<char>((crc >> (24 - 8 * b)) & 0xff);
  write_file(dir / "huge.png", png);
  expect_error([&] { amr::read_label_png(dir / "huge.png"); }, "declares 900000 x 900000 pixels");
  expect_error([&] { amr::read_rgb(dir / "huge.png"); }, "declares 900000 x 900000 pixels");
  // .npy shapes: an int64 overflow, 1e5^3 floats in 64 bytes, a product that wraps size_t.
  for (const std::string& shape : {"(99999999999999999999, 3)", "(100000, 100000, 100000)",
                                   "(4294967296, 4294967296, 16)", "(-1, 3)"}) {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    header.resize(118, ' ');
    header += '\n';
    std::string npy = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xff) +
                      static_cast<char>(header.size() >> 8) + header + std::string(64, '\0');
    expect_error([&] { amr::parse_npy(npy, "x.npy"); }, "x.npy: ");
  }
  std::string ok_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), }";
  ok_header.resize(118, ' ');
  ok_header += '\n';
  const std::string ok = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(ok_header.size()) + '\0' + ok_header +
                         std::string(64, '\0');
  EXPECT_EQ(amr::parse_npy(ok, "ok.npy").sizes(), (std::vector<int64_t>{2, 8}));
}

// Image files that are empty or not images: amr's sentence, never OpenCV's assertion text.
TEST(Faults, EmptyOrNonImageFilesAreNamedErrors) {
  TempDir dir;
  write_file(dir / "empty.jpg", "");
  expect_error([&] { amr::read_rgb(dir / "empty.jpg"); }, "empty.jpg: empty file");
  write_file(dir / "text.jpg", "not an image at all");
  expect_error([&] { amr::read_rgb(dir / "text.jpg"); }, "cannot decode");
  // A --viz folder holding a .png that is not an image.
  fs::create_directories(dir / "viz");
  write_file(dir / "viz/a.png", "hello");
  write_file(dir / "eval.json", R"({"points":[{"miou":0.5,"threshold":0.2,"classes":[]}],"best":0})");
  amr::ReportOptions o;
  o.evals = {{"run", dir / "eval.json"}};
  o.viz_dir = dir / "viz";
  o.out = dir / "report.html";
  expect_error([&] { amr::write_report(o); }, "a.png: not a PNG image");
  EXPECT_FALSE(fs::exists(dir / "report.html"));
}

// Flag ranges are said in amr's words, with the bound that applies.
TEST(Faults, FlagRangesInAmrWords) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"forward --threads -1", "--threads: must be at least 0, got -1"},
      {"train --out x --epochs -1", "--epochs: must be at least 1, got -1"},
      {"train --out x --epochs 0", "--epochs: must be at least 1, got 0"},
      {"cam --data d --list l --out o --adv-iterations 0", "--adv-iterations: must be at least 1, got 0"},
      {"label --cams c --data d --list l --out o --crf-iterations 100000", "--crf-iterations: must be between 0 and 100"},
      {"cam --data d --list l --out o --tau x", "--tau"},
  };
  for (const auto& [args, expected] : cases) {
    auto r = amr::test::run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << ": " << r.output;
    EXPECT_EQ(r.output.find("1.79769"), std::string::npos) << args << ": CLI11's numeric limit leaked: " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

// Values that parse but mean nothing: refused where they enter (config keys, weights).
TEST(Faults, MeaninglessValuesAreRefused) {
  TempDir dir;
  for (const std::string& kv : {"label_min_fraction=-1", "momentum=-5", "weight_decay=-1", "crop=100000",
                                "resize_long=[8, 100000]", "cutout=1000"}) {
    amr::TrainConfig c = amr::load_train_config("", {"data=" + dir.path(), kv});
    expect_error([&] { c.resolve(); }, "config " + kv.substr(0, kv.find('=')));
  }
  write_file(dir / "twice.yaml", "lr: 0.1\nepochs: 2\nlr: 0.2\n");
  expect_error([&] { amr::load_train_config(dir / "twice.yaml", {}); }, "key 'lr' given twice");
  // NaN / inf in imported weights.
  amr::NamedTensors w = {{"conv1.weight", torch::full({64, 3, 7, 7}, std::nan(""))}};
  amr::write_pth(dir / "nan.pth", w);
  amr::ImportOptions io;
  io.arch = "resnet18";
  io.format = amr::WeightFormat::TorchVision;
  io.strict = false;
  expect_error([&] { amr::import_weights(dir / "nan.pth", io); }, "'conv1.weight' holds NaN or infinite values");
}

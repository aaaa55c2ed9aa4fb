#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "amr/data/loader.h"
#include "amr/data/scenes.h"
#include "amr/data/transforms.h"
#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/io/png.h"
#include "amr/io/pth.h"
#include "test_support.h"

namespace fs = std::filesystem;
using amr::test::TempDir;

namespace {
const std::string kVoc = std::string(AMR_SHARED_DATA) + "/voc2012";
const std::string kCamvid = std::string(AMR_SHARED_DATA) + "/camvid";

// Files under `a`: each must equal its copy under `same`; returns {files, how many differ from
// their copy under `other` (a missing copy does not count)}.
std::pair<size_t, size_t> compare_trees(const TempDir& a, const TempDir& same, const TempDir& other) {
  size_t files = 0, differ = 0;
  for (auto& e : fs::recursive_directory_iterator(a.path())) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), a.path()).string();
    ++files;
    const auto bytes = amr::read_file_bytes(e.path().string());
    EXPECT_EQ(bytes, amr::read_file_bytes(same / rel)) << rel;
    if (fs::exists(other / rel) && bytes != amr::read_file_bytes(other / rel)) ++differ;
  }
  return {files, differ};
}

// Generates scenes and opens their train list.
amr::VocDataset generate_and_open(const amr::ScenesOptions& o, int threads = 2) {
  amr::generate_scenes(o, amr::test::threads(threads));
  amr::DatasetOptions d;
  d.root = o.out;
  d.list = "train.txt";
  return amr::open_voc(d);
}

bool shared_data() { return fs::exists(kVoc + "/cls_labels.txt") && fs::exists(kCamvid + "/classes.txt"); }

std::string labels_line(const std::vector<float>& v) {
  std::string s;
  for (float x : v) s += x > 0.5f ? " 1" : " 0";
  return s;
}
}  // namespace

TEST(Voc, ClsLabelsEqualMaskClassesOnTrain) {
  if (!shared_data()) GTEST_SKIP() << "shared data not found at " << AMR_SHARED_DATA;
  amr::DatasetOptions o;
  o.root = kVoc;
  o.list = "train.txt";
  o.require_images = false;  // no JPEGs here
  o.require_masks = true;
  amr::VocDataset ds = amr::open_voc(o);
  ASSERT_EQ(ds.ids.size(), 1464u);
  ASSERT_EQ(ds.num_classes(), 20);
  EXPECT_TRUE(ds.has_background);
  EXPECT_EQ(ds.classes.front(), "aeroplane");
  EXPECT_EQ(ds.mask_dir, "SegmentationClassAug");
  std::vector<std::string> disagree;
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    auto from_mask = amr::labels_from_mask(amr::read_label_png(ds.mask_path(i)), ds, 0.0);
    if (from_mask != ds.labels[i]) disagree.push_back(ds.ids[i]);
  }
  // One known annotation difference in VOC itself: a tvmonitor tagged in the XML of
  // 2011_001621 has no pixel in its mask.
  EXPECT_EQ(disagree, std::vector<std::string>{"2011_001621"});
}

TEST(Voc, PaletteMasksReadAsIndices) {
  if (!shared_data()) GTEST_SKIP();
  cv::Mat m = amr::read_label_png(kVoc + "/SegmentationClassAug/2011_001621.png");
  std::map<int, int> count;
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) ++count[m.at<uint8_t>(y, x)];
  // Counts computed with PIL: values 0, 9, 15, 255.
  EXPECT_EQ(count, (std::map<int, int>{{0, 154991}, {9, 1283}, {15, 23672}, {255, 7554}}));
}

TEST(Camvid, LabelsFromMasksEqualNumpy) {
  if (!shared_data()) GTEST_SKIP();
  amr::DatasetOptions o;
  o.root = kCamvid;
  o.list = "val.txt";
  o.labels_from_masks = true;
  o.label_min_fraction = 0.02;
  amr::VocDataset ds = amr::open_voc(o);
  EXPECT_FALSE(ds.has_background);
  ASSERT_EQ(ds.num_classes(), 11);
  ASSERT_EQ(ds.ids.size(), 101u);
  TempDir dir;
  auto r = amr::test::run(std::string(AMR_PYTHON) + " " + AMR_TEST_PY_DIR + "/mask_labels.py " + kCamvid +
                          " val.txt 11 0 0.02");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream expected(r.output);
  std::string line;
  size_t i = 0;
  while (std::getline(expected, line)) {
    ASSERT_LT(i, ds.ids.size());
    EXPECT_EQ(ds.ids[i] + labels_line(ds.labels[i]), line);
    ++i;
  }
  EXPECT_EQ(i, ds.ids.size());
}

TEST(Scenes, SameSeedSameBytesAndSensibleContent) {
  TempDir a, b, c;
  amr::ScenesOptions o;
  o.train = 12;
  o.val = 4;
  o.size = 64;
  o.seed = 3;
  o.out = a.path();
  amr::generate_scenes(o, amr::test::threads(2));
  o.out = b.path();
  amr::generate_scenes(o, amr::test::threads(1));
  o.out = c.path();
  o.seed = 4;
  amr::generate_scenes(o, amr::test::threads(2));
  const auto [files, differ] = compare_trees(a, b, c);
  EXPECT_EQ(files, 16u * 2 + 4);  // jpg + png per scene, classes, cls_labels, train, val lists
  EXPECT_GT(differ, 16u);

  amr::DatasetOptions d;
  d.root = a.path();
  d.list = "train.txt";
  amr::VocDataset ds = amr::open_voc(d);
  ASSERT_EQ(ds.num_classes(), 10);
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    cv::Mat mask = amr::read_label_png(ds.mask_path(i));
    EXPECT_EQ(mask.size(), cv::Size(64, 64));
    // Tags are exactly the classes visible in the mask; the border band is 255.
    EXPECT_EQ(amr::labels_from_mask(mask, ds, 0.0), ds.labels[i]) << ds.ids[i];
    EXPECT_GT(cv::countNonZero(mask == 255), 0);
    cv::Mat rgb = amr::read_rgb(ds.image_path(i));
    EXPECT_EQ(rgb.size(), cv::Size(64, 64));
  }
}

TEST(Transforms, FlipCropAndNormalization) {
  // 4x6 image whose pixel (y, x) has R = 10x + y, G = 100, B = 200.
  cv::Mat img(4, 6, CV_8UC3), mask(4, 6, CV_8UC1);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(10 * x + y), 100, 200);
      mask.at<uint8_t>(y, x) = static_cast<uint8_t>(x);
    }
  amr::AugmentOptions o{0, 0, true, 8};  // no rescale, flip allowed, 8x8 canvas
  int flipped = 0;
  for (uint64_t idx = 0; idx < 40; ++idx) {
    amr::SampleRng rng(1, 0, idx);
    amr::Augmented a = amr::augment(img, mask, o, rng);
    ASSERT_EQ(a.image.size(), cv::Size(8, 8));
    EXPECT_EQ(cv::countNonZero(a.valid), 24);
    EXPECT_EQ(cv::countNonZero(a.mask != 255), 24);
    // Find the placed image through the valid map.
    cv::Rect r = cv::boundingRect(a.valid);
    ASSERT_EQ(r.size(), cv::Size(6, 4));
    const bool is_flipped = a.mask.at<uint8_t>(r.y, r.x) == 5;
    flipped += is_flipped;
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x) {
        const int sx = is_flipped ? 5 - x : x;
        EXPECT_EQ(a.image.at<cv::Vec3b>(r.y + y, r.x + x), img.at<cv::Vec3b>(y, sx));
        EXPECT_EQ(a.mask.at<uint8_t>(r.y + y, r.x + x), sx);
      }
    // Same (seed, epoch, index) -> same result.
    amr::SampleRng rng2(1, 0, idx);
    EXPECT_EQ(cv::countNonZero(amr::augment(img, mask, o, rng2).mask != a.mask), 0);
  }
  EXPECT_GT(flipped, 5);
  EXPECT_LT(flipped, 35);

  // Normalization: (v/255 - mean) / std per RGB channel; padding is 0.
  cv::Mat valid(4, 6, CV_8UC1, cv::Scalar(1));
  valid.at<uint8_t>(0, 0) = 0;
  at::Tensor t = amr::to_normalized_tensor(img, valid);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{3, 4, 6}));
  EXPECT_NEAR(t[0][2][3].item<float>(), (32 / 255.f - 0.485f) / 0.229f, 1e-6);
  EXPECT_NEAR(t[1][2][3].item<float>(), (100 / 255.f - 0.456f) / 0.224f, 1e-6);
  EXPECT_NEAR(t[2][2][3].item<float>(), (200 / 255.f - 0.406f) / 0.225f, 1e-6);
  EXPECT_EQ(t[0][0][0].item<float>(), 0.f);

  // Rescale: long side lands in [min, max], aspect kept.
  amr::AugmentOptions rs{12, 12, false, 0};
  amr::SampleRng rng(0, 0, 0);
  amr::Augmented a = amr::augment(img, mask, rs, rng);
  EXPECT_EQ(a.image.size(), cv::Size(12, 8));
}

// --classes: objects only from the subset, class indices in the subset's order, tags equal
// to the mask classes; bad subsets are one-line errors.
TEST(Scenes, ClassSubsetDrawsOnlyThoseClasses) {
  TempDir dir;
  amr::ScenesOptions o;
  o.train = 40;
  o.val = 0;
  o.size = 48;
  o.seed = 2;
  o.out = dir.path();
  o.classes = amr::parse_fashion_classes("bag,trouser");
  amr::generate_scenes(o, amr::test::threads(2));
  std::ifstream in(dir / "classes.txt");
  std::stringstream names;
  names << in.rdbuf();
  EXPECT_EQ(names.str(), "background\nbag\ntrouser\n");
  amr::DatasetOptions d;
  d.root = dir.path();
  d.list = "train.txt";
  amr::VocDataset ds = amr::open_voc(d);
  ASSERT_EQ(ds.num_classes(), 2);
  std::vector<int> seen(256, 0);
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    cv::Mat mask = amr::read_label_png(ds.mask_path(i));
    for (int y = 0; y < mask.rows; ++y)
      for (int x = 0; x < mask.cols; ++x) ++seen[mask.at<uint8_t>(y, x)];
    EXPECT_EQ(amr::labels_from_mask(mask, ds, 0.0), ds.labels[i]) << ds.ids[i];
  }
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
  for (int v = 3; v < 255; ++v) EXPECT_EQ(seen[v], 0) << "class index " << v;
  EXPECT_THROW(amr::parse_fashion_classes("bag,hat"), amr::Error);
  EXPECT_THROW(amr::parse_fashion_classes("bag,bag"), amr::Error);
  EXPECT_THROW(amr::parse_fashion_classes(""), amr::Error);
}

// The pretraining rendering knobs: a flat background is one colour, --object-scale sets the
// objects' size, --min-contrast separates each object's luminance from the background's.
TEST(Scenes, FlatBackgroundScaleAndContrastKnobs) {
  auto render = [](const TempDir& dir, double contrast) {
    amr::ScenesOptions o;
    o.train = 30;
    o.val = 0;
    o.size = 48;
    o.seed = 6;
    o.min_objects = o.max_objects = 1;
    o.background = "flat";
    o.object_scale = {0.7, 0.95};
    o.min_contrast = contrast;
    o.out = dir.path();
    return generate_and_open(o);
  };
  // Smallest |object - background| mean luminance over the scenes.
  auto min_contrast = [](const amr::VocDataset& ds) {
    double lowest = 1e9;
    for (size_t i = 0; i < ds.ids.size(); ++i) {
      cv::Mat mask = amr::read_label_png(ds.mask_path(i)), rgb = amr::read_rgb(ds.image_path(i)), grey;
      cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
      const cv::Mat obj = mask != 0 & mask != 255, bg = mask == 0;
      cv::Scalar mean, sd;
      cv::meanStdDev(grey, mean, sd, bg);
      EXPECT_LT(sd[0], 4.0) << ds.ids[i] << ": flat background expected";
      cv::Rect box = cv::boundingRect(obj);
      EXPECT_GE(std::max(box.width, box.height), static_cast<int>(0.5 * 0.7 * 48)) << ds.ids[i];
      lowest = std::min(lowest, std::abs(cv::mean(grey, obj)[0] - mean[0]));
    }
    return lowest;
  };
  TempDir a, b;
  const double with = min_contrast(render(a, 60)), without = min_contrast(render(b, 0));
  EXPECT_GE(with, 30.0);
  EXPECT_LT(without, with);

  amr::ScenesOptions o;
  EXPECT_THROW(amr::parse_object_scale("0.9:0.5", &o), amr::Error);
  EXPECT_THROW(amr::parse_object_scale("0.5", &o), amr::Error);
  EXPECT_THROW(amr::parse_object_scale("0.5:1.5", &o), amr::Error);
  amr::parse_object_scale("0.25:0.5", &o);
  EXPECT_EQ(o.object_scale[1], 0.5);
  o.out = a / "bad";
  o.background = "stripes";
  EXPECT_THROW(amr::generate_scenes(o, amr::test::threads(2)), amr::Error);
}

namespace {
amr::VocDataset part_scenes(const TempDir& dir, double body_signal, int64_t objects, uint64_t seed, int threads = 2) {
  amr::ScenesOptions o;
  o.kind = "parts";
  o.train = 36;
  o.val = 4;
  o.size = 96;
  o.seed = seed;
  o.min_objects = 1;
  o.max_objects = objects;
  o.body_signal = body_signal;
  o.out = dir.path();
  return generate_and_open(o, threads);
}
std::string part_path(const amr::VocDataset& ds, size_t i) {
  return ds.root + "/SegmentationPart/" + ds.ids[i] + ".png";
}
}  // namespace

TEST(PartScenes, SameSeedSameBytesMasksAgreeWithTheImage) {
  TempDir a, b, c;
  amr::VocDataset ds = part_scenes(a, 0.3, 3, 1, 2);
  part_scenes(b, 0.3, 3, 1, 1);
  part_scenes(c, 0.3, 3, 2);
  const auto [files, differ] = compare_trees(a, b, c);
  EXPECT_EQ(files, 40u * 3 + 4);  // jpg + class png + part png per scene, classes, cls_labels, lists
  EXPECT_GT(differ, 40u);
  ASSERT_EQ(ds.num_classes(), 6);
  EXPECT_EQ(ds.classes[0], "disc");
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    const cv::Mat mask = amr::read_label_png(ds.mask_path(i)), part = amr::read_label_png(part_path(ds, i));
    const cv::Mat rgb = amr::read_rgb(ds.image_path(i));
    ASSERT_EQ(part.size(), mask.size());
    // The part map is the class map split: background, body, part; 255 at the same places.
    EXPECT_EQ(cv::countNonZero((mask == 255) != (part == 255)), 0) << ds.ids[i];
    EXPECT_EQ(cv::countNonZero((mask == 0) != (part == 0)), 0) << ds.ids[i];
    int tagged = 0;
    for (int k = 0; k < ds.num_classes(); ++k) {
      const cv::Mat in_class = mask == k + 1;
      const int part_px = cv::countNonZero(in_class & (part == 2)), body_px = cv::countNonZero(in_class & (part == 1));
      if (!ds.labels[i][k]) {
        EXPECT_EQ(part_px + body_px, 0) << ds.ids[i] << " class " << k;
        continue;
      }
      ++tagged;
      EXPECT_GT(part_px, 0) << ds.ids[i] << ": every tagged object shows its part";
      EXPECT_GT(body_px, 2 * part_px) << ds.ids[i] << ": the body is most of the object";
      // Parts are saturated, bodies muted: the part's mean chroma (max - min channel) is larger.
      auto chroma = [&](const cv::Mat& where) {
        cv::Scalar m = cv::mean(rgb, where);
        return std::max({m[0], m[1], m[2]}) - std::min({m[0], m[1], m[2]});
      };
      EXPECT_GT(chroma(in_class & (part == 2)), chroma(in_class & (part == 1)) + 40) << ds.ids[i];
    }
    EXPECT_GE(tagged, 1) << ds.ids[i];
  }
}

TEST(PartScenes, LargeObjectsWithATenToTwentyPercentPart) {
  TempDir a;
  amr::VocDataset ds = part_scenes(a, 0.0, 1, 3);
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    const cv::Mat mask = amr::read_label_png(ds.mask_path(i)), part = amr::read_label_png(part_path(ds, i));
    const double part_px = cv::countNonZero(part == 2), body_px = cv::countNonZero(part == 1);
    const double share = part_px / (part_px + body_px);  // the 255 outline band excluded from both
    EXPECT_GE(share, 0.08) << ds.ids[i];
    EXPECT_LE(share, 0.22) << ds.ids[i];
    const cv::Rect box = cv::boundingRect(mask != 0 & mask != 255);
    EXPECT_GE(std::min(box.width, box.height), 96 * 0.6 * 0.75 * 0.8) << ds.ids[i] << ": one object is large";
  }
}

TEST(PartScenes, BodySignalMakesTheBodyTellTheClass) {
  // Mean body colour of each object; at body_signal 1 all bodies of a class share the class's
  // signature colour (small spread around the class centroid), at 0 they are drawn from the
  // shared bank whatever the class.
  auto spread = [](const amr::VocDataset& ds) {
    std::vector<std::vector<cv::Vec3d>> by_class(static_cast<size_t>(ds.num_classes()));
    for (size_t i = 0; i < ds.ids.size(); ++i) {
      const cv::Mat mask = amr::read_label_png(ds.mask_path(i)), part = amr::read_label_png(part_path(ds, i));
      const cv::Mat rgb = amr::read_rgb(ds.image_path(i));
      for (int k = 0; k < ds.num_classes(); ++k) {
        const cv::Mat body = (mask == k + 1) & (part == 1);
        if (cv::countNonZero(body) < 50) continue;
        const cv::Scalar m = cv::mean(rgb, body);
        by_class[static_cast<size_t>(k)].emplace_back(m[0], m[1], m[2]);
      }
    }
    double total = 0;
    int n = 0;
    for (const auto& v : by_class) {
      if (v.size() < 2) continue;
      cv::Vec3d centre(0, 0, 0);
      for (const auto& c : v) centre += c / static_cast<double>(v.size());
      for (const auto& c : v) total += cv::norm(c - centre), ++n;
    }
    return total / std::max(1, n);
  };
  TempDir a, b;
  const double with = spread(part_scenes(a, 1.0, 1, 4)), without = spread(part_scenes(b, 0.0, 1, 4));
  EXPECT_LT(with, 0.5 * without) << "body colour spread per class: signal 1 " << with << ", signal 0 " << without;

  amr::ScenesOptions o;
  o.kind = "parts";
  o.out = a / "bad";
  o.body_signal = 1.5;
  EXPECT_THROW(amr::generate_scenes(o, amr::test::threads(2)), amr::Error);
  o.body_signal = 0;
  o.classes = {"bag"};
  EXPECT_THROW(amr::generate_scenes(o, amr::test::threads(2)), amr::Error);
  o.kind = "lego";
  o.classes.clear();
  EXPECT_THROW(amr::generate_scenes(o, amr::test::threads(2)), amr::Error);
  EXPECT_FALSE(fs::exists(a / "bad"));
  EXPECT_EQ(amr::parse_scene_classes("star,disc", "parts"), (std::vector<std::string>{"star", "disc"}));
  EXPECT_THROW(amr::parse_scene_classes("star,bag", "parts"), amr::Error);
}

// Cutout against the official imutils.cutout transcribed in numpy, fed amr's random centres:
// odd and even sides, boxes clipped at every border, the square larger than the image.
TEST(Transforms, CutoutEqualsTheOfficialFormula) {
  TempDir dir;
  struct Case {
    int64_t h, w, side;
    uint64_t index;
  };
  for (const Case& k : {Case{64, 48, 16, 0}, Case{64, 48, 17, 1}, Case{20, 30, 128, 2}, Case{512, 512, 128, 3}}) {
    amr::SampleRng rng(4, 1, k.index);
    std::vector<amr::CutoutBox> centres = amr::draw_cutout_centres(k.h, k.w, 3, rng);
    std::string spec;
    for (const auto& c : centres) spec += (spec.empty() ? "" : ";") + std::to_string(c.y) + "," + std::to_string(c.x);
    amr::test::run_python("cutout_reference.py " + std::to_string(k.h) + " " + std::to_string(k.w) + " " +
                          std::to_string(k.side) + " '" + spec + "' " + (dir / "mask.pth"));
    const at::Tensor expected = amr::read_pth(dir / "mask.pth").at(0).second;
    const at::Tensor mask = amr::cutout_mask(k.h, k.w, k.side, centres);
    EXPECT_TRUE(torch::equal(mask, expected)) << k.h << "x" << k.w << " side " << k.side << " centres " << spec;
    EXPECT_LT(mask.sum().item<double>(), static_cast<double>(k.h * k.w)) << "nothing cut";

    // apply_cutout draws the same centres from the same stream and zeroes all channels there.
    amr::SampleRng again(4, 1, k.index);
    at::Tensor img = torch::rand({3, k.h, k.w}) + 0.5;
    const at::Tensor before = img.clone();
    amr::apply_cutout(img, k.side, 3, again);
    EXPECT_TRUE(torch::equal(img, before * expected.unsqueeze(0)));
  }
  at::Tensor untouched = torch::rand({3, 8, 8});
  const at::Tensor copy = untouched.clone();
  amr::SampleRng rng(1, 1, 1);
  amr::apply_cutout(untouched, 0, 3, rng);  // side 0: off
  EXPECT_TRUE(torch::equal(untouched, copy));
}

TEST(Loader, EveryIdOncePerEpochInAnyThreading) {
  TempDir dir;
  amr::ScenesOptions so;
  so.train = 23;
  so.val = 0;
  so.size = 48;
  so.out = dir.path();
  amr::generate_scenes(so, amr::test::threads(2));
  amr::DatasetOptions d;
  d.root = dir.path();
  d.list = "train.txt";
  amr::VocDataset ds = amr::open_voc(d);
  std::vector<std::vector<std::string>> orders;
  std::vector<at::Tensor> first_batches;
  for (int workers : {0, 1, 3}) {
    amr::LoaderOptions lo;
    lo.batch = 5;
    lo.workers = workers;
    lo.drop_last = false;
    lo.augment = {40, 56, true, 48};
    amr::BatchLoader loader(ds, lo);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      std::multiset<std::string> seen;
      std::vector<std::string> order;
      int batches = 0;
      while (auto b = loader.next()) {
        ++batches;
        EXPECT_EQ(b->images.size(1), 3);
        EXPECT_EQ(b->images.size(2), 48);
        EXPECT_EQ(b->labels.size(1), 10);
        if (epoch == 0 && batches == 1) first_batches.push_back(b->images);
        for (auto& id : b->ids) {
          seen.insert(id);
          order.push_back(id);
        }
      }
      EXPECT_EQ(batches, 5);
      EXPECT_EQ(seen, std::multiset<std::string>(ds.ids.begin(), ds.ids.end()));
      if (epoch == 1) EXPECT_NE(order, orders.back()) << "epochs must reshuffle";
      orders.push_back(order);
    }
  }
  // Same order and same pixels whatever the number of workers.
  EXPECT_EQ(orders[0], orders[2]);
  EXPECT_EQ(orders[0], orders[4]);
  EXPECT_TRUE(torch::equal(first_batches[0], first_batches[1]));
  EXPECT_TRUE(torch::equal(first_batches[0], first_batches[2]));
}

namespace {
// A 3-image VOC-layout dataset with one broken thing chosen by the caller.
struct TinyVoc {
  TempDir dir;
  TinyVoc() {
    fs::create_directories(dir / "JPEGImages");
    fs::create_directories(dir / "SegmentationClass");
    std::ofstream(dir / "classes.txt") << "background\ncat\ndog\n";
    std::ofstream labels(dir / "cls_labels.txt"), list(dir / "train.txt");
    for (int i = 0; i < 3; ++i) {
      const std::string id = "img" + std::to_string(i);
      cv::Mat img(20, 30, CV_8UC3, cv::Scalar(10 * i, 50, 90));
      cv::imwrite(dir / ("JPEGImages/" + id + ".jpg"), img);
      cv::Mat mask(20, 30, CV_8UC1, cv::Scalar(0));
      mask(cv::Rect(5, 5, 10, 10)).setTo(1 + i % 2);
      amr::write_label_png(dir / ("SegmentationClass/" + id + ".png"), mask);
      labels << id << (i % 2 ? " 0 1" : " 1 0") << "\n";
      list << id << "\n";
    }
  }
  std::string load_error(const amr::DatasetOptions& o, bool crop_labels) {
    try {
      amr::VocDataset ds = amr::open_voc(o);
      amr::LoaderOptions lo;
      lo.batch = 3;
      lo.workers = 1;
      lo.augment = {0, 0, false, 16};
      lo.crop_labels = crop_labels;
      amr::BatchLoader loader(ds, lo);
      loader.start_epoch(0);
      while (loader.next()) {
      }
    } catch (const amr::Error& e) {
      return e.what();
    }
    return "";
  }
  amr::DatasetOptions opts() {
    amr::DatasetOptions o;
    o.root = dir.path();
    o.list = "train.txt";
    return o;
  }
};
}  // namespace

TEST(DataErrors, EachBadInputNamesTheFile) {
  {
    TinyVoc t;
    EXPECT_EQ(t.load_error(t.opts(), true), "");
  }
  {
    TinyVoc t;
    fs::remove(t.dir / "JPEGImages/img1.jpg");
    EXPECT_NE(t.load_error(t.opts(), false).find("img1.jpg: no such file"), std::string::npos);
    auto o = t.opts();
    o.skip_bad = true;
    EXPECT_EQ(amr::open_voc(o).skipped, 1u);
  }
  {
    TinyVoc t;
    std::ofstream(t.dir / "JPEGImages/img2.jpg", std::ios::trunc) << "\xff\xd8\xff garbage";  // a JPEG start, cut
    const std::string e = t.load_error(t.opts(), false);
    EXPECT_NE(e.find("img2.jpg: truncated"), std::string::npos) << e;
  }
  {
    TinyVoc t;
    std::ofstream(t.dir / "JPEGImages/img2.jpg", std::ios::trunc) << "not an image at all";
    const std::string e = t.load_error(t.opts(), false);
    EXPECT_NE(e.find("img2.jpg: cannot decode"), std::string::npos) << e;
  }
  {
    TinyVoc t;
    amr::write_label_png(t.dir / "SegmentationClass/img0.png", cv::Mat(21, 30, CV_8UC1, cv::Scalar(0)));
    const std::string e = t.load_error(t.opts(), true);
    EXPECT_NE(e.find("img0.png: size 30x21 differs"), std::string::npos) << e;
  }
  {
    TinyVoc t;
    std::ofstream(t.dir / "cls_labels.txt", std::ios::app) << "img9 1 0 1\n";
    const std::string e = t.load_error(t.opts(), false);
    EXPECT_NE(e.find("cls_labels.txt:4: 3 labels for 'img9', classes.txt has 2"), std::string::npos) << e;
  }
  {
    TinyVoc t;
    std::ofstream(t.dir / "empty.txt") << "\n\n";
    auto o = t.opts();
    o.list = "empty.txt";
    const std::string e = t.load_error(o, false);
    EXPECT_NE(e.find("empty.txt: no ids"), std::string::npos) << e;
  }
}

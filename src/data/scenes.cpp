#include "amr/data/scenes.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "amr/data/transforms.h"
#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/io/png.h"
#include "amr/base/parallel.h"
#include "scene_canvas.h"

namespace amr {

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"tshirt", "trouser", "pullover", "dress", "coat",
                                                 "sandal", "shirt",   "sneaker",  "bag",   "ankle_boot"};
  return names;
}

namespace {

std::vector<uint8_t> gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("--fashion-mnist: cannot open " + path);
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.insert(out.end(), buf, buf + n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string what = (n < 0 || err < 0) ? std::string(msg) : std::string();
  gzclose(f);
  if (!what.empty()) throw Error("--fashion-mnist: " + path + ": corrupt gzip (" + what + ")");
  return out;
}

uint32_t be32(const std::vector<uint8_t>& b, size_t o) {
  return (uint32_t(b[o]) << 24) | (uint32_t(b[o + 1]) << 16) | (uint32_t(b[o + 2]) << 8) | b[o + 3];
}

}  // namespace

FashionMnist read_fashion_mnist(const std::string& dir, bool train) {
  const std::string prefix = dir + (train ? "/train" : "/t10k");
  const std::string ipath = prefix + "-images-idx3-ubyte.gz", lpath = prefix + "-labels-idx1-ubyte.gz";
  std::vector<uint8_t> img = gunzip(ipath), lab = gunzip(lpath);
  if (img.size() < 16 || be32(img, 0) != 2051) throw Error("--fashion-mnist: " + ipath + ": not an IDX image file");
  if (lab.size() < 8 || be32(lab, 0) != 2049) throw Error("--fashion-mnist: " + lpath + ": not an IDX label file");
  FashionMnist fm;
  fm.count = be32(img, 4);
  fm.rows = be32(img, 8);
  fm.cols = be32(img, 12);
  if (be32(lab, 4) != fm.count || img.size() != 16 + static_cast<size_t>(fm.count * fm.rows * fm.cols) ||
      lab.size() != 8 + static_cast<size_t>(fm.count))
    throw Error("--fashion-mnist: " + ipath + ": sizes of images and labels disagree (truncated?)");
  fm.images.assign(img.begin() + 16, img.end());
  fm.labels.assign(lab.begin() + 8, lab.end());
  return fm;
}

void parse_objects(const std::string& spec, ScenesOptions* opt) {
  int64_t a = 0, b = 0;
  char colon = 0;
  std::istringstream ss(spec);
  if (!(ss >> a)) throw Error("--objects: expected MIN:MAX, got '" + spec + "'");
  if (ss >> colon) {
    if (colon != ':' || !(ss >> b)) throw Error("--objects: expected MIN:MAX, got '" + spec + "'");
  } else {
    b = a;
  }
  if (a < 1 || b < a || b > 8) throw Error("--objects: expected 1 <= MIN <= MAX <= 8, got '" + spec + "'");
  opt->min_objects = a;
  opt->max_objects = b;
}

void parse_object_scale(const std::string& spec, ScenesOptions* opt) {
  double a = 0, b = 0;
  char colon = 0;
  std::istringstream ss(spec);
  if (!(ss >> a >> colon >> b) || colon != ':' || !ss.eof() || !(a > 0 && a <= b && b <= 1))
    throw Error("--object-scale: expected MIN:MAX with 0 < MIN <= MAX <= 1, got '" + spec + "'");
  opt->object_scale = {a, b};
}

std::vector<std::string> parse_scene_classes(const std::string& spec, const std::string& kind) {
  std::vector<std::string> out;
  std::stringstream ss(spec);
  std::string name;
  const auto& all = kind == "parts" ? part_scene_classes() : fashion_mnist_classes();
  while (std::getline(ss, name, ',')) {
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      std::string known;
      for (const auto& c : all) known += (known.empty() ? "" : ",") + c;
      throw Error("--classes: unknown " + std::string(kind == "parts" ? "PartScenes" : "Fashion-MNIST") + " class '" + name +
                  "' (expected a comma list of " + known + ")");
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) throw Error("--classes: '" + name + "' listed twice");
    out.push_back(name);
  }
  if (out.empty()) throw Error("--classes: expected at least one class name");
  return out;
}

namespace {

// Fashion-MNIST label -> scene class index (0-based; -1: not drawn), and the drawable items.
struct ClassSubset {
  std::vector<int> index_of = std::vector<int>(10, -1);
  std::vector<int64_t> items;
  int64_t count = 0;
};

ClassSubset class_subset(const FashionMnist& fm, const std::vector<std::string>& classes) {
  ClassSubset cs;
  const auto& all = fashion_mnist_classes();
  for (int c = 0; c < 10; ++c) {
    const auto it = std::find(classes.begin(), classes.end(), all[static_cast<size_t>(c)]);
    if (classes.empty()) cs.index_of[static_cast<size_t>(c)] = c;
    else if (it != classes.end()) cs.index_of[static_cast<size_t>(c)] = static_cast<int>(it - classes.begin());
  }
  cs.count = classes.empty() ? 10 : static_cast<int64_t>(classes.size());
  for (int64_t i = 0; i < fm.count; ++i)
    if (cs.index_of[fm.labels[static_cast<size_t>(i)]] >= 0) cs.items.push_back(i);
  return cs;
}

using scene::Scene;
using scene::random_colour;

Scene make_scene(const FashionMnist& fm, const ClassSubset& cs, const ScenesOptions& opt, uint64_t split, uint64_t index) {
  SampleRng rng(opt.seed, split, index);
  const int s = static_cast<int>(opt.size);
  cv::Mat img = scene::background(s, rng, opt.background == "textured");
  cv::Mat label(s, s, CV_8UC1, cv::Scalar(0));
  const int64_t n = rng.integer(opt.min_objects, opt.max_objects);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t item = cs.items[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(cs.items.size()) - 1))];
    const int cls = cs.index_of[fm.labels[static_cast<size_t>(item)]];
    cv::Mat digit(static_cast<int>(fm.rows), static_cast<int>(fm.cols), CV_8UC1,
                  const_cast<uint8_t*>(fm.images.data() + item * fm.rows * fm.cols));
    const double min_frac = opt.object_scale[0] > 0 ? opt.object_scale[0] : 0.35;
    const double max_frac = opt.object_scale[1] > 0 ? opt.object_scale[1] : (n == 1 ? 0.8 : 0.6);
    const int side = std::max(4, static_cast<int>(rng.uniform(min_frac, max_frac) * s));
    cv::Mat obj;
    cv::resize(digit, obj, cv::Size(side, side), 0, 0, cv::INTER_LINEAR);
    // Place where the new object overlaps existing ones by < 30% (occlusion, not burial).
    int ox = 0, oy = 0;
    for (int attempt = 0; attempt < 20; ++attempt) {
      ox = static_cast<int>(rng.integer(0, s - side));
      oy = static_cast<int>(rng.integer(0, s - side));
      int overlap = 0, area = 0;
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
          if (obj.at<uint8_t>(y, x) > 40) {
            ++area;
            overlap += label.at<uint8_t>(oy + y, ox + x) != 0;
          }
      if (overlap < 0.3 * area) break;
    }
    // The object's silhouette: its pixels above 40, with interior holes (dark prints) filled,
    // painted opaque; the faint fringe outside it is blended softly.
    cv::Mat solid = obj > 40, padded;
    cv::copyMakeBorder(solid, padded, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));
    cv::floodFill(padded, cv::Point(0, 0), cv::Scalar(128));
    solid = padded(cv::Rect(1, 1, side, side)) != 128;
    cv::Vec3f tint = random_colour(rng, 60, 255);
    float gain = static_cast<float>(rng.uniform(0.6, 1.0));
    if (opt.min_contrast > 0) {
      // Redraw the colour until the object's mean luminance differs from what lies under it.
      const cv::Scalar under = cv::mean(img(cv::Rect(ox, oy, side, side)), solid);
      const double bg = scene::luminance(under[0], under[1], under[2]);
      const double shade = 0.35 + 0.65 * cv::mean(obj, solid)[0] / 255.0;  // mean of the shading below
      for (int attempt = 0; attempt < 500; ++attempt) {  // a few % of draws qualify against mid-grey
        const double lum = shade * gain * scene::luminance(tint[0], tint[1], tint[2]);
        if (std::abs(lum - bg) >= opt.min_contrast) break;
        tint = random_colour(rng, 60, 255);
        gain = static_cast<float>(rng.uniform(0.6, 1.0));
      }
    }
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        const float a = obj.at<uint8_t>(y, x) / 255.f;
        const bool inside = solid.at<uint8_t>(y, x) != 0;
        if (!inside && a <= 0.f) continue;
        const float alpha = inside ? 1.f : std::min(1.f, a * 2.f);
        cv::Vec3f& px = img.at<cv::Vec3f>(oy + y, ox + x);
        px = px * (1.f - alpha) + tint * (gain * (0.35f + 0.65f * a)) * alpha;
        if (inside) label.at<uint8_t>(oy + y, ox + x) = static_cast<uint8_t>(cls + 1);
      }
  }
  return scene::finish_scene(img, label, static_cast<int>(cs.count));
}

void write_text(const std::string& path, const std::string& text) {
  write_text_atomically(path, text);
}

}  // namespace

void generate_scenes(const ScenesOptions& opt, const Runtime& rt) {
  if (opt.out.empty()) throw Error("--out: required");
  if (opt.kind != "fashion" && opt.kind != "parts")
    throw Error("--kind: expected fashion or parts, got '" + opt.kind + "'");
  if (opt.size < 32 || opt.size > 1024) throw Error("--size: expected 32..1024, got " + std::to_string(opt.size));
  if (opt.background != "textured" && opt.background != "flat")
    throw Error("--background: expected textured or flat, got '" + opt.background + "'");
  if ((opt.object_scale[0] > 0 || opt.object_scale[1] > 0) &&
      !(opt.object_scale[0] > 0 && opt.object_scale[0] <= opt.object_scale[1] && opt.object_scale[1] <= 1))
    throw Error("--object-scale: expected MIN:MAX with 0 < MIN <= MAX <= 1");
  if (opt.train < 1 || opt.val < 0) throw Error("--train/--val: expected --train >= 1 and --val >= 0");
  if (!(opt.body_signal >= 0 && opt.body_signal <= 1))
    throw Error("--body-signal: expected a value in [0, 1], got " + std::to_string(opt.body_signal));
  const bool parts = opt.kind == "parts";
  const std::vector<std::string>& bank = parts ? part_scene_classes() : fashion_mnist_classes();
  for (const auto& c : opt.classes)
    if (std::find(bank.begin(), bank.end(), c) == bank.end())
      throw Error("--classes: '" + c + "' is not a class of --kind " + opt.kind);
  ensure_dir(opt.out + "/JPEGImages", "--out");
  ensure_dir(opt.out + "/SegmentationClass", "--out");
  if (parts) ensure_dir(opt.out + "/SegmentationPart", "--out");
  const std::vector<std::string>& names = opt.classes.empty() ? bank : opt.classes;
  std::string cls_labels;
  for (int split = 0; split < 2; ++split) {
    const bool train = split == 0;
    const int64_t n = train ? opt.train : opt.val;
    if (n == 0) continue;
    std::function<Scene(uint64_t)> make;
    FashionMnist fm;
    ClassSubset cs;
    std::vector<int> part_shapes;  // scene class -> part shape index in part_scene_classes()
    if (parts) {
      for (const auto& c : names)
        part_shapes.push_back(static_cast<int>(std::find(bank.begin(), bank.end(), c) - bank.begin()));
      make = [&](uint64_t i) { return scene::make_part_scene(opt, part_shapes, static_cast<uint64_t>(split), i); };
    } else {
      fm = read_fashion_mnist(opt.fashion_mnist_dir, train);
      cs = class_subset(fm, opt.classes);
      make = [&](uint64_t i) { return make_scene(fm, cs, opt, static_cast<uint64_t>(split), i); };
    }
    std::vector<std::string> ids(static_cast<size_t>(n));
    std::vector<std::vector<int>> labels(static_cast<size_t>(n));
    parallel_for(static_cast<size_t>(n), rt.threads, [&](size_t i, int) {
      char id[32];
      std::snprintf(id, sizeof(id), "%s_%06zu", train ? "train" : "val", i);
      Scene sc = make(static_cast<uint64_t>(i));
      const std::string jpg = opt.out + "/JPEGImages/" + id + ".jpg";
      std::vector<uchar> buf;
      if (!cv::imencode(".jpg", sc.image, buf, {cv::IMWRITE_JPEG_QUALITY, 95})) throw Error("cannot encode " + jpg);
      write_bytes_atomically(jpg, buf);
      write_label_png(opt.out + "/SegmentationClass/" + id + ".png", sc.mask);
      if (parts) write_label_png(opt.out + "/SegmentationPart/" + id + ".png", sc.parts);
      ids[i] = id;
      labels[i] = sc.labels;
    });
    std::string list;
    for (int64_t i = 0; i < n; ++i) {
      list += ids[static_cast<size_t>(i)] + "\n";
      cls_labels += ids[static_cast<size_t>(i)];
      for (int v : labels[static_cast<size_t>(i)]) cls_labels += v ? " 1" : " 0";
      cls_labels += "\n";
    }
    write_text(opt.out + (train ? "/train.txt" : "/val.txt"), list);
  }
  std::string classes = "background\n";
  for (const auto& c : names) classes += c + "\n";
  write_text(opt.out + "/classes.txt", classes);
  write_text(opt.out + "/cls_labels.txt", cls_labels);
}

}  // namespace amr

#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "amr/base/runtime.h"

namespace amr {

// Fashion-MNIST IDX files (gzip), as Debian's dataset-fashion-mnist ships them.
struct FashionMnist {
  int64_t count = 0, rows = 28, cols = 28;
  std::vector<uint8_t> images;  // count * rows * cols
  std::vector<uint8_t> labels;  // count, 0..9
};
FashionMnist read_fashion_mnist(const std::string& dir, bool train);  // throws naming the file
const std::vector<std::string>& fashion_mnist_classes();

// PartScenes' classes, each named after its part's shape.
const std::vector<std::string>& part_scene_classes();

struct ScenesOptions {
  // fashion: FashionScenes (Fashion-MNIST items); parts: PartScenes, objects made of a large
  // body and a small class-specific part (the partial-activation benchmark).
  std::string kind = "fashion";
  std::string fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
  std::string out;
  int64_t train = 2000, val = 500;
  int64_t size = 128;
  int64_t min_objects = 1, max_objects = 4;
  uint64_t seed = 0;
  // Fashion-MNIST classes to draw objects from, in label order (empty: all ten). A subset of
  // well-separated classes (e.g. no shirt / t-shirt / pullover / coat together) makes a task a
  // small CNN learns to near-perfect accuracy on a CPU in minutes.
  std::vector<std::string> classes;
  // textured: smooth colour field + stripes + pixel noise (the default); flat: one random colour
  // per scene. The flat rendering is what a from-scratch CNN learns in tens of steps (the
  // textured one holds it on the all-negative plateau for hundreds): a pretraining set.
  std::string background = "textured";
  // > 0: each object's colour is redrawn until its mean luminance differs from the background
  // under it by at least this much (0-255 scale); 0 keeps the original draws (same bytes).
  double min_contrast = 0;
  // Object side as a fraction of the scene side, drawn uniformly in [min, max]; 0: the defaults
  // (0.35 to 0.8 for one object, to 0.6 for several).
  std::array<double, 2> object_scale{0, 0};
  // PartScenes: the probability that each body attribute (colour, texture, shape family) is the
  // class's signature rather than a uniform draw from the bank shared by all classes. 0: the
  // body carries no class evidence (only the part does); 1: the body is as telling as the part.
  double body_signal = 0.0;
};

// Parses "a:b" (fractions) into object_scale; throws naming --object-scale.
void parse_object_scale(const std::string& spec, ScenesOptions* opt);

// Parses "a,b,c" into class names of the kind's bank (fashion: Fashion-MNIST, parts:
// part_scene_classes()); throws naming --classes.
std::vector<std::string> parse_scene_classes(const std::string& spec, const std::string& kind);
inline std::vector<std::string> parse_fashion_classes(const std::string& spec) {
  return parse_scene_classes(spec, "fashion");
}

// Parses "a:b" (or "a") into min/max objects; throws naming --objects.
void parse_objects(const std::string& spec, ScenesOptions* opt);

// Multi-object scenes in VOC layout: JPEGImages/, SegmentationClass/ (0 background, 1..K,
// 255 on a thin band at object borders), classes.txt, cls_labels.txt, train.txt, val.txt.
// FashionScenes: train scenes use Fashion-MNIST's train split, val scenes its test split.
// PartScenes also write SegmentationPart/ (0 background, 1 body, 2 part, 255 as the class
// mask). Same options -> identical bytes.
void generate_scenes(const ScenesOptions& opt, const Runtime& rt);

}  // namespace amr

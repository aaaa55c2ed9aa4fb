#pragma once
// Rendering pieces shared by the scene generators (FashionScenes, PartScenes); internal to src/data.
#include <opencv2/core.hpp>
#include <vector>

#include "amr/data/scenes.h"
#include "amr/data/transforms.h"

namespace amr::scene {

struct Scene {
  cv::Mat image;            // BGR uint8, for imwrite
  cv::Mat mask;             // class indices (0 background), 255 on object borders and untagged objects
  cv::Mat parts;            // PartScenes only: 0 background, 1 body, 2 part, 255 where mask is 255
  std::vector<int> labels;  // one 0/1 per class
};

cv::Vec3f random_colour(SampleRng& rng, double lo, double hi);

// Textured background: smooth colour field + oriented stripes + pixel noise, so that
// "background" is not simply a flat colour; or (textured = false) one random colour.
cv::Mat background(int side, SampleRng& rng, bool textured);

// From a float RGB canvas and its class map (0 background, c + 1): 255 on a thin band where
// the class changes, image labels (a class is tagged when it keeps a minimum visible area;
// smaller remnants become 255), BGR uint8 image.
Scene finish_scene(const cv::Mat& rgb, const cv::Mat& label, int classes);

double luminance(double r, double g, double b);  // ITU-R BT.601 weights

// One PartScenes scene (part_scenes.cpp); part_shapes maps scene class -> index of its part
// shape in part_scene_classes().
Scene make_part_scene(const ScenesOptions& opt, const std::vector<int>& part_shapes, uint64_t split, uint64_t index);

}  // namespace amr::scene

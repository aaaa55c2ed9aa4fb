#pragma once
#include <string>

#include "amr/base/runtime.h"

namespace amr {

struct VizOptions {
  std::string cams, data, list, out;
  double bg_threshold = 0.2;
  int max_images = 0;  // 0: all
};
// `amr viz`: OUT/<id>.png = image | CAM overlay per class | pseudo-label | ground truth.
size_t write_visualizations(const VizOptions& opt, const Runtime& rt);

}  // namespace amr

#pragma once
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace amr {

// How much class evidence lies outside a CAM's peak (the partial-activation diagnostic T2).
// For each labelled class of each image: the classifier's sigmoid score (spotlight) on the
// image; with the CAM's peak region (CAM > peak_fraction x its max) filled with the image's
// mean colour; and with an equal area of background filled instead (the peak mask shifted to
// where it covers the most background, pixels off the background left untouched). A score that
// survives the peak's erasure means evidence outside the peak: what AMR's compensation can mine.
struct EraseTestOptions {
  std::string run, cams, data, list;
  double peak_fraction = 0.5;
  int shifts = 64;  // random shifts tried for the background region
  bool labels_from_masks = false;
};

struct EraseTestResult {
  size_t samples = 0;  // (image, class) pairs
  double score = 0, score_peak_erased = 0, score_background_erased = 0;  // means
  double peak_area = 0;        // mean fraction of the image erased at the peak
  double background_area = 0;  // mean erased background area / peak area
};

EraseTestResult erase_test(const EraseTestOptions& opt);
std::string markdown_report(const EraseTestResult& r);
nlohmann::json to_json(const EraseTestResult& r);

}  // namespace amr

#pragma once
#include <string>
#include <vector>

namespace amr {

struct ReportOptions {
  std::vector<std::pair<std::string, std::string>> evals;  // (name, eval JSON from `amr eval --json`)
  std::string viz_dir;    // optional: PNGs from `amr viz`, embedded as a grid
  int max_images = 24;
  std::string title = "amr: CAM quality";
  std::string out;
};

// One self-contained HTML file (inline SVG charts, images embedded as data URIs, no network):
// the mIoU table of every evaluation, per-class IoU bars, threshold and xi curves, overlays.
void write_report(const ReportOptions& opt);

std::string base64(const std::string& bytes);

}  // namespace amr

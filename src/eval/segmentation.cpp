#include "amr/eval/segmentation.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "amr/data/voc.h"
#include "amr/base/error.h"
#include "amr/cam/cam_file.h"
#include "amr/io/png.h"
#include "amr/base/parallel.h"

namespace fs = std::filesystem;

namespace amr {

void Confusion::add(const cv::Mat& pred, const cv::Mat& gt) {
  for (int y = 0; y < gt.rows; ++y) {
    const uint8_t* g = gt.ptr<uint8_t>(y);
    const uint8_t* p = pred.ptr<uint8_t>(y);
    for (int x = 0; x < gt.cols; ++x) {
      if (g[x] == 255) continue;
      if (g[x] >= n_) throw Error("ground truth value " + std::to_string(g[x]) + " >= number of classes " + std::to_string(n_));
      const int col = p[x] == 255 ? n_ : p[x];
      ++m_[static_cast<size_t>(g[x]) * (n_ + 1) + col];
    }
  }
}

void Confusion::merge(const Confusion& o) {
  for (size_t i = 0; i < m_.size(); ++i) m_[i] += o.m_[i];
}

SegMetrics segmentation_metrics(const Confusion& c, const std::vector<std::string>& classes) {
  SegMetrics m;
  m.classes = classes;
  const int n = c.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double iou_sum = 0, p_sum = 0, r_sum = 0;
  int iou_n = 0, p_n = 0, r_n = 0;
  int64_t correct = 0, total = 0;
  for (int k = 0; k < n; ++k) {
    int64_t gt = c.none(k), pred = 0;
    for (int j = 0; j < n; ++j) {
      gt += c.at(k, j);
      pred += c.at(j, k);
    }
    const int64_t tp = c.at(k, k);
    correct += tp;
    total += gt;
    const double uni = static_cast<double>(gt + pred - tp);
    m.iou.push_back(uni > 0 ? tp / uni : nan);
    m.fp_rate.push_back(uni > 0 ? (pred - tp) / uni : nan);
    m.fn_rate.push_back(uni > 0 ? (gt - tp) / uni : nan);
    m.precision.push_back(pred > 0 ? static_cast<double>(tp) / pred : nan);
    m.recall.push_back(gt > 0 ? static_cast<double>(tp) / gt : nan);
    if (uni > 0) iou_sum += m.iou.back(), ++iou_n;
    if (pred > 0) p_sum += m.precision.back(), ++p_n;
    if (gt > 0) r_sum += m.recall.back(), ++r_n;
  }
  m.miou = iou_n ? iou_sum / iou_n : nan;
  m.mean_precision = p_n ? p_sum / p_n : nan;
  m.mean_recall = r_n ? r_sum / r_n : nan;
  m.pixel_accuracy = total ? static_cast<double>(correct) / static_cast<double>(total) : nan;
  return m;
}

double PartRecall::part_recall() const {
  return part ? static_cast<double>(part_hit) / static_cast<double>(part) : std::nan("");
}
double PartRecall::body_recall() const {
  return body ? static_cast<double>(body_hit) / static_cast<double>(body) : std::nan("");
}

void count_part_recall(const cv::Mat& pred, const cv::Mat& gt, const cv::Mat& parts, PartRecall& r) {
  for (int y = 0; y < gt.rows; ++y)
    for (int x = 0; x < gt.cols; ++x) {
      const uint8_t p = parts.at<uint8_t>(y, x), g = gt.at<uint8_t>(y, x);
      if (g == 255 || (p != 1 && p != 2)) continue;
      const bool hit = pred.at<uint8_t>(y, x) == g;
      if (p == 2) r.part += 1, r.part_hit += hit;
      else r.body += 1, r.body_hit += hit;
    }
}

namespace {
VocDataset open_ground_truth(const EvalOptions& opt, std::vector<std::string>& names) {
  DatasetOptions d;
  d.root = opt.data;
  d.list = opt.list;
  d.require_images = false;
  d.require_masks = true;
  d.load_labels = false;  // the masks are the ground truth
  VocDataset ds = open_voc(d);
  if (ds.has_background) names.push_back("background");
  names.insert(names.end(), ds.classes.begin(), ds.classes.end());
  return ds;
}
}  // namespace

EvalResult evaluate_labels(const EvalOptions& opt, const Runtime& rt) {
  std::vector<std::string> names;
  VocDataset ds = open_ground_truth(opt, names);
  const int n = static_cast<int>(names.size());
  const int workers = worker_count(rt.threads);
  std::vector<Confusion> local(static_cast<size_t>(workers), Confusion(n));
  parallel_for(ds.ids.size(), workers, [&](size_t i, int worker) {
    const std::string path = opt.labels + "/" + ds.ids[i] + ".png";
    cv::Mat pred = read_label_png(path), gt = read_label_png(ds.mask_path(i));
    if (pred.size() != gt.size()) throw Error(path + ": label size differs from mask " + ds.mask_path(i));
    for (int y = 0; y < pred.rows; ++y)
      for (int x = 0; x < pred.cols; ++x) {
        const uint8_t v = pred.at<uint8_t>(y, x);
        if (v != 255 && v >= n) throw Error(path + ": class index " + std::to_string(v) + " out of range");
      }
    local[static_cast<size_t>(worker)].add(pred, gt);
  });
  Confusion total(n);
  for (const auto& l : local) total.merge(l);
  EvalResult r;
  r.images = ds.ids.size();
  r.has_background = ds.has_background;
  r.points.push_back({0.0, std::nullopt, segmentation_metrics(total, names), {}});
  return r;
}

EvalResult evaluate_cams(const EvalOptions& opt, const Runtime& rt) {
  std::vector<std::string> names;
  VocDataset ds = open_ground_truth(opt, names);
  const int n = static_cast<int>(names.size());

  struct Combo {
    std::optional<double> xi;  // unset: the stored fused CAM
    double t;
  };
  std::vector<Combo> combos;
  std::vector<std::optional<double>> xis(opt.xis.begin(), opt.xis.end());
  if (xis.empty()) xis.emplace_back();
  for (const auto& xi : xis)
    for (double t : (ds.has_background ? opt.thresholds : std::vector<double>{0.0})) combos.push_back({xi, t});
  for (double xi : opt.xis) check_xi(xi, "--xi-sweep");
  for (double t : opt.thresholds)
    if (!(t >= 0.0 && t <= 1.0))
      throw Error("--bg-threshold/--sweep: expected background thresholds in [0, 1], got " + std::to_string(t));
  if (opt.constant && !opt.xis.empty()) throw Error("--constant: takes no --xi-sweep");

  const int workers = worker_count(rt.threads);
  std::vector<std::vector<Confusion>> local(static_cast<size_t>(workers), std::vector<Confusion>(combos.size(), Confusion(n)));
  const std::string part_dir = opt.data + "/SegmentationPart/";
  const bool has_parts = fs::is_directory(part_dir);
  std::vector<std::vector<PartRecall>> local_parts(static_cast<size_t>(workers), std::vector<PartRecall>(combos.size()));
  parallel_for(ds.ids.size(), workers, [&](size_t i, int worker) {
    c10::InferenceMode guard;
    const std::string path = opt.cams + "/" + ds.ids[i] + ".npz";
    const CamFile file = read_cam_file(path, ds.num_classes(), /*need_branches=*/!opt.xis.empty());
    cv::Mat gt = read_label_png(ds.mask_path(i)), parts;
    if (has_parts) {
      parts = read_label_png(part_dir + ds.ids[i] + ".png");
      if (parts.size() != gt.size()) throw Error(part_dir + ds.ids[i] + ".png: size differs from mask " + ds.mask_path(i));
    }
    const std::vector<int64_t>& keys = file.keys;
    at::Tensor cam = file.cam;
    if (opt.constant) cam = torch::ones_like(cam);
    if (cam.size(1) != gt.rows || cam.size(2) != gt.cols)
      throw Error(path + ": CAM is " + std::to_string(cam.size(2)) + "x" + std::to_string(cam.size(1)) + ", mask " +
                  ds.mask_path(i) + " is " + std::to_string(gt.cols) + "x" + std::to_string(gt.rows));
    at::Tensor m;
    for (size_t c = 0; c < combos.size(); ++c) {
      // combos are xi-major: fuse once per xi, not once per threshold.
      if (c == 0 || combos[c].xi != combos[c - 1].xi)
        m = combos[c].xi ? file.fused(*combos[c].xi, path) : cam;
      cv::Mat pred = cam_to_prediction(keys, m.data_ptr<float>(), static_cast<int>(keys.size()), gt.rows, gt.cols,
                                       ds.has_background, combos[c].t);
      local[static_cast<size_t>(worker)][c].add(pred, gt);
      if (has_parts) count_part_recall(pred, gt, parts, local_parts[static_cast<size_t>(worker)][c]);
    }
  });
  std::vector<Confusion> total(combos.size(), Confusion(n));
  std::vector<PartRecall> total_parts(combos.size());
  for (size_t w = 0; w < local.size(); ++w)
    for (size_t c = 0; c < combos.size(); ++c) {
      total[c].merge(local[w][c]);
      total_parts[c].merge(local_parts[w][c]);
    }
  EvalResult r;
  r.images = ds.ids.size();
  r.has_background = ds.has_background;
  r.has_parts = has_parts;
  for (size_t c = 0; c < combos.size(); ++c) {
    r.points.push_back({combos[c].t, combos[c].xi, segmentation_metrics(total[c], names), total_parts[c]});
    if (r.points.back().metrics.miou > r.points[r.best].metrics.miou) r.best = c;
  }
  return r;
}

namespace {
std::string pct(double v) {
  if (std::isnan(v)) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(2) << 100.0 * v;
  return o.str();
}
nlohmann::json num(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }
}  // namespace

std::optional<FusionSummary> fusion_summary(const std::vector<std::pair<double, double>>& xi_miou) {
  std::optional<FusionSummary> f;
  std::vector<double> xis;
  bool first = true;
  for (const auto& [xi, miou] : xi_miou) {
    if (std::isnan(miou)) continue;
    if (std::find(xis.begin(), xis.end(), xi) == xis.end()) xis.push_back(xi);
    if (!f) f.emplace();
    if (first || miou > f->fused) f->fused = miou, f->best_xi = xi;
    first = false;
    auto& alone = xi == 1.0 ? f->spotlight_alone : f->compensation_alone;
    if ((xi == 1.0 || xi == 0.0) && (!alone || miou > *alone)) alone = miou;
  }
  if (xis.size() < 2) return std::nullopt;
  return f;
}

std::optional<FusionSummary> fusion_summary(const EvalResult& r) {
  std::vector<std::pair<double, double>> xi_miou;
  for (const auto& p : r.points)
    if (p.xi) xi_miou.emplace_back(*p.xi, p.metrics.miou);
  return fusion_summary(xi_miou);
}

std::string FusionSummary::sentence() const {
  std::ostringstream o;
  if (one_branch_best())
    o << "The fusion did not help: the best CAM is the " << (best_xi == 1.0 ? "spotlight" : "compensation")
      << " branch alone (xi " << best_xi << ", mIoU " << pct(fused) << ")";
  else
    o << "Fused (xi " << best_xi << ") mIoU " << pct(fused);
  o << "; spotlight alone " << (spotlight_alone ? pct(*spotlight_alone) : std::string("not evaluated (no xi 1)"))
    << ", compensation alone " << (compensation_alone ? pct(*compensation_alone) : std::string("not evaluated (no xi 0)"))
    << ".";
  if (best_xi == 1.0 && compensation_alone && *compensation_alone < fused - 0.05)
    o << " A compensation branch far below the spotlight is the mark of stale BatchNorm statistics "
         "(amr recalibrate RUN).";
  return o.str();
}

std::string markdown_report(const EvalResult& r) {
  const EvalPoint& b = r.points[r.best];
  std::ostringstream o;
  o << "**mIoU " << pct(b.metrics.miou) << "** on " << r.images << " images";
  if (r.has_background) o << ", background threshold " << b.threshold;
  if (b.xi) o << ", xi " << *b.xi;
  o << "; pixel accuracy " << pct(b.metrics.pixel_accuracy);
  if (r.has_parts) o << "; recall on part pixels " << pct(b.parts.part_recall()) << ", on body pixels " << pct(b.parts.body_recall());
  o << "\n\n";
  if (const auto f = fusion_summary(r)) o << f->sentence() << "\n\n";
  o << "| class | IoU | precision | recall | FP | FN |\n|---|---:|---:|---:|---:|---:|\n";
  for (size_t k = 0; k < b.metrics.classes.size(); ++k)
    o << "| " << b.metrics.classes[k] << " | " << pct(b.metrics.iou[k]) << " | " << pct(b.metrics.precision[k]) << " | "
      << pct(b.metrics.recall[k]) << " | " << pct(b.metrics.fp_rate[k]) << " | " << pct(b.metrics.fn_rate[k]) << " |\n";
  o << "| **mean** | **" << pct(b.metrics.miou) << "** | " << pct(b.metrics.mean_precision) << " | "
    << pct(b.metrics.mean_recall) << " | | |\n";
  if (r.points.size() > 1) {
    o << "\n| xi | threshold | mIoU |\n|---:|---:|---:|\n";
    for (const auto& p : r.points)
      o << "| " << (p.xi ? std::to_string(*p.xi).substr(0, 4) : std::string("-")) << " | " << p.threshold << " | "
        << pct(p.metrics.miou) << (&p == &b ? " (best)" : "") << " |\n";
  }
  return o.str();
}

nlohmann::json to_json(const EvalResult& r) {
  nlohmann::json j;
  j["images"] = r.images;
  j["has_background"] = r.has_background;
  j["best"] = r.best;
  j["has_parts"] = r.has_parts;
  for (const auto& p : r.points) {
    nlohmann::json pj = {{"threshold", p.threshold}, {"miou", num(p.metrics.miou)},
                         {"pixel_accuracy", num(p.metrics.pixel_accuracy)},
                         {"mean_precision", num(p.metrics.mean_precision)}, {"mean_recall", num(p.metrics.mean_recall)}};
    if (p.xi) pj["xi"] = *p.xi;
    if (r.has_parts) {
      pj["part_recall"] = num(p.parts.part_recall());
      pj["body_recall"] = num(p.parts.body_recall());
    }
    nlohmann::json cls = nlohmann::json::array();
    for (size_t k = 0; k < p.metrics.classes.size(); ++k)
      cls.push_back({{"class", p.metrics.classes[k]}, {"iou", num(p.metrics.iou[k])}, {"precision", num(p.metrics.precision[k])},
                     {"recall", num(p.metrics.recall[k])}, {"fp", num(p.metrics.fp_rate[k])}, {"fn", num(p.metrics.fn_rate[k])}});
    pj["classes"] = cls;
    j["points"].push_back(pj);
  }
  if (const auto f = fusion_summary(r)) {
    nlohmann::json fj = {{"fused", num(f->fused)}, {"best_xi", f->best_xi}, {"fusion_helped", !f->one_branch_best()}};
    if (f->spotlight_alone) fj["spotlight_alone"] = num(*f->spotlight_alone);
    if (f->compensation_alone) fj["compensation_alone"] = num(*f->compensation_alone);
    j["fusion"] = fj;
  }
  return j;
}

}  // namespace amr

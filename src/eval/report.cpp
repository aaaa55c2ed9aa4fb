#include "amr/eval/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "amr/eval/segmentation.h"
#include "amr/io/atomic_file.h"
#include "amr/io/image_header.h"
#include "amr/base/error.h"

namespace fs = std::filesystem;

namespace amr {

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string pct(const nlohmann::json& v) {
  if (!v.is_number()) return "&ndash;";
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << 100.0 * v.get<double>();
  return o.str();
}

const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> xy;
  size_t colour = 0;  // the evaluation's index, so a run keeps its colour across charts
};

// A line chart with axes, ticks and a legend, as inline SVG.
std::string line_chart(const std::string& title, const std::string& xlabel, const std::vector<Series>& series) {
  double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
  for (const auto& s : series)
    for (auto [x, y] : s.xy) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (x1 <= x0) x1 = x0 + 1;
  y0 = std::floor(y0 * 20) / 20;
  y1 = std::ceil(y1 * 20) / 20;
  if (y1 <= y0) y1 = y0 + 0.05;
  const double W = 460, H = 260, L = 50, R = 22, T = 28, B = 40;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  o << "<svg class=\"chart\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W << "\" height=\"" << H
    << "\" role=\"img\"><title>" << esc(title) << "</title>";
  o << "<text x=\"" << W / 2 << "\" y=\"16\" text-anchor=\"middle\" class=\"t\">" << esc(title) << "</text>";
  o << "<line x1=\"" << L << "\" y1=\"" << H - B << "\" x2=\"" << W - R << "\" y2=\"" << H - B << "\" class=\"ax\"/>";
  o << "<line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\"" << H - B << "\" class=\"ax\"/>";
  for (int k = 0; k <= 4; ++k) {
    const double y = y0 + (y1 - y0) * k / 4, x = x0 + (x1 - x0) * k / 4;
    o << "<text x=\"" << L - 4 << "\" y=\"" << py(y) + 4 << "\" text-anchor=\"end\">" << std::setprecision(1) << 100 * y << "</text>";
    o << "<line x1=\"" << L << "\" y1=\"" << py(y) << "\" x2=\"" << W - R << "\" y2=\"" << py(y) << "\" class=\"grid\"/>";
    o << "<text x=\"" << px(x) << "\" y=\"" << H - B + 14 << "\" text-anchor=\"middle\">" << std::setprecision(2) << x << "</text>";
  }
  o << std::setprecision(1);
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 6 << "\" text-anchor=\"middle\">" << esc(xlabel) << "</text>";
  o << "<text x=\"12\" y=\"" << (T + H - B) / 2 << "\" transform=\"rotate(-90 12 " << (T + H - B) / 2
    << ")\" text-anchor=\"middle\">mIoU (%)</text>";
  for (size_t s = 0; s < series.size(); ++s) {
    const char* c = kColours[series[s].colour % 8];
    o << "<polyline fill=\"none\" stroke=\"" << c << "\" stroke-width=\"2\" points=\"";
    for (auto [x, y] : series[s].xy) o << px(x) << "," << py(y) << " ";
    o << "\"/>";
    for (auto [x, y] : series[s].xy) o << "<circle cx=\"" << px(x) << "\" cy=\"" << py(y) << "\" r=\"2.5\" fill=\"" << c << "\"/>";
    o << "<text x=\"" << W - R - 4 << "\" y=\"" << T + 14 * (s + 1) << "\" text-anchor=\"end\" fill=\"" << c << "\">"
      << esc(series[s].name) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

// Horizontal bars of per-class IoU, one colour per evaluation.
std::string iou_bars(const std::vector<std::string>& names, const std::vector<std::pair<std::string, nlohmann::json>>& evals) {
  const double row = 12.0 * evals.size() + 6, L = 110, W = 460;
  const double H = 24 + row * names.size() + 10;
  std::ostringstream o;
  o << std::fixed << std::setprecision(1);
  o << "<svg class=\"chart\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W << "\" height=\"" << H
    << "\" role=\"img\"><title>per-class IoU</title><text x=\"" << W / 2
    << "\" y=\"16\" text-anchor=\"middle\" class=\"t\">IoU per class (%)</text>";
  for (size_t k = 0; k < names.size(); ++k) {
    const double y = 24 + row * k;
    o << "<text x=\"" << L - 4 << "\" y=\"" << y + row / 2 + 3 << "\" text-anchor=\"end\">" << esc(names[k]) << "</text>";
    for (size_t e = 0; e < evals.size(); ++e) {
      const auto& cls = evals[e].second["classes"];
      const double v = k < cls.size() && cls[k]["iou"].is_number() ? cls[k]["iou"].get<double>() : 0.0;
      const double w = v * (W - L - 40);
      o << "<rect x=\"" << L << "\" y=\"" << y + 12 * e << "\" width=\"" << w << "\" height=\"10\" fill=\""
        << kColours[e % 8] << "\"><title>" << esc(evals[e].first) << ": " << 100 * v << "</title></rect>";
      o << "<text x=\"" << L + w + 3 << "\" y=\"" << y + 12 * e + 9 << "\">" << 100 * v << "</text>";
    }
  }
  o << "</svg>";
  return o.str();
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("--eval " + path + ": cannot open");
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    const bool ok = j.is_object() && j.contains("points") && j["points"].is_array() && !j["points"].empty() &&
                    j.contains("best") && j["best"].is_number_unsigned() && j["best"].get<size_t>() < j["points"].size();
    if (!ok) throw Error("--eval " + path + ": not an `amr eval --json` file (points, and best indexing one of them)");
    for (const auto& p : j["points"])
      if (!p.is_object() || !p.contains("miou") || !p["miou"].is_number() || !p.contains("classes") ||
          !p["classes"].is_array())
        throw Error("--eval " + path + ": not an `amr eval --json` file (a point without miou / classes)");
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw Error("--eval " + path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

using NamedEvals = std::vector<std::pair<std::string, nlohmann::json>>;

const nlohmann::json& best_point(const nlohmann::json& eval) { return eval["points"][eval["best"].get<size_t>()]; }

NamedEvals read_evals(const ReportOptions& opt) {
  if (opt.evals.empty()) throw Error("--eval: at least one evaluation JSON");
  if (opt.out.empty()) throw Error("--out: required");
  NamedEvals evals;
  for (const auto& [name, path] : opt.evals) {
    std::error_code ec;
    if (std::filesystem::equivalent(path, opt.out, ec))
      throw Error("--out " + opt.out + ": is the input --eval " + path + " (an output never overwrites an input)");
    evals.emplace_back(name, read_json(path));
  }
  return evals;
}

std::string page_head(const std::string& title) {
  std::ostringstream h;
  h << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(title) << "</title><style>"
    << "body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1100px}"
    << "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    << "th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}.best{font-weight:bold}"
    << ".chart{margin:6px 12px 12px 0;border:1px solid #eee}.chart text{font-size:11px}.chart .t{font-size:13px;font-weight:bold}"
    << ".ax{stroke:#444}.grid{stroke:#eee}.grid2{display:flex;flex-wrap:wrap}.viz img{max-width:100%;border:1px solid #ddd;margin:4px 0}"
    << "</style></head><body><h1>" << esc(title) << "</h1>";
  return h.str();
}

// The fusion sweep of an evaluation (its points with a numeric xi), as amr eval summarizes it.
std::optional<FusionSummary> fusion_of(const nlohmann::json& eval) {
  std::vector<std::pair<double, double>> xi_miou;
  for (const auto& p : eval["points"])
    if (p.contains("xi") && p["xi"].is_number() && p["miou"].is_number())
      xi_miou.emplace_back(p["xi"].get<double>(), p["miou"].get<double>());
  return fusion_summary(xi_miou);
}

std::string alone_cell(const std::optional<FusionSummary>& f, bool spotlight) {
  const auto& v = f ? (spotlight ? f->spotlight_alone : f->compensation_alone) : std::nullopt;
  return "<td>" + (v ? pct(nlohmann::json(*v)) : std::string("&ndash;")) + "</td>";
}

// One sentence per run whose best CAM is one branch alone: the fusion did not help.
std::string fusion_notes(const NamedEvals& evals) {
  std::string h;
  for (const auto& [name, j] : evals)
    if (const auto f = fusion_of(j); f && f->one_branch_best()) h += "<p><b>" + esc(name) + "</b>: " + esc(f->sentence()) + "</p>";
  return h;
}

// The best point of each evaluation, the best run in bold.
std::string summary_table(const NamedEvals& evals) {
  std::ostringstream h;
  h << "<h2>mIoU</h2><table><tr><th>run</th><th>mIoU</th><th>background threshold</th><th>&xi;</th><th>pixel acc.</th>"
    << "<th>precision</th><th>recall</th><th>images</th><th>spotlight alone (&xi; 1)</th><th>compensation alone (&xi; 0)</th></tr>";
  size_t best_run = 0;
  for (size_t e = 0; e < evals.size(); ++e) {
    const auto& p = best_point(evals[e].second);
    if (p["miou"].is_number() && p["miou"].get<double>() > best_point(evals[best_run].second)["miou"].get<double>())
      best_run = e;
  }
  for (size_t e = 0; e < evals.size(); ++e) {
    const auto& j = evals[e].second;
    const auto& p = best_point(j);
    h << "<tr" << (e == best_run ? " class=\"best\"" : "") << "><td>" << esc(evals[e].first) << "</td><td>" << pct(p["miou"])
      << "</td><td>" << (j.value("has_background", true) ? std::to_string(p["threshold"].get<double>()).substr(0, 4) : "&ndash;")
      << "</td><td>" << (p.contains("xi") ? std::to_string(p["xi"].get<double>()).substr(0, 4) : "&ndash;") << "</td><td>"
      << pct(p["pixel_accuracy"]) << "</td><td>" << pct(p["mean_precision"]) << "</td><td>" << pct(p["mean_recall"])
      << "</td><td>" << j.value("images", 0) << "</td>" << alone_cell(fusion_of(j), true) << alone_cell(fusion_of(j), false)
      << "</tr>";
  }
  h << "</table>" << fusion_notes(evals);
  return h.str();
}

// Evaluations named RUN/STAGE (e.g. amr/cam, amr/ir-labels, amr/masks): one row per run, one
// column per stage in the order they first appear, each cell the stage's best mIoU. Nothing when
// no name has a '/'.
std::string pipeline_table(const NamedEvals& evals) {
  std::vector<std::string> runs, stages;
  std::map<std::pair<std::string, std::string>, std::string> cell;
  for (const auto& [name, j] : evals) {
    const auto slash = name.rfind('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == name.size()) continue;
    const std::string run = name.substr(0, slash), stage = name.substr(slash + 1);
    if (std::find(runs.begin(), runs.end(), run) == runs.end()) runs.push_back(run);
    if (std::find(stages.begin(), stages.end(), stage) == stages.end()) stages.push_back(stage);
    cell[{run, stage}] = pct(best_point(j)["miou"]);
  }
  if (runs.empty()) return "";
  std::ostringstream h;
  h << "<h2>Pipeline (mIoU per stage)</h2><table><tr><th>run</th>";
  for (const auto& s : stages) h << "<th>" << esc(s) << "</th>";
  h << "</tr>";
  for (const auto& r : runs) {
    h << "<tr><td>" << esc(r) << "</td>";
    for (const auto& s : stages) h << "<td>" << (cell.count({r, s}) ? cell[{r, s}] : "&ndash;") << "</td>";
    h << "</tr>";
  }
  h << "</table>";
  return h.str();
}

// Per-class table and bars at each evaluation's best point.
std::string per_class_section(const NamedEvals& evals) {
  std::ostringstream h;
  std::vector<std::string> names;
  NamedEvals best_points;
  for (const auto& [name, j] : evals) best_points.emplace_back(name, best_point(j));
  for (const auto& c : best_points[0].second["classes"]) names.push_back(c["class"].get<std::string>());
  h << "<h2>Per class</h2><table><tr><th>class</th>";
  for (const auto& [name, p] : best_points) h << "<th>" << esc(name) << " IoU</th>";
  h << "<th>" << esc(best_points[0].first) << " precision</th><th>recall</th><th>FP</th><th>FN</th></tr>";
  for (size_t k = 0; k < names.size(); ++k) {
    h << "<tr><td>" << esc(names[k]) << "</td>";
    for (const auto& [name, p] : best_points) h << "<td>" << (k < p["classes"].size() ? pct(p["classes"][k]["iou"]) : "") << "</td>";
    const auto& c = best_points[0].second["classes"][k];
    h << "<td>" << pct(c["precision"]) << "</td><td>" << pct(c["recall"]) << "</td><td>" << pct(c["fp"]) << "</td><td>"
      << pct(c["fn"]) << "</td></tr>";
  }
  h << "</table><div class=\"grid2\">" << iou_bars(names, best_points);
  return h.str();
}

// Threshold curves (at each run's best xi) and xi curves (at each run's best threshold).
std::string curves(const NamedEvals& evals) {
  std::vector<Series> thr, xi;
  for (size_t e = 0; e < evals.size(); ++e) {
    const auto& [name, j] = evals[e];
    const auto& b = best_point(j);
    const double bthr = b["threshold"].get<double>();
    Series st{name, {}, e}, sx{name, {}, e};
    for (const auto& p : j["points"]) {
      if (!p["miou"].is_number()) continue;
      if (p.contains("xi") == b.contains("xi") && (!b.contains("xi") || p["xi"] == b["xi"]))
        st.xy.emplace_back(p["threshold"].get<double>(), p["miou"].get<double>());
      if (p.contains("xi") && p["threshold"].get<double>() == bthr) sx.xy.emplace_back(p["xi"].get<double>(), p["miou"].get<double>());
    }
    if (st.xy.size() > 1) thr.push_back(st);
    if (sx.xy.size() > 1) xi.push_back(sx);
  }
  std::string h;
  if (!thr.empty()) h += line_chart("mIoU vs background threshold", "background threshold", thr);
  if (!xi.empty()) h += line_chart("mIoU vs xi (spotlight weight)", "xi", xi);
  return h + "</div>";
}

// The first max_images PNGs of the viz directory, embedded; each must be a PNG image.
std::string viz_section(const ReportOptions& opt) {
  if (!fs::is_directory(opt.viz_dir)) throw Error("--viz " + opt.viz_dir + ": not a directory");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(opt.viz_dir))
    if (e.path().extension() == ".png") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.size() > static_cast<size_t>(opt.max_images)) files.resize(static_cast<size_t>(opt.max_images));
  std::ostringstream h;
  h << "<h2>CAMs</h2><p>image | CAM per class | pseudo-label | ground truth</p><div class=\"viz\">";
  for (const auto& f : files) {
    const std::vector<char> bytes = read_file_bytes(f, "--viz image");
    check_png_image(f, bytes, "--viz image");
    h << "<div><img alt=\"" << esc(fs::path(f).stem().string()) << "\" src=\"data:image/png;base64,"
      << base64(std::string(bytes.begin(), bytes.end())) << "\"></div>";
  }
  h << "</div>";
  return h.str();
}

void write_report_unchecked(const ReportOptions& opt) {
  const NamedEvals evals = read_evals(opt);
  std::string html = page_head(opt.title) + pipeline_table(evals) + summary_table(evals) + per_class_section(evals) + curves(evals);
  if (!opt.viz_dir.empty()) html += viz_section(opt);
  write_text_atomically(opt.out, html + "</body></html>\n");
}

}  // namespace

void write_report(const ReportOptions& opt) {
  try {
    write_report_unchecked(opt);
  } catch (const nlohmann::json::exception& e) {
    throw Error("--eval: a file that is not an `amr eval --json` output (" + std::string(e.what()) + ")");
  }
}

}  // namespace amr

#include "amr/data/voc.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>
#include <unordered_map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "amr/base/error.h"
#include "amr/io/image_header.h"
#include "amr/io/png.h"

namespace fs = std::filesystem;

namespace amr {

std::string VocDataset::image_path(size_t i) const { return root + "/JPEGImages/" + ids[i] + ".jpg"; }
std::string VocDataset::mask_path(size_t i) const {
  return mask_dir.empty() ? std::string() : root + "/" + mask_dir + "/" + ids[i] + ".png";
}

std::vector<std::string> read_id_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("list " + path + ": cannot open");
  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream ss(line);
    std::string tok;
    if (!(ss >> tok)) continue;
    // IRN-style lines "JPEGImages/x.jpg SegmentationClass/x.png": keep the stem.
    ids.push_back(fs::path(tok).stem().string());
    if (!seen.insert(ids.back()).second)
      throw Error("list " + path + ": id '" + ids.back() + "' appears twice (line " + std::to_string(line_no) +
                  "; it would be counted twice)");
  }
  if (ids.empty()) throw Error("list " + path + ": no ids (empty list)");
  return ids;
}

namespace {

std::vector<std::string> read_classes(const std::string& root, bool* has_background) {
  const std::string path = root + "/classes.txt";
  std::ifstream in(path);
  if (!in) throw Error("--data " + root + ": no classes.txt (one class name per line)");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  *has_background = !names.empty() && (names[0] == "background" || names[0] == "_background_");
  if (*has_background) names.erase(names.begin());
  if (names.empty()) throw Error(path + ": no foreground classes");
  return names;
}

std::string resolve_list(const std::string& root, const std::string& list) {
  if (fs::exists(list)) return list;
  if (fs::exists(root + "/" + list)) return root + "/" + list;
  throw Error("--list " + list + ": no such file (looked as given and under " + root + ")");
}

std::unordered_map<std::string, std::vector<float>> read_cls_labels(const std::string& path, int64_t k) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open");
  std::unordered_map<std::string, std::vector<float>> labels;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ss(line);
    std::string id;
    if (!(ss >> id)) continue;
    std::vector<float> v;
    std::string tok;
    while (ss >> tok) {
      if (tok != "0" && tok != "1")
        throw Error(path + ":" + std::to_string(lineno) + ": expected 0 or 1, got '" + tok + "'");
      v.push_back(tok == "1" ? 1.f : 0.f);
    }
    if (static_cast<int64_t>(v.size()) != k)
      throw Error(path + ":" + std::to_string(lineno) + ": " + std::to_string(v.size()) + " labels for '" + id +
                  "', classes.txt has " + std::to_string(k) + " foreground classes");
    labels[id] = std::move(v);
  }
  return labels;
}

}  // namespace

namespace {

// libjpeg and libpng decode a cut file with a warning and grey or black rows: the end marker
// (JPEG EOI, PNG IEND) must be near the end of the file.
bool cut_short(const std::vector<uint8_t>& b) {
  auto has_near_end = [&b](std::initializer_list<uint8_t> marker, size_t window) {
    const size_t n = marker.size();
    const size_t from = b.size() > window ? b.size() - window : 0;
    for (size_t i = b.size() >= n ? b.size() - n + 1 : 0; i-- > from;)
      if (std::equal(marker.begin(), marker.end(), b.begin() + static_cast<std::ptrdiff_t>(i))) return true;
    return false;
  };
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return !has_near_end({0xFF, 0xD9}, 4096);
  if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return !has_near_end({'I', 'E', 'N', 'D'}, 64);
  return false;
}

}  // namespace

cv::Mat read_rgb(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error("image " + path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error("image " + path + ": cannot read");
  if (bytes.empty()) throw Error("image " + path + ": empty file");
  if (cut_short(bytes)) throw Error("image " + path + ": truncated (no end-of-image marker)");
  check_declared_image_size(path, bytes.data(), bytes.size(), "image");
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw Error("image " + path + ": cannot decode (" + one_line(e) + ")");
  }
  if (bgr.empty()) throw Error("image " + path + ": cannot decode (corrupt or not an image)");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat read_mask(const VocDataset& ds, size_t i) {
  const std::string path = ds.mask_path(i);
  cv::Mat mask = read_label_png(path);
  const int limit = ds.has_background ? static_cast<int>(ds.num_classes()) : static_cast<int>(ds.num_classes()) - 1;
  for (int y = 0; y < mask.rows; ++y) {
    const uint8_t* row = mask.ptr<uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x)
      if (row[x] != 255 && row[x] > limit)
        throw Error("mask " + path + ": value " + std::to_string(row[x]) + " at (" + std::to_string(x) + ", " +
                    std::to_string(y) + ") is neither 255 nor a class index (0.." + std::to_string(limit) + ")");
  }
  return mask;
}

std::vector<float> labels_from_mask(const cv::Mat& mask, const VocDataset& ds, double min_fraction) {
  std::vector<int64_t> count(256, 0);
  for (int y = 0; y < mask.rows; ++y) {
    const uint8_t* row = mask.ptr<uint8_t>(y);
    for (int x = 0; x < mask.cols; ++x) ++count[row[x]];
  }
  int64_t labelled = 0;
  for (int v = 0; v < 255; ++v) labelled += count[v];
  const double need = std::max(1.0, min_fraction * static_cast<double>(labelled));
  std::vector<float> labels(static_cast<size_t>(ds.num_classes()), 0.f);
  for (int64_t k = 0; k < ds.num_classes(); ++k)
    if (static_cast<double>(count[ds.mask_value(k)]) >= need) labels[k] = 1.f;
  return labels;
}

VocDataset open_voc(const DatasetOptions& opt) {
  VocDataset ds;
  ds.root = opt.root;
  if (!fs::is_directory(opt.root)) throw Error("--data " + opt.root + ": not a directory");
  ds.classes = read_classes(opt.root, &ds.has_background);
  for (const char* dir : {"SegmentationClassAug", "SegmentationClass"})
    if (fs::is_directory(opt.root + "/" + dir)) {
      ds.mask_dir = dir;
      break;
    }
  std::vector<std::string> ids = read_id_list(resolve_list(opt.root, opt.list));
  const bool from_masks = opt.labels_from_masks || !fs::exists(opt.root + "/cls_labels.txt");
  if ((from_masks || opt.require_masks) && ds.mask_dir.empty())
    throw Error("--data " + opt.root + ": no cls_labels.txt and no SegmentationClass[Aug]/ to derive labels from");
  std::unordered_map<std::string, std::vector<float>> cls;
  if (!from_masks && opt.load_labels) cls = read_cls_labels(opt.root + "/cls_labels.txt", ds.num_classes());

  for (const auto& id : ids) {
    ds.ids.push_back(id);
    const size_t i = ds.ids.size() - 1;
    try {
      if (opt.require_images && !fs::exists(ds.image_path(i)))
        throw Error("image " + ds.image_path(i) + ": no such file");
      if (from_masks || opt.require_masks) {
        if (!fs::exists(ds.mask_path(i))) throw Error("mask " + ds.mask_path(i) + ": no such file");
      }
      if (!opt.load_labels) {
        ds.labels.emplace_back(static_cast<size_t>(ds.num_classes()), 0.f);
      } else if (from_masks) {
        ds.labels.push_back(labels_from_mask(read_mask(ds, i), ds, opt.label_min_fraction));
      } else {
        auto it = cls.find(id);
        if (it == cls.end()) throw Error(opt.root + "/cls_labels.txt: no labels for id '" + id + "'");
        ds.labels.push_back(it->second);
      }
    } catch (const Error&) {
      if (!opt.skip_bad) throw;
      ds.ids.pop_back();
      ++ds.skipped;
    }
  }
  if (ds.ids.empty()) throw Error("--list " + opt.list + ": no usable ids");
  return ds;
}

namespace {
void refuse_output_inside(const std::string& out, const std::string& root, const std::string& mask_dir,
                          const std::string& flag) {
  std::error_code ec;
  const fs::path o = fs::weakly_canonical(fs::absolute(out), ec);
  if (ec) return;  // not resolvable: the write itself will fail, naming the flag
  std::vector<std::string> folders = {"JPEGImages", "SegmentationClass", "SegmentationClassAug", "SegmentationPart"};
  if (!mask_dir.empty()) folders.push_back(mask_dir);
  for (const auto& name : folders) {
    const fs::path dir = fs::path(root) / name;
    if (!fs::is_directory(dir)) continue;
    const fs::path d = fs::canonical(dir, ec);
    if (ec) continue;
    auto rel = o.lexically_relative(d);
    if (o == d || (!rel.empty() && *rel.begin() != ".."))
      throw Error(flag + " " + out + ": inside the data set's " + name + "/ (it would overwrite it); choose another directory");
  }
}
}  // namespace

void refuse_output_inside_dataset(const std::string& out, const VocDataset& ds, const std::string& flag) {
  refuse_output_inside(out, ds.root, ds.mask_dir, flag);
}

void refuse_output_inside_data_root(const std::string& out, const std::string& root, const std::string& flag) {
  refuse_output_inside(out, root, "", flag);
}

}  // namespace amr

#include "amr/seg/segment.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/base/progress.h"
#include "amr/base/torch_compat.h"
#include "amr/base/text.h"
#include "amr/data/voc.h"
#include "amr/io/npz.h"
#include "amr/io/png.h"
#include "amr/model/deeplab_file.h"
#include "amr/seg/seg_data.h"

namespace fs = std::filesystem;

namespace amr {
namespace {

constexpr EnumNames<SegFusion, 2> kFusions{{{SegFusion::Max, "max"}, {SegFusion::Mean, "mean"}}};

std::vector<double> scales_of(const SegNetImpl& net, const SegmentOptions& opt) {
  if (!opt.scales.empty()) return opt.scales;
  std::vector<double> s{1.0};
  s.insert(s.end(), net.options().msc_scales.begin(), net.options().msc_scales.end());
  return s;
}

// The fused logits at the size of the first scale's output (the reference's MSC fuses at the
// full-size logits; the image and its mirror run as one batch of two).
at::Tensor fused_logits(SegNetImpl& net, const at::Tensor& x, const SegmentOptions& opt) {
  at::Tensor fused;
  int64_t h = 0, w = 0, n = 0;
  for (double s : scales_of(net, opt)) {
    at::Tensor in = s == 1.0 ? x : rescale_bilinear(x, s);
    if (opt.flip) in = at::cat({in, in.flip({3})});
    if (opt.channels_last) in = in.contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor l = net.base->forward(in);
    if (opt.flip) l = at::cat({l.narrow(0, 0, 1), l.narrow(0, 1, 1).flip({3})});
    if (n == 0) h = l.size(2), w = l.size(3);
    else l = resize_bilinear(l, h, w);
    for (int64_t k = 0; k < l.size(0); ++k, ++n) {
      const at::Tensor one = l.narrow(0, k, 1);
      if (!fused.defined()) fused = one.clone();
      else if (opt.fusion == SegFusion::Max) fused = at::max(fused, one);
      else fused.add_(one);
    }
  }
  return opt.fusion == SegFusion::Mean ? fused / static_cast<double>(n) : fused;
}

struct Item {
  std::string name, image;
};

// A folder's file is checked before any work: JPEG (FF D8 FF) or PNG (89 'PNG') bytes.
void require_image_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char head[4] = {0, 0, 0, 0};
  f.read(reinterpret_cast<char*>(head), 4);
  const bool jpeg = head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
  const bool png = head[0] == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G';
  if (!jpeg && !png) throw Error("--images " + path + ": not a JPEG or PNG image");
}

// The images to segment; `classes` is set to the data set's class count (a VOC list).
std::vector<Item> items_of(const SegmentRun& run, int64_t& classes) {
  std::vector<Item> items;
  if (!run.images.empty()) {
    if (!fs::is_directory(run.images)) throw Error("--images " + run.images + ": not a directory");
    if (fs::exists(run.out) && fs::equivalent(run.out, run.images))
      throw Error("--out " + run.out + ": the images' own folder (outputs never overwrite inputs)");
    for (const auto& e : fs::directory_iterator(run.images)) {
      std::string ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (e.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png")) items.push_back({e.path().stem().string(), e.path().string()});
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.name < b.name; });
    if (items.empty()) throw Error("--images " + run.images + ": no .jpg, .jpeg or .png file");
    for (const Item& item : items) require_image_bytes(item.image);
    return items;
  }
  DatasetOptions d;
  d.root = run.data, d.list = run.list, d.load_labels = false;
  const VocDataset ds = open_voc(d);
  refuse_output_inside_dataset(run.out, ds, "--out");
  classes = segmentation_classes(ds);
  for (size_t i = 0; i < ds.ids.size(); ++i) items.push_back({ds.ids[i], ds.image_path(i)});
  return items;
}

}  // namespace

SegFusion parse_seg_fusion(const std::string& s) { return parse_enum(kFusions, s, "--fusion"); }
std::string to_string(SegFusion f) { return enum_name(kFusions, f); }

CrfOptions reference_test_crf() {
  CrfOptions o;
  o.iterations = 10;
  o.gauss_sxy = 1, o.gauss_compat = 3;
  o.bi_sxy = 67, o.bi_srgb = 3, o.bi_compat = 4;
  return o;
}

at::Tensor segment_image(SegNetImpl& net, const cv::Mat& rgb, const SegmentOptions& opt, const c10::Device& device) {
  c10::InferenceMode guard;
  const at::Tensor x = seg_input(rgb, net.options().input).unsqueeze(0).to(device);
  at::Tensor fused;
  {
    compat::Bf16AutocastScope autocast(device.type(), opt.bf16);
    fused = fused_logits(net, x, opt);
  }
  const at::Tensor logits = resize_bilinear(fused.to(at::kFloat), rgb.rows, rgb.cols);
  at::Tensor probs = at::softmax(logits, 1)[0].to(at::kCPU).contiguous();
  if (!opt.crf) return probs;
  const int classes = static_cast<int>(probs.size(0));
  const at::Tensor unary = -probs.clamp_min(1e-8).log();  // pydensecrf's unary_from_softmax
  std::vector<float> u(unary.data_ptr<float>(), unary.data_ptr<float>() + unary.numel());
  std::vector<float> q = dense_crf(rgb, u, classes, opt.crf_options);
  return at::from_blob(q.data(), probs.sizes(), at::kFloat).clone();
}

cv::Mat argmax_labels(const at::Tensor& probabilities) {
  const at::Tensor idx = probabilities.argmax(0).to(at::kByte).contiguous();
  cv::Mat out(static_cast<int>(idx.size(0)), static_cast<int>(idx.size(1)), CV_8UC1);
  std::copy(idx.data_ptr<uint8_t>(), idx.data_ptr<uint8_t>() + idx.numel(), out.ptr<uint8_t>());
  return out;
}

SegmentSummary run_segment(const SegmentRun& run, const Runtime& rt) {
  if (run.images.empty() == run.data.empty()) throw Error("segment: give either --images DIR or --data ROOT (with --list)");
  if (run.out.empty()) throw Error("--out: the output directory is required");
  for (double s : run.options.scales)
    if (!(s > 0 && s <= 4)) throw Error("--scales: each scale must be in (0, 4], got " + shortest_double(s));
  if (run.options.bf16 && !rt.device.is_cuda() && !cpu_has_native_bf16())
    throw Error("--precision bf16: this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16 in /proc/cpuinfo); use fp32");
  int64_t data_classes = 0;
  const std::vector<Item> items = items_of(run, data_classes);
  if (run.num_classes_or_0 > 0 && data_classes > 0 && run.num_classes_or_0 != data_classes)
    throw Error("--classes " + std::to_string(run.num_classes_or_0) + ": the data set has " + std::to_string(data_classes) + " classes");
  const c10::Device device = torch_device(rt.device);
  SegNet net = load_seg_model(run.model, run.fallback, run.num_classes_or_0 > 0 ? run.num_classes_or_0 : data_classes);
  net->to(device);
  net->fold_batchnorm();
  SegmentOptions options = run.options;
  options.channels_last = true;
  net->use_channels_last();
  fs::create_directories(run.out + (run.probabilities ? "/probs" : ""));
  SegmentSummary s;
  double timed = 0;
  size_t counted = 0;
  Progress progress(static_cast<int64_t>(items.size()), run.quiet, 20);
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string png = run.out + "/" + items[i].name + ".png";
    if (run.resume && label_png_done(png, items[i].image) && (!run.probabilities || fs::exists(run.out + "/probs/" + items[i].name + ".npz"))) {
      ++s.skipped;
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor probs = segment_image(*net, read_rgb(items[i].image), options, device);
    if (run.probabilities) write_npz(run.out + "/probs/" + items[i].name + ".npz", {{"probs", probs}});
    write_label_png(png, argmax_labels(probs));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s.written > 0 || items.size() == 1) timed += seconds, ++counted;
    ++s.written;
    progress.update(static_cast<int64_t>(i + 1), "segment " + items[i].name);
  }
  progress.end_line();
  s.seconds_per_image = counted > 0 ? timed / static_cast<double>(counted) : 0.0;
  return s;
}

}  // namespace amr

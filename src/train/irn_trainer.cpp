#include "amr/train/irn_trainer.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/types.h>
#include <torch/utils.h>

#include "amr/base/error.h"
#include "amr/base/parallel.h"
#include "amr/base/progress.h"
#include "amr/base/text.h"
#include "amr/data/transforms.h"
#include "amr/data/voc.h"
#include "amr/io/atomic_file.h"
#include "amr/io/png.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/irn/affinity_loss.h"
#include "amr/irn/path_index.h"
#include "amr/model/irn_net.h"
#include "amr/train/irn_step.h"
#include "amr/train/resume_file.h"
#include "amr/train/run_dir.h"

namespace fs = std::filesystem;

namespace amr {
namespace {

// Backbone tensors of a torchvision .pth, an amr model (its spotlight) or an IRN model.
NamedTensors backbone_tensors(const std::string& path) {
  NamedTensors out;
  for (const auto& [k, v] : read_pth(path)) {
    if (starts_with(k, "spotlight.")) out.emplace_back(k.substr(10), v);
    else if (starts_with(k, "resnet50.")) out.emplace_back(k.substr(9), v);
    else if (!starts_with(k, "fc.") && (starts_with(k, "conv1.") || starts_with(k, "bn1.") || starts_with(k, "layer"))) out.emplace_back(k, v);
  }
  if (out.empty()) throw Error("init " + path + ": no backbone tensors (expected torchvision, amr model or IRN keys)");
  return out;
}

VocDataset open_irn_list(const IrnTrainConfig& c, const std::string& list) {
  DatasetOptions d;
  d.root = c.data;
  d.list = list;
  d.load_labels = false;
  return open_voc(d);
}

struct IrnBatch {
  at::Tensor images;        // [B, 3, crop, crop]
  AffinityLabels labels;    // [B, directions, sources]
};

at::Tensor reduced_label_of(const VocDataset& ds, size_t i, const IrnTrainConfig& c, SampleRng& rng, at::Tensor* image) {
  const std::string label_path = c.labels + "/" + ds.ids[i] + ".png";
  if (!fs::exists(label_path)) throw Error("labels: missing IR label " + label_path + " (write them with amr label --fg --bg --crf)");
  const cv::Mat rgb = read_rgb(ds.image_path(i));
  const cv::Mat label = read_label_png(label_path);
  if (label.size() != rgb.size())
    throw Error(label_path + ": IR label of " + std::to_string(label.cols) + "x" + std::to_string(label.rows) + ", image " +
                ds.image_path(i) + " is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows));
  AugmentOptions a;
  a.scale_min = c.scale_min, a.scale_max = c.scale_max, a.hflip = true, a.crop = c.crop;
  const Augmented aug = augment(rgb, label, a, rng);
  *image = to_normalized_tensor(aug.image, aug.valid);
  const at::Tensor mask = torch::from_blob(const_cast<uint8_t*>(aug.mask.ptr<uint8_t>()), {aug.mask.rows, aug.mask.cols}, at::kByte);
  return reduce_label(mask.clone());
}

IrnBatch load_batch(const VocDataset& ds, const std::vector<int64_t>& order, int64_t first, const IrnTrainConfig& c, int64_t epoch,
                    const PathIndices& index, int threads) {
  std::vector<at::Tensor> images(static_cast<size_t>(c.batch)), reduced(static_cast<size_t>(c.batch));
  parallel_for(static_cast<size_t>(c.batch), std::max<int>(1, std::min<int>(threads, static_cast<int>(c.workers))), [&](size_t b, int) {
    const int64_t position = first + static_cast<int64_t>(b);
    SampleRng rng(static_cast<uint64_t>(c.seed), static_cast<uint64_t>(epoch), static_cast<uint64_t>(position));
    reduced[b] = reduced_label_of(ds, static_cast<size_t>(order[static_cast<size_t>(position)]), c, rng, &images[b]);
  });
  return {at::stack(images), affinity_labels(at::stack(reduced), index)};
}

std::vector<int64_t> epoch_order(size_t n, int64_t seed, int64_t epoch) {
  std::vector<int64_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<int64_t>(i);
  std::mt19937_64 gen(static_cast<uint64_t>(seed) * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), gen);
  return order;
}

// mean_shift: the mean displacement over the infer list, top-left crops (train_irn.py), per
// batch of `batch` images with the last incomplete batch dropped (as its DataLoader), then
// averaged over batches.
void set_mean_shift(IrnNetImpl& net, const IrnTrainConfig& c, const c10::Device& device) {
  const VocDataset ds = open_irn_list(c, c.infer_list.empty() ? c.list : c.infer_list);
  net.eval();
  net.mean_shift_running_mean.zero_();
  c10::InferenceMode guard;
  std::vector<at::Tensor> batch_means, images;
  const size_t per_batch = std::min(static_cast<size_t>(c.batch), ds.ids.size());
  for (size_t i = 0; i < ds.ids.size(); ++i) {
    const cv::Mat rgb = read_rgb(ds.image_path(i));
    const at::Tensor x = to_normalized_tensor(rgb);
    const int64_t h = std::min<int64_t>(c.crop, x.size(1)), w = std::min<int64_t>(c.crop, x.size(2));
    at::Tensor canvas = at::zeros({3, c.crop, c.crop});
    canvas.slice(1, 0, h).slice(2, 0, w).copy_(x.slice(1, 0, h).slice(2, 0, w));
    images.push_back(canvas);
    if (images.size() < per_batch) continue;
    const IrnFeatures f = net.features(at::stack(images).to(device));
    batch_means.push_back(net.displacement(f).mean({0, 2, 3}).to(at::kCPU));
    images.clear();
  }
  net.mean_shift_running_mean.copy_(at::stack(batch_means).mean(0));
}

}  // namespace

namespace {

void log_step(RunDir& run, const AffinityLossTerms& t, int64_t epoch, int64_t step, double lr) {
  run.log({{"type", "step"},
           {"epoch", epoch + 1},
           {"step", step},
           {"lr", lr},
           {"pos_aff", t.pos_aff_loss.item<double>()},
           {"neg_aff", t.neg_aff_loss.item<double>()},
           {"dp_fg", t.dp_fg_loss.item<double>()},
           {"dp_bg", t.dp_bg_loss.item<double>()},
           {"loss", t.total.item<double>()}});
}

}  // namespace

IrnTrainSummary train_irn(const IrnTrainConfig& c, const IrnRunOptions& opt, const Runtime& rt) {
  validate(c);
  const std::string& out = opt.out;
  const bool resume = opt.resume;
  const VocDataset ds = open_irn_list(c, c.list);
  refuse_output_inside_dataset(out, ds, "--out");
  const int64_t per_epoch = static_cast<int64_t>(ds.ids.size()) / c.batch;
  if (per_epoch < 1)
    throw Error("list " + c.list + ": " + std::to_string(ds.ids.size()) + " ids, fewer than one batch of " + std::to_string(c.batch));
  RunDir run(out, resume);
  const c10::Device device = torch_device(rt.device);
  IrnNetOptions no;
  no.arch = c.arch, no.crop = c.crop;
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  IrnNet net(no);
  if (!c.init.empty()) load_state_dict(*net->resnet50, backbone_tensors(c.init), /*strict=*/true, "init " + c.init);
  net->to(device);
  const int64_t max_step = per_epoch * c.epochs;
  PolySgd sgd(irn_param_groups(*net, c.lr, c.weight_decay), c.momentum, c.poly_power, max_step);
  sgd.to(device);
  int64_t epoch0 = 0;
  if (resume) epoch0 = load_resume_file(run.last_checkpoint(), *net, sgd, "epochs_done", "an IRN");
  write_text_atomically(out + "/config.yaml", irn_config_yaml(c));
  run.open_log(resume, epoch0 * per_epoch);
  const PathIndices index = path_indices(c.radius, c.crop / 4, c.crop / 4);
  Progress progress(max_step, opt.quiet, 20);
  IrnTrainSummary s;
  const int64_t stop = opt.stop_after_epochs > 0 ? std::min(c.epochs, epoch0 + opt.stop_after_epochs) : c.epochs;
  for (int64_t epoch = epoch0; epoch < stop; ++epoch) {
    const std::vector<int64_t> order = epoch_order(ds.ids.size(), c.seed, epoch);
    net->train();
    for (int64_t b = 0; b < per_epoch; ++b) {
      const int64_t step = epoch * per_epoch + b;
      const IrnBatch batch = load_batch(ds, order, b * c.batch, c, epoch, index, rt.threads);
      const IrnFeatures f = net->features(batch.images.to(device));
      AffinityLabels labels{batch.labels.bg_pos.to(device), batch.labels.fg_pos.to(device), batch.labels.neg.to(device)};
      const AffinityLossTerms t = affinity_displacement_loss(net->edge(f), net->displacement(f), labels, index);
      sgd.zero_grad();
      t.total.backward();
      sgd.step(step);
      s.last_loss = t.total.item<double>();
      if (!std::isfinite(s.last_loss)) throw Error("IRN training diverged at step " + std::to_string(step + 1) + " (loss " + shortest_double(s.last_loss) + "); lower lr");
      log_step(run, t, epoch, step + 1, sgd.lr(0, step));
      progress.update(step + 1, "irn epoch " + std::to_string(epoch + 1) + "/" + std::to_string(c.epochs) + " loss " + shortest_double(s.last_loss));
    }
    save_resume_file(run.last_checkpoint(), *net, sgd, "epochs_done", epoch + 1);  // last.pt
    run.log({{"type", "epoch"}, {"epoch", epoch + 1}, {"loss", s.last_loss}});
  }
  progress.end_line();
  s.steps = stop * per_epoch;
  if (stop < c.epochs) return s;
  set_mean_shift(*net, c, device);
  s.model = out + "/model.pt";
  write_pth(s.model, state_dict(*net));
  run.log({{"type", "mean_shift"}, {"mean", {net->mean_shift_running_mean[0].item<double>(), net->mean_shift_running_mean[1].item<double>()}}});
  s.finished = true;
  return s;
}

}  // namespace amr

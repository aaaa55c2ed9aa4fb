#include "amr/seg/seg_trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "amr/base/error.h"
#include "amr/base/parallel.h"
#include "amr/base/progress.h"
#include "amr/base/text.h"
#include "amr/data/transforms.h"
#include "amr/data/voc.h"
#include "amr/distributed/gradients.h"
#include "amr/eval/segmentation.h"
#include "amr/io/atomic_file.h"
#include "amr/io/pth.h"
#include "amr/io/weights.h"
#include "amr/model/deeplab_file.h"
#include "amr/seg/seg_data.h"
#include "amr/seg/seg_loss.h"
#include "amr/seg/seg_step.h"
#include "amr/seg/segment.h"
#include "amr/train/data_parallel.h"
#include "amr/train/resume_file.h"
#include "amr/train/run_dir.h"

namespace fs = std::filesystem;

namespace amr {
namespace {

// The training ids, their masks checked up front (a bad mask is an error before any training).
struct TrainingSet {
  VocDataset ds;
  int64_t classes = 0;
  at::Tensor class_weights;  // defined for the balanced loss
};

TrainingSet open_training_set(const SegTrainConfig& c) {
  DatasetOptions d;
  d.root = c.data, d.list = c.list, d.load_labels = false;
  TrainingSet t;
  t.ds = open_voc(d);
  t.classes = segmentation_classes(t.ds);
  if (!c.masks.empty()) {
    if (!fs::is_directory(c.masks)) throw Error("masks " + c.masks + ": not a directory");
    bool any = false;
    for (const auto& e : fs::directory_iterator(c.masks)) any = any || e.path().extension() == ".png";
    if (!any) throw Error("masks " + c.masks + ": no .png masks (expected <id>.png from amr masks, amr label or ground truth)");
  }
  std::vector<cv::Mat> masks;
  for (size_t i = 0; i < t.ds.ids.size(); ++i) {
    cv::Mat m = read_training_mask(c.masks, t.ds, i, read_rgb(t.ds.image_path(i)).size(), t.classes);
    if (c.loss == SegLoss::BalancedCrossEntropy) masks.push_back(m);
  }
  if (c.loss == SegLoss::BalancedCrossEntropy) t.class_weights = median_frequency_weights(mask_class_counts(masks, t.classes));
  return t;
}

// Sample g of the run (g = (iteration x iter_size + sub-batch) x batch + element): epoch g / N,
// position g % N of that epoch's permutation.
class SampleOrder {
 public:
  SampleOrder(size_t n, int64_t seed) : n_(n), seed_(seed) {}
  size_t id_of(int64_t g) {
    const int64_t epoch = g / static_cast<int64_t>(n_);
    auto it = orders_.find(epoch);
    if (it == orders_.end()) {
      if (orders_.size() > 4) orders_.clear();
      std::vector<size_t> order(n_);
      for (size_t i = 0; i < n_; ++i) order[i] = i;
      std::mt19937_64 gen(static_cast<uint64_t>(seed_) * 1000003ULL + static_cast<uint64_t>(epoch));
      std::shuffle(order.begin(), order.end(), gen);
      it = orders_.emplace(epoch, std::move(order)).first;
    }
    return it->second[static_cast<size_t>(g % static_cast<int64_t>(n_))];
  }

 private:
  size_t n_;
  int64_t seed_;
  std::map<int64_t, std::vector<size_t>> orders_;
};

SegBatch load_sub_batch(const TrainingSet& t, const SegTrainConfig& c, SampleOrder& order, int64_t first, int threads) {
  std::vector<size_t> ids(static_cast<size_t>(c.batch));
  for (int64_t b = 0; b < c.batch; ++b) ids[static_cast<size_t>(b)] = order.id_of(first + b);
  std::vector<SegSample> samples(ids.size());
  parallel_for(ids.size(), std::max<int>(1, std::min<int>(threads, static_cast<int>(c.workers))), [&](size_t b, int) {
    const int64_t g = first + static_cast<int64_t>(b);
    SampleRng rng(static_cast<uint64_t>(c.seed), static_cast<uint64_t>(g / static_cast<int64_t>(t.ds.ids.size())), static_cast<uint64_t>(g));
    const cv::Mat rgb = read_rgb(t.ds.image_path(ids[b]));
    samples[b] = augment_for_segmentation(rgb, read_training_mask(c.masks, t.ds, ids[b], rgb.size(), t.classes), c, rng);
  });
  std::vector<at::Tensor> images, labels;
  for (auto& s : samples) images.push_back(s.image), labels.push_back(s.label);
  return {at::stack(images), at::stack(labels)};
}

// Single-scale mIoU on the validation list's ground truth, the ids shared by the ranks.
double validation_miou(SegNetImpl& net, const SegTrainConfig& c, const World& world, const c10::Device& device) {
  DatasetOptions d;
  d.root = c.data, d.list = c.val_list, d.load_labels = false, d.require_masks = true;
  const VocDataset ds = open_voc(d);
  const int classes = static_cast<int>(segmentation_classes(ds));
  SegmentOptions single;
  single.scales = {1.0};
  net.eval();
  Confusion confusion(classes);
  for (size_t i = static_cast<size_t>(world.rank()); i < ds.ids.size(); i += static_cast<size_t>(world.size()))
    confusion.add(argmax_labels(segment_image(net, read_rgb(ds.image_path(i)), single, device)), read_mask(ds, i));
  net.train();
  at::Tensor counts = at::zeros({classes, classes + 1}, at::kLong);
  for (int g = 0; g < classes; ++g) {
    for (int p = 0; p < classes; ++p) counts[g][p] = confusion.at(g, p);
    counts[g][classes] = confusion.none(g);
  }
  world.all_reduce_sum(counts, "validation confusion");
  Confusion total(classes);
  for (int g = 0; g < classes; ++g)
    for (int p = 0; p <= classes; ++p) total.add_count(g, p, counts[g][p].item<int64_t>());
  return segmentation_metrics(total, segmentation_class_names(ds)).miou;
}

}  // namespace

SegTrainSummary train_segmentation(const SegTrainConfig& c, const SegRunOptions& opt, const Runtime& rt) {
  validate(c);
  refuse_output_inside_data_root(opt.out, c.data, "--out");
  const TrainingSet t = open_training_set(c);
  const c10::Device device = torch_device(rt.device, opt.world.local_rank);
  World world(opt.world, device);
  if (c.iter_size % world.size() != 0)
    throw Error("iter_size " + std::to_string(c.iter_size) + ": must be a multiple of the world size " + std::to_string(world.size()) +
                " (each rank computes iter_size / world_size sub-batches)");
  world.agree("seg-config", seg_config_yaml(c), "the segmentation config");
  RunDir run(opt.out, opt.resume, world.is_root());
  DeepLabOptions mo = c.model;
  mo.num_classes = t.classes;
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  SegNet net(mo);
  if (!c.init.empty()) load_seg_init(*net, c.init, "init");
  net->to(device);
  net->train();
  PolySgd sgd = seg_optimizer(*net, c);
  sgd.to(device);
  Position pos;
  if (opt.resume && world.is_root()) pos.step = load_resume_file(run.last_checkpoint(), *net, sgd, "iterations", "a segmentation");
  share_root_state(world, *net, sgd, pos);
  if (run.writer()) write_text_atomically(opt.out + "/config.yaml", seg_config_yaml(c));
  run.open_log(opt.resume, pos.step);
  SegTrainSummary s;
  s.iterations = pos.step;
  std::vector<at::Tensor> params;
  for (const auto& p : net->parameters())
    if (p.requires_grad()) params.push_back(p);
  GradientAverager averager(params);
  SampleOrder order(t.ds.ids.size(), c.seed);
  const at::Tensor weights = t.class_weights.defined() ? t.class_weights.to(device) : at::Tensor();
  const int64_t local = c.iter_size / world.size();
  const int64_t stop = opt.stop_after > 0 ? std::min(c.iterations, pos.step + opt.stop_after) : c.iterations;
  Progress progress(c.iterations, opt.quiet || !world.is_root(), 20);
  for (int64_t it = pos.step; it < stop; ++it) {
    std::vector<SegBatch> subs;
    for (int64_t k = world.rank(); k < c.iter_size; k += world.size()) {
      SegBatch b = load_sub_batch(t, c, order, (it * c.iter_size + k) * c.batch, rt.threads);
      subs.push_back({b.images.to(device), b.labels.to(device)});
    }
    sgd.zero_grad();
    std::vector<double> loss{accumulate_seg_gradients(*net, subs, static_cast<double>(local), weights)};
    averager.average(world, loss);
    s.last_loss = loss[0] / world.size();
    if (!std::isfinite(s.last_loss))
      throw Error("segmentation training diverged at iteration " + std::to_string(it + 1) + " (loss " + shortest_double(s.last_loss) + "); lower lr");
    sgd.step(it);
    s.iterations = it + 1;
    run.log({{"type", "step"}, {"iteration", it + 1}, {"lr", sgd.lr(0, it)}, {"loss", s.last_loss}});
    progress.update(it + 1, "seg iteration " + std::to_string(it + 1) + "/" + std::to_string(c.iterations) + " loss " + shortest_double(s.last_loss));
    const bool last = it + 1 == c.iterations;
    if (!c.val_list.empty() && ((c.val_every > 0 && (it + 1) % c.val_every == 0) || last)) {
      s.val_miou = validation_miou(*net, c, world, device);
      run.log({{"type", "val"}, {"iteration", it + 1}, {"miou", s.val_miou}});
    }
    if (run.writer() && ((it + 1) % c.save_every == 0 || it + 1 == stop)) save_resume_file(run.last_checkpoint(), *net, sgd, "iterations", it + 1);
  }
  progress.end_line();
  if (s.iterations < c.iterations) return s;
  s.model = opt.out + "/model.pt";
  net->eval();
  if (run.writer()) save_seg_model(s.model, *net);
  world.barrier("model.pt written");
  s.finished = true;
  return s;
}

}  // namespace amr

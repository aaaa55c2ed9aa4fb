#include "amr/data/loader.h"

#include <torch/torch.h>

#include <algorithm>
#include <iostream>
#include <numeric>

#include "amr/base/error.h"
#include "amr/io/png.h"

namespace amr {

BatchLoader::BatchLoader(const VocDataset& ds, LoaderOptions opt) : ds_(ds), opt_(std::move(opt)) {
  if (opt_.batch < 1) throw Error("--batch: expected at least 1");
  if (opt_.world_size < 1 || opt_.rank < 0 || opt_.rank >= opt_.world_size)
    throw Error("rank " + std::to_string(opt_.rank) + ": expected 0 <= rank < world size " + std::to_string(opt_.world_size));
  if (opt_.crop_labels && ds_.mask_dir.empty())
    throw Error("--labels-from-masks: dataset " + ds_.root + " has no masks");
  for (int w = 0; w < opt_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

BatchLoader::~BatchLoader() { stop_workers(); }

void BatchLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

int64_t BatchLoader::batches_per_epoch() const {
  const auto n = static_cast<int64_t>(ds_.ids.size());
  const int64_t global = opt_.batch * opt_.world_size;
  return opt_.drop_last ? n / global : (n + global - 1) / global;
}

int64_t BatchLoader::samples_consumed() const {
  if (consumed_ >= static_cast<int64_t>(plan_.size())) return static_cast<int64_t>(order_.size());
  const int64_t global = opt_.batch * opt_.world_size;
  const int64_t next = plan_[static_cast<size_t>(consumed_)];
  return opt_.world_size == 1 ? next : next / global * global;
}

void BatchLoader::start_epoch(int64_t epoch, int64_t skip_samples) {
  std::lock_guard<std::mutex> lock(mu_);
  order_.resize(ds_.ids.size());
  std::iota(order_.begin(), order_.end(), 0);
  if (opt_.shuffle) {
    SampleRng rng(opt_.seed, static_cast<uint64_t>(epoch), ~uint64_t(0));
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.integer(0, static_cast<int64_t>(i) - 1)]);
  }
  const auto n = static_cast<int64_t>(order_.size());
  const int64_t global = opt_.batch * opt_.world_size;
  const int64_t end = opt_.world_size > 1 && opt_.drop_last ? n / global * global : n;
  plan_.clear();
  for (int64_t p = 0; p < end; ++p)
    if ((p / opt_.batch) % opt_.world_size == opt_.rank) plan_.push_back(p);
  epoch_ = epoch;
  ++generation_;
  next_take_ = consumed_ =
      std::lower_bound(plan_.begin(), plan_.end(), std::max<int64_t>(skip_samples, 0)) - plan_.begin();
  ready_.clear();
  work_cv_.notify_all();
}

BatchLoader::Item BatchLoader::load(int64_t position, size_t i, int64_t epoch) const {
  Item item;
  try {
    SampleRng rng(opt_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(position));
    cv::Mat rgb = read_rgb(ds_.image_path(i));
    cv::Mat mask;
    if (opt_.crop_labels) {
      mask = read_mask(ds_, i);
      if (mask.size() != rgb.size())
        throw Error("mask " + ds_.mask_path(i) + ": size " + std::to_string(mask.cols) + "x" + std::to_string(mask.rows) +
                    " differs from its image's " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows));
    }
    Augmented a = augment(rgb, mask, opt_.augment, rng);
    item.image = to_normalized_tensor(a.image, a.valid);
    apply_cutout(item.image, opt_.cutout, opt_.cutout_boxes, rng);
    std::vector<float> labels = opt_.crop_labels ? labels_from_mask(a.mask, ds_, opt_.label_min_fraction) : ds_.labels[i];
    item.labels = torch::tensor(labels, torch::kFloat32);
  } catch (const std::exception& e) {
    item.error = e.what();
  }
  return item;
}

void BatchLoader::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const int64_t capacity = opt_.batch * opt_.prefetch_batches;
    work_cv_.wait(lock, [&] {
      return stop_ || (next_take_ < static_cast<int64_t>(plan_.size()) && next_take_ < consumed_ + capacity);
    });
    if (stop_) return;
    const int64_t taken = next_take_++;
    const int64_t pos = plan_[static_cast<size_t>(taken)];
    const uint64_t gen = generation_;
    const auto i = static_cast<size_t>(order_[pos]);
    const int64_t epoch = epoch_;
    lock.unlock();
    Item item = load(pos, i, epoch);
    lock.lock();
    if (gen != generation_) continue;  // a new epoch started meanwhile
    ready_[taken] = std::move(item);
    ready_cv_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  Batch batch;
  std::vector<at::Tensor> images, labels;
  const auto total = static_cast<int64_t>(plan_.size());
  while (static_cast<int64_t>(images.size()) < opt_.batch && consumed_ < total) {
    Item item;
    const int64_t taken = consumed_;
    const int64_t pos = plan_[static_cast<size_t>(taken)];
    if (threads_.empty()) {
      item = load(pos, static_cast<size_t>(order_[pos]), epoch_);
    } else {
      std::unique_lock<std::mutex> lock(mu_);
      ready_cv_.wait(lock, [&] { return ready_.count(taken) > 0; });
      item = std::move(ready_[taken]);
      ready_.erase(taken);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++consumed_;
    }
    work_cv_.notify_all();
    const std::string& id = ds_.ids[static_cast<size_t>(order_[pos])];
    if (!item.error.empty()) {
      if (!opt_.skip_bad) throw Error(item.error);
      ++bad_;
      std::cerr << "skipping " << id << ": " << item.error << "\n";
      continue;
    }
    images.push_back(item.image);
    labels.push_back(item.labels);
    batch.ids.push_back(id);
    batch.positions.push_back(pos);
  }
  if (images.empty() || (opt_.drop_last && static_cast<int64_t>(images.size()) < opt_.batch)) return std::nullopt;
  batch.images = torch::stack(images);
  batch.labels = torch::stack(labels);
  if (opt_.pin_memory) {
    batch.images = batch.images.pin_memory();
    batch.labels = batch.labels.pin_memory();
  }
  return batch;
}

}  // namespace amr

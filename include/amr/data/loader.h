#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <ATen/core/Tensor.h>

#include "amr/data/transforms.h"
#include "amr/data/voc.h"

namespace amr {

struct LoaderOptions {
  int64_t batch = 16;
  int workers = 2;           // 0: load in the calling thread
  bool shuffle = true;
  bool drop_last = true;
  uint64_t seed = 0;
  AugmentOptions augment;
  int64_t cutout = 0, cutout_boxes = 3;  // official imutils.cutout on the crop (0: off)
  bool crop_labels = false;  // recompute labels on the augmented crop's mask
  double label_min_fraction = 0.0;
  bool skip_bad = false;     // log and skip unreadable samples (counted) instead of failing
  int64_t prefetch_batches = 2;
};

struct Batch {
  at::Tensor images;  // [B, 3, crop, crop] float, normalized
  at::Tensor labels;  // [B, K] float
  std::vector<std::string> ids;
};

// Multi-threaded prefetching loader. Sample order is a permutation drawn from (seed, epoch) and
// each sample's augmentation from (seed, epoch, position), so batches do not depend on thread
// scheduling, and an epoch can be resumed at any sample.
class BatchLoader {
 public:
  BatchLoader(const VocDataset& ds, LoaderOptions opt);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  void start_epoch(int64_t epoch, int64_t skip_samples = 0);
  std::optional<Batch> next();
  int64_t batches_per_epoch() const;
  int64_t samples_consumed() const { return consumed_; }  // positions taken this epoch
  size_t bad_samples() const { return bad_; }

 private:
  struct Item {
    at::Tensor image, labels;
    std::string error;
  };
  Item load(int64_t position, size_t index, int64_t epoch) const;
  void worker_loop();
  void stop_workers();

  const VocDataset& ds_;
  LoaderOptions opt_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0;
  uint64_t generation_ = 0;
  int64_t next_take_ = 0, consumed_ = 0;
  size_t bad_ = 0;
  std::map<int64_t, Item> ready_;
  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace amr

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
  bool pin_memory = false;   // page-locked batches (for non-blocking copies to a CUDA device)
  // Data-parallel sharding: the epoch's order is cut into global batches of world_size x batch
  // positions and rank r takes the r-th `batch` of each (1 x 4 and 2 x 2 see the same samples
  // with the same augmentation). With drop_last only complete global batches are used.
  int rank = 0, world_size = 1;
};

struct Batch {
  at::Tensor images;  // [B, 3, crop, crop] float, normalized
  at::Tensor labels;  // [B, K] float
  std::vector<std::string> ids;
  std::vector<int64_t> positions;  // positions in the epoch's order (= dataset index without shuffle)
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
  // Positions of the epoch's order consumed by all ranks together: where a resumed epoch starts.
  int64_t samples_consumed() const;
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
  std::vector<int64_t> plan_;  // this rank's positions in the order, ascending
  int64_t epoch_ = 0;
  uint64_t generation_ = 0;
  int64_t next_take_ = 0, consumed_ = 0;  // indices into plan_
  size_t bad_ = 0;
  std::map<int64_t, Item> ready_;
  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace amr

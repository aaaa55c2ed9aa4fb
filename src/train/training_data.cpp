#include "amr/train/training_data.h"

namespace amr {

VocDataset open_training_list(const TrainConfig& c, const std::string& list) {
  DatasetOptions d;
  d.root = c.data;
  d.list = list;
  d.labels_from_masks = c.labels_from_masks;
  d.label_min_fraction = c.label_min_fraction;
  d.skip_bad = c.skip_bad;
  d.require_masks = c.labels_from_masks;
  return open_voc(d);
}

LoaderOptions train_loader_options(const TrainConfig& c, const World& world, bool pin_memory) {
  LoaderOptions lo;
  lo.pin_memory = pin_memory;
  lo.batch = c.batch / world.size();
  lo.rank = world.rank();
  lo.world_size = world.size();
  lo.workers = c.workers;
  lo.seed = c.seed;
  lo.augment = AugmentOptions{c.resize_long[0], c.resize_long[1], c.hflip, c.crop};
  lo.cutout = c.cutout;
  lo.cutout_boxes = c.cutout_boxes;
  lo.crop_labels = c.labels_from_masks;
  lo.label_min_fraction = c.label_min_fraction;
  lo.skip_bad = c.skip_bad;
  return lo;
}

}  // namespace amr

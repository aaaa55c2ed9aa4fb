#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "amr/model/options.h"
#include "amr/io/config_fwd.h"

namespace YAML {
class Node;
}

namespace amr {

// Every hyper-parameter of `amr train`. Resolution order: built-in defaults < --config YAML
// (and the files its `_base_` names, nearest last) < flags < --set key=value overrides; the
// resolved config is written to RUN/config.yaml. Run-time settings (threads, device) are not
// here: they are the Runtime's.
struct TrainConfig {
  std::string variant = "amr";  // cam | amr | amr-improved
  // data
  std::string data, list = "train.txt", val_list;
  bool labels_from_masks = false;
  double label_min_fraction = 0.0;
  bool skip_bad = false;
  // model
  std::string arch = "resnet50";
  std::array<int64_t, 4> strides{2, 2, 2, 1};
  BnMode bn = BnMode::FixedStats;       // YAML: frozen | fixed-stats | train
  Routing routing = Routing::Official;  // YAML: official | joint
  // Initialization (at most one of init_from / spotlight_from / copy_cam_to_both; init combines
  // with spotlight_from):
  std::string init;              // pretrained backbone: `amr import-weights` output, or a run whose
                                 // spotlight backbone is taken; every backbone not set below
  std::string spotlight_from;    // amr variants, the official recipe: a cam run -> spotlight +
                                 // classifier; compensation from `init`, AMMs + classifier2 fresh
  std::string copy_cam_to_both;  // amr variants, NOT the official recipe: a cam run copied into
                                 // both branches, classifier2 = classifier
  std::string init_from;         // a whole model of the same kind: a dual-branch model (amr run,
                                 // imported official weights) or, for cam, a cam run
  // AMM / improvements
  std::optional<double> tau;          // Gaussian threshold; unset: the variant's (0, amr-improved 0.3)
  TauMode tau_mode = TauMode::Relative;  // YAML: relative | absolute
  double cps_weight = 0.05;
  std::optional<double> area_weight;  // unset: the variant's (0, amr-improved 0.05)
  bool official_flip_pair = false;
  // optimization
  // batch: the global batch, split evenly over the ranks of a data-parallel job (as the official
  // DataParallel splits it over GPUs): a config trains the same whatever the number of ranks.
  int64_t epochs = 8, batch = 16, accumulate = 1;
  double lr = 0.01;
  double lr_mult_backbone = 1.0, lr_mult_compensation = 10.0;
  std::optional<double> lr_mult_classifier;  // unset: the variant's (cam 10 as IRN, amr 1 as official)
  double momentum = 0.9, weight_decay = 1e-4, poly_power = 0.9;
  int64_t warmup_steps = 0;  // linear lr ramp over the first steps (0: none, as the official)
  // augmentation
  int64_t crop = 512;
  std::array<int64_t, 2> resize_long{320, 640};
  bool hflip = true;
  int64_t cutout = 0;        // side of the cutout squares (official imutils.cutout; 0: off)
  int64_t cutout_boxes = 3;  // squares per image
  // run
  int workers = 2;
  uint64_t seed = 0;
  // Data-parallel: batch statistics (BatchNorm in bn: train, the AMM's Gaussian) over all ranks'
  // batches, as SyncBatchNorm (false: per rank, as the official DataParallel's replicas).
  bool sync_stats = false;
  MemoryMode memory = MemoryMode::Store;  // YAML: store | checkpoint (the compensation blocks recomputed in backward)
  bool bf16 = false;  // YAML precision: fp32 | bf16 (autocast of the forward passes; CUDA, or a CPU with native bf16)
  // Precise BatchNorm after the last epoch: the running statistics of every BatchNorm that eval
  // mode reads replaced by the average of this many training batches' statistics (at most one
  // epoch's). Unset or 0: off (the official recipe; see README "Stale BatchNorm statistics").
  std::optional<int64_t> precise_bn;
  int64_t checkpoint_every = 0;  // steps; 0: once per epoch
  int64_t log_every = 10;

  bool dual() const { return variant != "cam"; }
  // Fills the variant defaults and checks ranges; throws naming the key. (Enum-valued keys
  // are parsed when read.) Everything downstream reads a resolved config.
  void resolve();
  // The resolved values (the variant's defaults where unset).
  double tau_value() const;
  double area_weight_value() const;
  double lr_mult_classifier_value() const;
  int64_t precise_bn_value() const;
};

// Every key of TrainConfig: YAML, config.yaml, typed flags.
const ConfigTable<TrainConfig>& train_config_table();
using TrainConfigFlags = ConfigFlags<TrainConfig>;

TrainConfig load_train_config(const std::string& yaml_path, const TrainConfigFlags& flags,
                              const std::vector<std::string>& overrides);
TrainConfig load_train_config(const std::string& yaml_path, const std::vector<std::string>& overrides);
std::string to_yaml(const TrainConfig& c);
TrainConfig config_from_yaml_text(const std::string& text, const std::string& what);

}  // namespace amr

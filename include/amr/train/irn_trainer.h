#pragma once
#include <cstdint>
#include <string>

#include "amr/base/runtime.h"

namespace amr {

// `amr train-irn`: IRN's inter-pixel relation network trained on IR labels (step/train_irn.py).
// Defaults are the official schedule (run_sample.py): crop 512, 3 epochs, batch 32, lr 0.1 with
// the boundary branch at lr and the displacement branch at 10 x lr, weight decay 1e-4, poly 0.9,
// rescale [0.5, 1.5], flips, path radius 10 at stride 4.
struct IrnTrainConfig {
  std::string data;                // dataset root (JPEGImages/)
  std::string list = "train.txt";  // training ids
  std::string labels;              // IR label PNGs (<id>.png: 0 background, k + 1 class k, 255 unsure)
  std::string infer_list;          // ids whose displacement mean becomes mean_shift (default: list)
  std::string init;                // backbone weights: torchvision .pth, amr model (spotlight) or res50_irn.pth
  std::string arch = "resnet50";
  int64_t crop = 512, epochs = 3, batch = 32, radius = 10;
  double lr = 0.1, weight_decay = 1e-4;
  // QUIRKS.md 3: the official PolyOptimizer passes weight_decay as SGD's momentum.
  double momentum = 1e-4, poly_power = 0.9;
  double scale_min = 0.5, scale_max = 1.5;
  int64_t seed = 0;
  int64_t workers = 2;
};
IrnTrainConfig irn_config_from_yaml(const std::string& path);  // keys as the fields; unknown keys are errors
void set_irn_config_key(IrnTrainConfig& c, const std::string& key_eq_value);  // --set key=value
void validate(const IrnTrainConfig& c);  // throws naming the key
std::string irn_config_yaml(const IrnTrainConfig& c);

struct IrnTrainSummary {
  int64_t steps = 0;  // optimizer steps done in total
  bool finished = false;  // model.pt written
  double last_loss = 0;
  std::string model;  // RUN/model.pt
};

struct IrnRunOptions {
  std::string out;                 // --out: the run directory
  bool resume = false, quiet = false;
  int64_t stop_after_epochs = 0;   // > 0: stop after this many epochs (last.pt written, no model.pt)
};

// Trains into opt.out: config.yaml, log.jsonl, last.pt (after each epoch: --resume continues
// from it), model.pt (with mean_shift set from the infer list, as the official code). The
// branches' initialization is drawn from `seed`.
IrnTrainSummary train_irn(const IrnTrainConfig& c, const IrnRunOptions& opt, const Runtime& rt);

}  // namespace amr

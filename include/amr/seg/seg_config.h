#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "amr/model/deeplab.h"

namespace amr {

// The segmentation loss: cross-entropy over the labelled pixels (255 ignored) of every output
// (MSC: full, each scale, max), or its class-balanced form with median-frequency weights
// (Eigen & Fergus 2015: w_c = median_k f_k / f_c, f the class's pixel share of the training masks).
enum class SegLoss { CrossEntropy, BalancedCrossEntropy };
SegLoss parse_seg_loss(const std::string& s);  // ce | balanced-ce; throws naming `loss`
std::string to_string(SegLoss l);

// `amr train-seg`: DeepLab trained on pixel masks. Defaults are the reference's
// configs/voc12.yaml (kazuto1011/deeplab-pytorch, the AMR authors' final stage): crop 321,
// scales 0.5..1.5, flips, batch 5 x iter_size 2, 20k iterations, lr 2.5e-4 with the head's
// weights at 10x and biases at 20x (no weight decay), momentum 0.9, weight decay 5e-4, poly 0.9
// updated every 10 iterations, frozen BatchNorm.
struct SegTrainConfig {
  std::string data;                // dataset root (JPEGImages/, classes)
  std::string list = "train.txt";  // training ids
  std::string masks;               // <id>.png training masks (the dataset's values; 255 ignored); empty: the ground truth
  std::string val_list;            // validation ids scored against the ground truth; empty: none
  std::string init;                // initial weights (torchvision ResNet, reference DeepLab, amr seg model); empty: random
  DeepLabOptions model;            // num_classes comes from the data set
  int64_t crop = 321;
  std::vector<double> scales{0.5, 0.75, 1.0, 1.25, 1.5};  // random rescale, one drawn per image
  int64_t base_size = 0;           // > 0: the long side is first resized to this
  bool flip = true;
  int64_t batch = 5, iter_size = 2, iterations = 20000;
  double lr = 2.5e-4, lr_mult_head = 10.0, lr_mult_head_bias = 20.0;
  double momentum = 0.9, weight_decay = 5e-4, poly_power = 0.9;
  int64_t lr_decay_every = 10;     // the reference's PolynomialLR step_size
  SegLoss loss = SegLoss::CrossEntropy;
  int64_t val_every = 0;           // > 0: validation mIoU every N iterations (always at the end when val_list is set)
  int64_t save_every = 5000;       // last.pt every N iterations (and at the end)
  int64_t seed = 0;
  int64_t workers = 2;
};
SegTrainConfig seg_config_from_yaml(const std::string& path);  // keys as the fields (model keys flat); unknown keys are errors
void set_seg_config_key(SegTrainConfig& c, const std::string& key_eq_value);  // --set key=value
void validate(const SegTrainConfig& c);  // throws naming the key
std::string seg_config_yaml(const SegTrainConfig& c);

}  // namespace amr

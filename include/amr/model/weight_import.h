#pragma once
#include <optional>
#include <string>

#include "amr/io/weights.h"
#include "amr/model/amr_net.h"

namespace amr {

// Source layouts `amr import-weights` understands.
//  torchvision   conv1.weight, layer1.0.conv1.weight, ..., fc.* (fc dropped): a backbone
//  amr-official  resnet50.*, resnet50_2.*, classifier.weight, classifier2.weight (official AMR
//                Net/CAM; the duplicate stage*/backbone* views are dropped): an AmrNet
//  irn-cam       resnet50.*, classifier.weight (IRN's train_cam): a single-branch AmrNet
//  auto          chosen from the keys
enum class WeightFormat { Auto, TorchVision, AmrOfficial, IrnCam };
WeightFormat parse_weight_format(const std::string& s);  // throws naming --format
std::string to_string(WeightFormat f);

struct ImportOptions {
  std::string arch = "resnet50";
  WeightFormat format = WeightFormat::Auto;
  bool strict = true;
  int64_t num_classes = 0;  // > 0: the checkpoint's classifier must have this many classes
};

struct ImportResult {
  WeightFormat format;
  NamedTensors tensors;   // under this project's names
  int64_t num_classes = 0;  // 0 for a bare backbone
  std::optional<AmrNetOptions> model;  // the network the tensors fill (none for a bare backbone)
  LoadReport report;
};

// The official AMR / IRN key layout (resnet50.*, resnet50_2.*, classifier*) under this
// project's names (spotlight.*, compensation.*); IRN's stage/backbone aliases dropped.
NamedTensors rename_official_keys(const NamedTensors& official);

// Reads a .pth, renames its keys to this project's layout and checks them against a model of
// `arch` (shapes included); throws one line on any mismatch when strict.
ImportResult import_weights(const std::string& pth_path, const ImportOptions& opt);

}  // namespace amr

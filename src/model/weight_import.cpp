#include "amr/model/weight_import.h"

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/model/resnet.h"

namespace amr {

namespace {
constexpr EnumNames<WeightFormat, 4> kWeightFormats{{{WeightFormat::Auto, "auto"},
                                                     {WeightFormat::TorchVision, "torchvision"},
                                                     {WeightFormat::AmrOfficial, "amr-official"},
                                                     {WeightFormat::IrnCam, "irn-cam"}}};
}
WeightFormat parse_weight_format(const std::string& s) { return parse_enum(kWeightFormats, s, "--format"); }
std::string to_string(WeightFormat f) { return enum_name(kWeightFormats, f); }

namespace {


bool has_key_prefix(const NamedTensors& t, const std::string& prefix) {
  for (auto& kv : t)
    if (starts_with(kv.first, prefix)) return true;
  return false;
}

WeightFormat detect(const NamedTensors& t, const std::string& path) {
  if (has_key_prefix(t, "resnet50_2.")) return WeightFormat::AmrOfficial;
  if (has_key_prefix(t, "resnet50.")) return WeightFormat::IrnCam;
  if (has_key_prefix(t, "conv1.") && has_key_prefix(t, "layer1.")) return WeightFormat::TorchVision;
  throw Error(path + ": cannot tell the checkpoint's layout from its keys (pass --format)");
}

// Official AMR / IRN keys -> AmrNet keys; the duplicate Sequential views are dropped.
int64_t classes_of(const NamedTensors& t, const std::string& path) {
  for (auto& [k, v] : t)
    if (k == "classifier.weight") return v.size(0);
  throw Error(path + ": no classifier.weight in the checkpoint");
}

}  // namespace

NamedTensors rename_official_keys(const NamedTensors& in) {
  NamedTensors out;
  for (const auto& [k, v] : in) {
    if (starts_with(k, "resnet50_2.")) out.emplace_back("compensation." + k.substr(11), v);
    else if (starts_with(k, "resnet50.")) out.emplace_back("spotlight." + k.substr(9), v);
    else if (k == "classifier.weight" || k == "classifier2.weight") out.emplace_back(k, v);
    else if (starts_with(k, "stage") || starts_with(k, "backbone") || starts_with(k, "newly_added")) continue;
    else out.emplace_back(k, v);  // reported as unexpected by the strict check
  }
  return out;
}

ImportResult import_weights(const std::string& path, const ImportOptions& opt) {
  ResNetOptions backbone;
  backbone.arch = opt.arch;
  validate(backbone);
  NamedTensors raw = read_pth(path);
  ImportResult r;
  r.format = opt.format == WeightFormat::Auto ? detect(raw, path) : opt.format;
  if (r.format == WeightFormat::TorchVision) {
    for (auto& [k, v] : raw)
      if (!starts_with(k, "fc.")) r.tensors.emplace_back(k, v);
    ResNet model(backbone);
    r.report = load_state_dict(*model, r.tensors, opt.strict, path);
    return r;
  }
  r.tensors = rename_official_keys(raw);
  r.num_classes = classes_of(r.tensors, path);
  if (opt.num_classes > 0 && opt.num_classes != r.num_classes)
    throw Error(path + ": classifier has " + std::to_string(r.num_classes) + " classes, --num-classes says " +
                std::to_string(opt.num_classes));
  AmrNetOptions net;
  net.backbone = backbone;
  net.num_classes = r.num_classes;
  net.dual = r.format == WeightFormat::AmrOfficial;
  AmrNet model(net);
  r.report = load_state_dict(*model, r.tensors, opt.strict, path);
  r.model = net;
  return r;
}

}  // namespace amr

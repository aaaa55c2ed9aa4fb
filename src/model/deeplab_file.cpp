#include "amr/model/deeplab_file.h"

#include <nlohmann/json.hpp>
#include <regex>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/weights.h"

namespace amr {
namespace {

const char* const kRecord = "amr_seg_model.json";
constexpr int kVersion = 1;

std::string strip_prefix(const std::string& k, const std::string& prefix) {
  return starts_with(k, prefix) ? k.substr(prefix.size()) : k;
}

bool is_backbone_key(const std::string& k) { return starts_with(k, "base.layer"); }

// torchvision's names inside one block. Bottleneck: conv1/bn1 -> reduce, conv2/bn2 -> conv3x3,
// conv3/bn3 -> increase; basic block: conv1/bn1 -> conv1, conv2/bn2 -> conv2; downsample.0/1 ->
// shortcut.conv/bn.
std::string block_part(const std::string& part, bool basic) {
  static const std::vector<std::pair<std::string, std::string>> bottleneck{
      {"conv1.", "reduce.conv."},      {"bn1.", "reduce.bn."}, {"conv2.", "conv3x3.conv."},
      {"bn2.", "conv3x3.bn."},         {"conv3.", "increase.conv."}, {"bn3.", "increase.bn."},
      {"downsample.0.", "shortcut.conv."}, {"downsample.1.", "shortcut.bn."}};
  static const std::vector<std::pair<std::string, std::string>> basic_block{
      {"conv1.", "conv1.conv."}, {"bn1.", "conv1.bn."}, {"conv2.", "conv2.conv."}, {"bn2.", "conv2.bn."},
      {"downsample.0.", "shortcut.conv."}, {"downsample.1.", "shortcut.bn."}};
  for (const auto& [from, to] : basic ? basic_block : bottleneck)
    if (starts_with(part, from)) return to + part.substr(from.size());
  return "";
}

}  // namespace

std::string describe(const DeepLabOptions& o) {
  nlohmann::json j = {{"format", "amr-seg-model"}, {"version", kVersion},      {"arch", o.arch},
                      {"head", to_string(o.head)}, {"num_classes", o.num_classes}, {"output_stride", o.output_stride},
                      {"atrous_rates", atrous_rates_of(o)}, {"msc_scales", o.msc_scales}, {"bn", to_string(o.bn)},
                      {"input", to_string(o.input)}};
  return j.dump(1);
}

DeepLabOptions parse_deeplab_description(const std::string& text, const std::string& what) {
  DeepLabOptions o;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (j.value("format", "") != "amr-seg-model") throw Error("not a segmentation model description");
    if (j.at("version").get<int>() != kVersion) throw Error("description version " + std::to_string(j.at("version").get<int>()));
    o.arch = j.at("arch").get<std::string>();
    o.head = parse_seg_head(j.at("head").get<std::string>());
    o.num_classes = j.at("num_classes").get<int64_t>();
    o.output_stride = j.at("output_stride").get<int64_t>();
    o.atrous_rates = j.at("atrous_rates").get<std::vector<int64_t>>();
    o.msc_scales = j.at("msc_scales").get<std::vector<double>>();
    o.bn = parse_bn_mode(j.at("bn").get<std::string>());
    o.input = parse_seg_input(j.at("input").get<std::string>());
    validate(o);
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": bad " + kRecord + " (" + e.what() + ")");
  } catch (const Error& e) {
    throw Error(what + ": " + kRecord + ": " + e.what());
  }
  return o;
}

void save_seg_model(const std::string& path, SegNetImpl& net) { write_pth(path, state_dict(net), {{kRecord, describe(net.options())}}); }

NamedTensors deeplab_reference_keys(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [k, v] : tensors) {
    const std::string key = strip_prefix(k, "module.");
    out.emplace_back(starts_with(key, "base.") ? key : "base." + key, v);
  }
  return out;
}

NamedTensors torchvision_to_deeplab(const NamedTensors& tensors) {
  static const std::regex block(R"(layer([1-4])\.([0-9]+)\.(.*))");
  bool basic = true;  // no conv3 anywhere: torchvision's BasicBlock (resnet18/34)
  for (const auto& [raw, v] : tensors) basic = basic && raw.find(".conv3.") == std::string::npos;
  NamedTensors out;
  for (const auto& [raw, v] : tensors) {
    const std::string k = strip_prefix(strip_prefix(raw, "spotlight."), "resnet50.");
    std::smatch m;
    if (starts_with(k, "conv1.")) out.emplace_back("base.layer1.conv1.conv." + k.substr(6), v);
    else if (starts_with(k, "bn1.")) out.emplace_back("base.layer1.conv1.bn." + k.substr(4), v);
    else if (std::regex_match(k, m, block) && !block_part(m[3], basic).empty())
      out.emplace_back("base.layer" + std::to_string(std::stoi(m[1]) + 1) + ".block" + std::to_string(std::stoi(m[2]) + 1) + "." +
                           block_part(m[3], basic),
                       v);
  }
  return out;
}

DeepLabOptions infer_deeplab_options(const NamedTensors& t, const DeepLabOptions& fallback, const std::string& what) {
  DeepLabOptions o = fallback;
  int64_t layer4_blocks = 0;
  bool v3plus = false, v2 = false, bottleneck = false;
  static const std::regex layer4(R"(base\.layer4\.block([0-9]+)\..*)");
  for (const auto& [k, v] : t) {
    std::smatch m;
    if (std::regex_match(k, m, layer4)) layer4_blocks = std::max<int64_t>(layer4_blocks, std::stoll(m[1]));
    if (k == "base.aspp.c0.weight") v2 = true, o.num_classes = v.size(0);
    if (starts_with(k, "base.aspp.stages.")) v3plus = true;
    if (k.find(".reduce.conv.") != std::string::npos && starts_with(k, "base.layer")) bottleneck = true;
    if (k == "base.fc2.conv3.weight") o.num_classes = v.size(0);
  }
  if (bottleneck && layer4_blocks == 6) o.arch = "resnet50";
  else if (bottleneck && layer4_blocks == 23) o.arch = "resnet101";
  else if (!bottleneck && layer4_blocks == 2) o.arch = "resnet18";
  else if (!bottleneck && layer4_blocks == 6) o.arch = "resnet34";
  else throw Error(what + ": not a DeepLab checkpoint (expected layer4 of 6 or 23 bottlenecks, or 2 or 6 basic blocks; found " +
                   std::to_string(layer4_blocks) + ")");
  if (v2 == v3plus) throw Error(what + ": not a DeepLab checkpoint (expected aspp.c0.* of v2 or aspp.stages.* of v3+)");
  o.head = v2 ? SegHead::V2 : SegHead::V3Plus;
  if (o.head == SegHead::V2) o.output_stride = 8;
  if (o.head != fallback.head) o.atrous_rates.clear();
  return o;
}

SegNet load_seg_model(const std::string& path, const DeepLabOptions& fallback, int64_t num_classes_or_0) {
  const PthContents c = read_pth_contents(path);
  const auto it = c.records.find(kRecord);
  const NamedTensors tensors = it == c.records.end() ? deeplab_reference_keys(c.tensors) : c.tensors;
  const DeepLabOptions o = it != c.records.end() ? parse_deeplab_description(it->second, path) : infer_deeplab_options(tensors, fallback, path);
  if (num_classes_or_0 > 0 && o.num_classes != num_classes_or_0)
    throw Error(path + ": a model of " + std::to_string(o.num_classes) + " classes, the data set has " + std::to_string(num_classes_or_0));
  SegNet net(o);
  load_state_dict(*net, tensors, /*strict=*/true, path);
  net->eval();
  return net;
}

void load_seg_init(SegNetImpl& net, const std::string& path, const std::string& what) {
  const PthContents c = read_pth_contents(path);
  NamedTensors t = c.records.count(kRecord) ? c.tensors : deeplab_reference_keys(c.tensors);
  bool deeplab_layout = false;
  for (const auto& [k, v] : t) deeplab_layout = deeplab_layout || starts_with(k, "base.layer1.conv1.conv.");
  if (!deeplab_layout) t = torchvision_to_deeplab(c.tensors);
  NamedTensors backbone, head;
  for (auto& [k, v] : t) {
    if (ends_with(k, "num_batches_tracked")) continue;
    (is_backbone_key(k) ? backbone : head).emplace_back(k, v);
  }
  if (backbone.empty()) throw Error(what + " " + path + ": no backbone tensors (expected torchvision ResNet, DeepLab or amr keys)");
  const LoadReport r = load_state_dict(net, backbone, /*strict=*/false, what + " " + path);
  for (const auto& m : r.missing)
    if (is_backbone_key(m) && !ends_with(m, "num_batches_tracked")) throw Error(what + " " + path + ": backbone tensor missing: " + m);
  try {
    load_state_dict(net, head, /*strict=*/false, what + " " + path);
  } catch (const Error&) {
    // a head of another class count or network: the head keeps its initialization
  }
}

}  // namespace amr

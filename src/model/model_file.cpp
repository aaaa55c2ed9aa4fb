#include "amr/model/model_file.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/weights.h"

namespace fs = std::filesystem;

namespace amr {
namespace {

const char* const kRecord = "amr_model.json";
constexpr int kDescriptionVersion = 1;


// Older runs: the model keys of the resolved config.yaml that train wrote beside model.pt,
// read as a description whose absent keys keep the defaults.
AmrNetOptions description_from_run_config(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(describe(AmrNetOptions{}));
  try {
    const YAML::Node c = YAML::LoadFile(path);
    for (const char* key : {"arch", "bn", "routing"})
      if (c[key]) j[key] = c[key].as<std::string>();
    if (c["strides"]) j["strides"] = c["strides"].as<std::vector<int64_t>>();
    if (c["tau"] && !c["tau"].IsNull()) j["amm"]["tau"] = c["tau"].as<double>();
    if (c["tau_mode"]) j["amm"]["tau_mode"] = c["tau_mode"].as<std::string>();
  } catch (const YAML::Exception& e) {
    throw Error(path + ": not a readable run config (" + e.msg + ")");
  }
  return parse_description(j.dump(), path);
}

}  // namespace

std::string describe(const AmrNetOptions& opt) {
  nlohmann::json j = {
      {"format", "amr-model"},
      {"version", kDescriptionVersion},
      {"arch", opt.backbone.arch},
      {"strides", opt.backbone.strides},
      {"bn", to_string(opt.backbone.bn)},
      {"num_classes", opt.num_classes},
      {"dual", opt.dual},
      {"routing", to_string(opt.routing)},
      {"amm",
       {{"reduction", opt.amm.reduction},
        {"tau", opt.amm.threshold.tau},
        {"tau_mode", to_string(opt.amm.threshold.mode)},
        {"spatial_bn_batch_stats_always", opt.amm.spatial_bn_batch_stats_always}}},
  };
  return j.dump(1);
}

AmrNetOptions parse_description(const std::string& text, const std::string& what) {
  AmrNetOptions o;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (j.value("format", "") != "amr-model") throw Error(what + ": " + kRecord + " is not an amr model description");
    if (j.at("version").get<int>() != kDescriptionVersion)
      throw Error(what + ": model description version " + std::to_string(j.at("version").get<int>()) +
                  " (this amr reads " + std::to_string(kDescriptionVersion) + ")");
    o.backbone.arch = j.at("arch").get<std::string>();
    o.backbone.strides = j.at("strides").get<std::array<int64_t, 4>>();
    o.backbone.bn = parse_bn_mode(j.at("bn").get<std::string>());
    o.num_classes = j.at("num_classes").get<int64_t>();
    o.dual = j.at("dual").get<bool>();
    o.routing = parse_routing(j.at("routing").get<std::string>());
    const auto& amm = j.at("amm");
    o.amm.reduction = amm.at("reduction").get<int64_t>();
    o.amm.threshold = gaussian_threshold(amm.at("tau").get<double>(), parse_tau_mode(amm.at("tau_mode").get<std::string>()));
    o.amm.spatial_bn_batch_stats_always = amm.at("spatial_bn_batch_stats_always").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": bad model description " + kRecord + " (" + e.what() + ")");
  } catch (const Error& e) {
    const std::string m = e.what();
    throw Error(starts_with(m, what) ? m : what + ": model description: " + m);
  }
  if (o.num_classes < 1 || o.amm.reduction < 1)
    throw Error(what + ": model description: num_classes and amm.reduction must be >= 1");
  validate(o.backbone);
  return o;
}

bool ModelFile::dual() const {
  for (const auto& [k, v] : tensors)
    if (starts_with(k, "compensation.")) return true;
  return false;
}

int64_t ModelFile::num_classes() const {
  for (const auto& [k, v] : tensors)
    if (k == "classifier.weight") return v.size(0);
  throw Error(path + ": no classifier.weight (not a CAM/AMR model)");
}

ModelFile read_model_file(const std::string& path) {
  PthContents c = read_pth_contents(path);
  ModelFile f;
  f.path = path;
  f.tensors = std::move(c.tensors);
  auto it = c.records.find(kRecord);
  if (it != c.records.end()) f.description = parse_description(it->second, path);
  return f;
}

void write_model_file(const std::string& path, const NamedTensors& tensors, const AmrNetOptions& description) {
  write_pth(path, tensors, {{kRecord, describe(description)}});
}

void save_model(const std::string& path, AmrNet& net) { write_model_file(path, state_dict(*net), net->options()); }

AmrNet load_model(const ModelFile& file, const AmrNetOptions& fallback) {
  AmrNetOptions o = fallback;
  if (file.description) {
    o = *file.description;
  } else {
    o.dual = file.dual();
    o.num_classes = file.num_classes();
  }
  if (!o.dual && o.amm.threshold.tau > 0)
    throw Error(file.path + ": a single-branch CAM model (no AMM for --tau to threshold)");
  AmrNet net(o);
  load_state_dict(*net, file.tensors, /*strict=*/true, file.path);
  net->eval();
  return net;
}

AmrNet load_run_model(const std::string& run_dir, int64_t num_classes_or_0) {
  const std::string weights = run_dir + "/model.pt", config = run_dir + "/config.yaml";
  if (!fs::is_directory(run_dir)) throw Error("--run " + run_dir + ": not a directory");
  if (!fs::exists(weights)) throw Error("--run " + run_dir + ": no model.pt (training not finished?)");
  ModelFile file = read_model_file(weights);
  if (!file.description && !fs::exists(config))
    throw Error("--run " + run_dir + ": model.pt has no description and there is no config.yaml");
  const int64_t classes = file.num_classes();
  if (num_classes_or_0 > 0 && num_classes_or_0 != classes)
    throw Error("--run " + run_dir + ": the model has " + std::to_string(classes) + " classes, the data " +
                std::to_string(num_classes_or_0));
  return load_model(file, file.description ? AmrNetOptions{} : description_from_run_config(config));
}

}  // namespace amr

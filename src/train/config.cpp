#include "amr/train/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "amr/io/error.h"
#include "amr/model/amm.h"

namespace amr {
namespace {

// One table maps YAML keys to fields, for reading, writing and rejecting unknown keys.
struct Field {
  std::function<void(TrainConfig&, const YAML::Node&)> read;
  std::function<void(const TrainConfig&, YAML::Emitter&)> write;
};

template <typename T>
Field field(T TrainConfig::*member) {
  return {[member](TrainConfig& c, const YAML::Node& n) { c.*member = n.as<T>(); },
          [member](const TrainConfig& c, YAML::Emitter& e) { e << c.*member; }};
}

// An optional value: YAML null / absent = unset (the variant's default).
template <typename T>
Field optional_field(std::optional<T> TrainConfig::*member) {
  return {[member](TrainConfig& c, const YAML::Node& n) {
            if (n.IsNull()) (c.*member).reset();
            else c.*member = n.as<T>();
          },
          [member](const TrainConfig& c, YAML::Emitter& e) {
            if (c.*member) e << *(c.*member);
            else e << YAML::Null;
          }};
}

// An enum read and written by its name.
template <typename E>
Field enum_field(E TrainConfig::*member, E (*parse)(const std::string&), std::string (*name)(E)) {
  return {[member, parse](TrainConfig& c, const YAML::Node& n) { c.*member = parse(n.as<std::string>()); },
          [member, name](const TrainConfig& c, YAML::Emitter& e) { e << name(c.*member); }};
}

template <typename T, size_t N>
Field array_field(std::array<T, N> TrainConfig::*member) {
  return {[member](TrainConfig& c, const YAML::Node& n) {
            if (!n.IsSequence() || n.size() != N) throw YAML::Exception(n.Mark(), "expected a list of " + std::to_string(N));
            for (size_t i = 0; i < N; ++i) (c.*member)[i] = n[i].as<T>();
          },
          [member](const TrainConfig& c, YAML::Emitter& e) {
            e << YAML::Flow << YAML::BeginSeq;
            for (auto v : c.*member) e << v;
            e << YAML::EndSeq;
          }};
}

const std::vector<std::pair<std::string, Field>>& fields() {
  static const std::vector<std::pair<std::string, Field>> f = {
      {"variant", field(&TrainConfig::variant)},
      {"data", field(&TrainConfig::data)},
      {"list", field(&TrainConfig::list)},
      {"val_list", field(&TrainConfig::val_list)},
      {"labels_from_masks", field(&TrainConfig::labels_from_masks)},
      {"label_min_fraction", field(&TrainConfig::label_min_fraction)},
      {"skip_bad", field(&TrainConfig::skip_bad)},
      {"arch", field(&TrainConfig::arch)},
      {"strides", array_field(&TrainConfig::strides)},
      {"bn", enum_field<BnMode>(&TrainConfig::bn, parse_bn_mode, to_string)},
      {"routing", enum_field<Routing>(&TrainConfig::routing, parse_routing, to_string)},
      {"init", field(&TrainConfig::init)},
      {"spotlight_from", field(&TrainConfig::spotlight_from)},
      {"copy_cam_to_both", field(&TrainConfig::copy_cam_to_both)},
      {"init_from", field(&TrainConfig::init_from)},
      {"tau", optional_field(&TrainConfig::tau)},
      {"tau_mode", enum_field<TauMode>(&TrainConfig::tau_mode, parse_tau_mode, to_string)},
      {"cps_weight", field(&TrainConfig::cps_weight)},
      {"area_weight", optional_field(&TrainConfig::area_weight)},
      {"official_flip_pair", field(&TrainConfig::official_flip_pair)},
      {"epochs", field(&TrainConfig::epochs)},
      {"batch", field(&TrainConfig::batch)},
      {"accumulate", field(&TrainConfig::accumulate)},
      {"lr", field(&TrainConfig::lr)},
      {"lr_mult_backbone", field(&TrainConfig::lr_mult_backbone)},
      {"lr_mult_compensation", field(&TrainConfig::lr_mult_compensation)},
      {"lr_mult_classifier", optional_field(&TrainConfig::lr_mult_classifier)},
      {"momentum", field(&TrainConfig::momentum)},
      {"weight_decay", field(&TrainConfig::weight_decay)},
      {"poly_power", field(&TrainConfig::poly_power)},
      {"warmup_steps", field(&TrainConfig::warmup_steps)},
      {"crop", field(&TrainConfig::crop)},
      {"resize_long", array_field(&TrainConfig::resize_long)},
      {"hflip", field(&TrainConfig::hflip)},
      {"cutout", field(&TrainConfig::cutout)},
      {"cutout_boxes", field(&TrainConfig::cutout_boxes)},
      {"workers", field(&TrainConfig::workers)},
      {"threads", field(&TrainConfig::threads)},
      {"seed", field(&TrainConfig::seed)},
      {"sync_stats", field(&TrainConfig::sync_stats)},
      {"memory", enum_field<MemoryMode>(&TrainConfig::memory, parse_memory_mode, to_string)},
      {"checkpoint_every", field(&TrainConfig::checkpoint_every)},
      {"log_every", field(&TrainConfig::log_every)},
  };
  return f;
}

const Field* find_field(const std::string& key) {
  for (auto& [k, f] : fields())
    if (k == key) return &f;
  return nullptr;
}

void apply(TrainConfig& c, const std::string& key, const YAML::Node& value, const std::string& what) {
  const Field* f = find_field(key);
  if (!f) throw Error(what + ": unknown key '" + key + "'");
  try {
    f->read(c, value);
  } catch (const YAML::Exception& e) {
    throw Error(what + ": bad value for '" + key + "' (" + e.msg + ")");
  } catch (const Error& e) {
    throw Error(what + ": bad value for '" + key + "' (" + e.what() + ")");
  }
}

void apply_node(TrainConfig& c, const YAML::Node& root, const std::string& what) {
  if (!root || root.IsNull()) return;
  if (!root.IsMap()) throw Error(what + ": expected a mapping of key: value");
  for (auto it = root.begin(); it != root.end(); ++it) apply(c, it->first.as<std::string>(), it->second, what);
}

}  // namespace

void TrainConfig::resolve() {
  auto bad = [](const std::string& key, const std::string& why) { throw Error("config " + key + ": " + why); };
  if (variant != "cam" && variant != "amr" && variant != "amr-improved")
    bad("variant", "expected cam, amr or amr-improved, got '" + variant + "'");
  tau = tau_value();  // the variant's defaults where unset
  area_weight = area_weight_value();
  lr_mult_classifier = lr_mult_classifier_value();
  gaussian_threshold(*tau, tau_mode);
  if (!(*area_weight >= 0)) bad("area_weight", "expected >= 0");
  if (!(*lr_mult_classifier >= 0)) bad("lr_mult_classifier", "expected >= 0");
  if (data.empty()) bad("data", "required (--data ROOT)");
  if (epochs < 1) bad("epochs", "expected >= 1");
  if (batch < 1) bad("batch", "expected >= 1");
  if (accumulate < 1) bad("accumulate", "expected >= 1");
  if (batch % accumulate != 0) bad("accumulate", "must divide batch");
  if (!(lr > 0)) bad("lr", "expected > 0");
  if (warmup_steps < 0) bad("warmup_steps", "expected >= 0 (0: no warmup)");
  if (crop < 16) bad("crop", "expected >= 16");
  if (resize_long[0] > resize_long[1]) bad("resize_long", "expected [min, max] with min <= max");
  if (workers < 0) bad("workers", "expected >= 0");
  if (cps_weight < 0) bad("cps_weight", "expected >= 0");
  if (log_every < 1) log_every = 1;
  if (cutout < 0) bad("cutout", "expected a square side >= 0 (0: off)");
  if (cutout_boxes < 1) bad("cutout_boxes", "expected >= 1");
  if (!dual() && !spotlight_from.empty()) bad("spotlight_from", "only for the amr variants (the cam variant takes init or init_from)");
  if (!dual() && !copy_cam_to_both.empty()) bad("copy_cam_to_both", "only for the amr variants");
  if (!spotlight_from.empty() && !copy_cam_to_both.empty()) bad("copy_cam_to_both", "excludes spotlight_from");
  if (!init_from.empty() && !(spotlight_from.empty() && copy_cam_to_both.empty() && init.empty()))
    bad("init_from", "a whole model; excludes init, spotlight_from and copy_cam_to_both");
  if (!copy_cam_to_both.empty() && !init.empty()) bad("copy_cam_to_both", "sets both backbones; excludes init");
  if (official_flip_pair && batch / accumulate < 2) bad("official_flip_pair", "needs micro-batches of >= 2");
}

double TrainConfig::tau_value() const { return tau.value_or(variant == "amr-improved" ? 0.3 : 0.0); }
double TrainConfig::area_weight_value() const { return area_weight.value_or(variant == "amr-improved" ? 0.05 : 0.0); }
double TrainConfig::lr_mult_classifier_value() const { return lr_mult_classifier.value_or(variant == "cam" ? 10.0 : 1.0); }

TrainConfig config_from_yaml_text(const std::string& text, const std::string& what) {
  TrainConfig c;
  try {
    apply_node(c, YAML::Load(text), what);
  } catch (const YAML::Exception& e) {
    throw Error(what + ": not valid YAML (" + e.msg + ")");
  }
  return c;
}

TrainConfig load_train_config(const std::string& yaml_path, const std::vector<std::string>& overrides) {
  TrainConfig c;
  if (!yaml_path.empty()) {
    std::ifstream in(yaml_path);
    if (!in) throw Error("--config " + yaml_path + ": cannot open");
    try {
      apply_node(c, YAML::Load(in), "--config " + yaml_path);
    } catch (const YAML::Exception& e) {
      throw Error("--config " + yaml_path + ": not valid YAML (" + e.msg + ")");
    }
  }
  for (const auto& kv : overrides) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--set " + kv + ": expected key=value");
    YAML::Node value;
    try {
      value = YAML::Load(kv.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      throw Error("--set " + kv + ": bad value (" + e.msg + ")");
    }
    if (!value.IsDefined() || value.IsNull()) value = YAML::Node(std::string());
    apply(c, kv.substr(0, eq), value, "--set " + kv);
  }
  return c;
}

std::string to_yaml(const TrainConfig& c) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  for (auto& [k, f] : fields()) {
    if (k == "threads") continue;  // run-time, not a property of the run: --resume uses this machine's
    e << YAML::Key << k << YAML::Value;
    f.write(c, e);
    if (k == "batch") e << YAML::Comment("global: split evenly over the ranks of a data-parallel job");
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace amr

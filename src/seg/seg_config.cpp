#include "amr/seg/seg_config.h"

#include <cmath>

#include <yaml-cpp/yaml.h>

#include "amr/base/enum_names.h"
#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/config_table.h"
#include "amr/io/yaml_config.h"

namespace amr {
namespace {

constexpr EnumNames<SegLoss, 2> kLosses{{{SegLoss::CrossEntropy, "ce"}, {SegLoss::BalancedCrossEntropy, "balanced-ce"}}};

void add_model_keys(ConfigTable<SegTrainConfig>& t) {
  using C = SegTrainConfig;
  t.add<std::string>("arch", [](C& c) -> std::string& { return c.model.arch; });
  t.add_named<SegHead>("head", [](C& c) -> SegHead& { return c.model.head; }, parse_seg_head, [](SegHead h) { return to_string(h); });
  t.add<int64_t>("output_stride", [](C& c) -> int64_t& { return c.model.output_stride; });
  t.add<std::vector<int64_t>>("atrous_rates", [](C& c) -> std::vector<int64_t>& { return c.model.atrous_rates; });
  t.add<std::vector<double>>("msc_scales", [](C& c) -> std::vector<double>& { return c.model.msc_scales; });
  t.add_named<BnMode>("bn", [](C& c) -> BnMode& { return c.model.bn; }, parse_bn_mode, [](BnMode m) { return to_string(m); });
  t.add_named<SegInput>("input", [](C& c) -> SegInput& { return c.model.input; }, parse_seg_input, [](SegInput i) { return to_string(i); });
}

const ConfigTable<SegTrainConfig>& seg_table() {
  static const ConfigTable<SegTrainConfig> table = [] {
    ConfigTable<SegTrainConfig> t;
    using C = SegTrainConfig;
    t.add("data", &C::data).add("list", &C::list).add("masks", &C::masks).add("val_list", &C::val_list).add("init", &C::init);
    add_model_keys(t);
    t.add("crop", &C::crop).add("scales", &C::scales).add("base_size", &C::base_size).add("flip", &C::flip);
    t.add("batch", &C::batch).add("iter_size", &C::iter_size).add("iterations", &C::iterations);
    t.add("lr", &C::lr).add("lr_mult_head", &C::lr_mult_head).add("lr_mult_head_bias", &C::lr_mult_head_bias);
    t.add("momentum", &C::momentum).add("weight_decay", &C::weight_decay).add("poly_power", &C::poly_power);
    t.add("lr_decay_every", &C::lr_decay_every);
    t.add_named<SegLoss>("loss", [](C& c) -> SegLoss& { return c.loss; }, parse_seg_loss, [](SegLoss l) { return to_string(l); });
    t.add("val_every", &C::val_every).add("save_every", &C::save_every).add("seed", &C::seed).add("workers", &C::workers);
    return t;
  }();
  return table;
}

void require(bool ok, const std::string& key, const std::string& expected, const std::string& got) {
  if (!ok) throw Error("segmentation config: " + key + ": expected " + expected + ", got " + got);
}

bool finite_positive(double v) { return std::isfinite(v) && v > 0; }

}  // namespace

SegLoss parse_seg_loss(const std::string& s) { return parse_enum(kLosses, s, "loss"); }
std::string to_string(SegLoss l) { return enum_name(kLosses, l); }

SegTrainConfig seg_config_from_yaml(const std::string& path) {
  SegTrainConfig c;
  seg_table().read(c, load_yaml_config(path, "--config"), path);
  return c;
}

void set_seg_config_key(SegTrainConfig& c, const std::string& key_eq_value) {
  const auto eq = key_eq_value.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set: expected key=value, got '" + key_eq_value + "'");
  seg_table().read_key(c, key_eq_value.substr(0, eq), YAML::Load(key_eq_value.substr(eq + 1)), "--set");
}

void validate(const SegTrainConfig& c) {
  DeepLabOptions m = c.model;
  m.num_classes = 1;  // from the data set
  try {
    validate(m);
  } catch (const Error& e) {
    throw Error(std::string("segmentation config: ") + e.what());
  }
  require(!c.data.empty(), "data", "the dataset root", "nothing");
  require(c.crop >= 33 && c.crop <= 2048, "crop", "an integer in [33, 2048]", std::to_string(c.crop));
  require(!c.scales.empty(), "scales", "a list of rescale factors", "an empty list");
  for (double s : c.scales) require(s > 0 && s <= 8, "scales", "factors in (0, 8]", shortest_double(s));
  require(c.base_size >= 0 && c.base_size <= 8192, "base_size", "0 (off) or a long side in pixels", std::to_string(c.base_size));
  require(c.batch >= 1 && c.batch <= 4096, "batch", "an integer in [1, 4096]", std::to_string(c.batch));
  require(c.iter_size >= 1 && c.iter_size <= 1024, "iter_size", "an integer in [1, 1024]", std::to_string(c.iter_size));
  require(c.iterations >= 1 && c.iterations <= 100000000, "iterations", "an integer >= 1", std::to_string(c.iterations));
  require(finite_positive(c.lr), "lr", "a number > 0", shortest_double(c.lr));
  require(finite_positive(c.lr_mult_head), "lr_mult_head", "a number > 0", shortest_double(c.lr_mult_head));
  require(finite_positive(c.lr_mult_head_bias), "lr_mult_head_bias", "a number > 0", shortest_double(c.lr_mult_head_bias));
  require(c.momentum >= 0 && c.momentum < 1, "momentum", "a number in [0, 1)", shortest_double(c.momentum));
  require(c.weight_decay >= 0 && std::isfinite(c.weight_decay), "weight_decay", "a number >= 0", shortest_double(c.weight_decay));
  require(c.poly_power >= 0 && std::isfinite(c.poly_power), "poly_power", "a number >= 0", shortest_double(c.poly_power));
  require(c.lr_decay_every >= 1, "lr_decay_every", "an integer >= 1", std::to_string(c.lr_decay_every));
  require(c.val_every >= 0, "val_every", "an integer >= 0", std::to_string(c.val_every));
  require(c.save_every >= 1, "save_every", "an integer >= 1", std::to_string(c.save_every));
  require(c.workers >= 0 && c.workers <= 256, "workers", "an integer in [0, 256]", std::to_string(c.workers));
}

std::string seg_config_yaml(const SegTrainConfig& c) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  seg_table().write(c, e);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace amr

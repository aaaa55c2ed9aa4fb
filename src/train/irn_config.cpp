#include <yaml-cpp/yaml.h>

#include "amr/base/error.h"
#include "amr/base/text.h"
#include "amr/io/config_table.h"
#include "amr/io/yaml_config.h"
#include "amr/model/resnet.h"
#include "amr/train/irn_trainer.h"

namespace amr {
namespace {

const ConfigTable<IrnTrainConfig>& irn_table() {
  static const ConfigTable<IrnTrainConfig> table = [] {
    ConfigTable<IrnTrainConfig> t;
    using C = IrnTrainConfig;
    t.add("data", &C::data).add("list", &C::list).add("labels", &C::labels).add("infer_list", &C::infer_list).add("init", &C::init);
    t.add("arch", &C::arch).add("crop", &C::crop).add("epochs", &C::epochs).add("batch", &C::batch).add("radius", &C::radius);
    t.add("lr", &C::lr).add("weight_decay", &C::weight_decay).add("momentum", &C::momentum).add("poly_power", &C::poly_power);
    t.add("scale_min", &C::scale_min).add("scale_max", &C::scale_max).add("seed", &C::seed).add("workers", &C::workers);
    return t;
  }();
  return table;
}

void require(bool ok, const std::string& key, const std::string& expected, const std::string& got) {
  if (!ok) throw Error("IRN config: " + key + ": expected " + expected + ", got " + got);
}

}  // namespace

IrnTrainConfig irn_config_from_yaml(const std::string& path) {
  IrnTrainConfig c;
  irn_table().read(c, load_yaml_config(path, "--config"), path);
  return c;
}

void set_irn_config_key(IrnTrainConfig& c, const std::string& key_eq_value) {
  const auto eq = key_eq_value.find('=');
  if (eq == std::string::npos || eq == 0) throw Error("--set: expected key=value, got '" + key_eq_value + "'");
  const YAML::Node value = YAML::Load(key_eq_value.substr(eq + 1));
  irn_table().read_key(c, key_eq_value.substr(0, eq), value, "--set");
}

void validate(const IrnTrainConfig& c) {
  ResNetOptions backbone;
  backbone.arch = c.arch;
  validate(backbone);
  require(!c.data.empty(), "data", "the dataset root", "nothing");
  require(!c.labels.empty(), "labels", "the IR label directory (amr label --fg --bg --crf)", "nothing");
  require(c.crop >= 64 && c.crop % 16 == 0 && c.crop <= 2048, "crop", "a multiple of 16 in [64, 2048]", std::to_string(c.crop));
  require(c.radius >= 2 && c.radius < c.crop / 8, "radius", "an integer in [2, crop / 8)", std::to_string(c.radius));
  require(c.epochs >= 1 && c.epochs <= 10000, "epochs", "an integer in [1, 10000]", std::to_string(c.epochs));
  require(c.batch >= 1 && c.batch <= 4096, "batch", "an integer in [1, 4096]", std::to_string(c.batch));
  require(c.lr > 0 && std::isfinite(c.lr), "lr", "a number > 0", shortest_double(c.lr));
  require(c.weight_decay >= 0 && std::isfinite(c.weight_decay), "weight_decay", "a number >= 0", shortest_double(c.weight_decay));
  require(c.momentum >= 0 && c.momentum < 1, "momentum", "a number in [0, 1)", shortest_double(c.momentum));
  require(c.poly_power >= 0 && std::isfinite(c.poly_power), "poly_power", "a number >= 0", shortest_double(c.poly_power));
  require(c.scale_min > 0 && c.scale_max >= c.scale_min && c.scale_max <= 8, "scale_min/scale_max", "0 < scale_min <= scale_max <= 8",
          shortest_double(c.scale_min) + "/" + shortest_double(c.scale_max));
  require(c.workers >= 0 && c.workers <= 256, "workers", "an integer in [0, 256]", std::to_string(c.workers));
}

std::string irn_config_yaml(const IrnTrainConfig& c) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  irn_table().write(c, e);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace amr

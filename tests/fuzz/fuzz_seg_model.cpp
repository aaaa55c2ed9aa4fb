// Segmentation model descriptions (amr_seg_model.json inside a model file) and segmentation
// configs (YAML): amr::parse_deeplab_description and the seg config table, then validate().
#include <string>

#include <yaml-cpp/yaml.h>

#include "amr/model/deeplab_file.h"
#include "amr/seg/seg_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    amr::parse_deeplab_description(text, "fuzz.json");
  } catch (const std::exception&) {
  }
  try {
    amr::SegTrainConfig c;
    const YAML::Node root = YAML::Load(text);
    if (root.IsMap())
      for (auto it = root.begin(); it != root.end(); ++it) amr::set_seg_config_key(c, it->first.as<std::string>() + "=" + YAML::Dump(it->second));
    amr::validate(c);
  } catch (const std::exception&) {
  }
  return 0;
}

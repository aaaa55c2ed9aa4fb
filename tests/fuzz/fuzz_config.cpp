// Training configs (YAML text): amr::config_from_yaml_text, then resolve().
#include <string>

#include "amr/train/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    amr::TrainConfig c = amr::config_from_yaml_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
    c.resolve();
  } catch (const std::exception&) {
  }
  return 0;
}

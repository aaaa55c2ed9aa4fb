// Label masks (8-bit palette / grey PNG): amr::read_label_png.
#include "amr/io/png.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    amr::read_label_png(fuzz_file(data, size, ".png"));
  } catch (const std::exception&) {
  }
  return 0;
}

// Image files: label masks (8-bit palette / grey PNG, amr::read_label_png) and the header checks
// that run before any image is decoded (PNG IHDR, JPEG SOF: amr::check_declared_image_size,
// amr::check_png_image). The corpus holds the scenes' PNG masks and JPEG images.
#include <vector>

#include "amr/io/image_header.h"
#include "amr/io/png.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    amr::check_declared_image_size("fuzz", data, size, "image");
  } catch (const std::exception&) {
  }
  try {
    amr::check_png_image("fuzz", std::vector<char>(data, data + size), "image");
  } catch (const std::exception&) {
  }
  try {
    amr::read_label_png(fuzz_file(data, size, ".png"));
  } catch (const std::exception&) {
  }
  return 0;
}

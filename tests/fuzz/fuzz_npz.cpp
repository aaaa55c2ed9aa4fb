// CAM files (.npz): amr::read_npz and the CAM file checks on top of it.
#include "amr/cam/cam_file.h"
#include "amr/io/npz.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_file(data, size, ".npz");
  try {
    amr::read_npz(path);
  } catch (const std::exception&) {
  }
  try {
    amr::read_cam_file(path, 20, /*need_branches=*/false);
  } catch (const std::exception&) {
  }
  return 0;
}

// The official make_cam's CAM files (.npy holding a pickled dict of numpy arrays and torch
// tensors): amr::read_npy_dict and the CAM file checks on top of it.
#include "amr/cam/cam_file.h"
#include "amr/io/npy_dict.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_file(data, size, ".npy");
  try {
    amr::read_npy_dict(path);
  } catch (const std::exception&) {
  }
  try {
    amr::read_cam_file(path, 20, /*need_branches=*/false);
  } catch (const std::exception&) {
  }
  return 0;
}

// Checkpoints (.pth: PyTorch zip with data.pkl, or the legacy pickle stream): amr::read_pth.
#include "amr/io/pth.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    amr::read_pth(fuzz_file(data, size, ".pth"));
  } catch (const std::exception&) {  // a clean error is the expected outcome
  }
  return 0;
}

// Compiled only in builds against a CUDA LibTorch (CMakeLists: AMR_CUDA).
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL  // ProcessGroupNCCL.hpp is empty without it (Torch's CMake sets it for CUDA builds)
#endif
#include "amr/distributed/nccl_group.h"

#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace amr {

c10::intrusive_ptr<compat::ProcessGroupBase> make_nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                             int size, std::chrono::milliseconds timeout, int device) {
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));  // NCCL's communicator lives on the current device
  auto o = c10d::ProcessGroupNCCL::Options::create();
  o->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, o);
}

}  // namespace amr

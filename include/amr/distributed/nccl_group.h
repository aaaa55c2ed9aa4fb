#pragma once
#include <chrono>

#include <c10/util/intrusive_ptr.h>

#include "amr/base/torch_compat.h"

namespace c10d {
class Store;
}

namespace amr {

// c10d's ProcessGroupNCCL of `size` ranks over `store`, bound to CUDA device `device`.
// Throws amr::Error in a CPU-only build.
c10::intrusive_ptr<compat::ProcessGroupBase> make_nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                             int size, std::chrono::milliseconds timeout, int device);

}  // namespace amr

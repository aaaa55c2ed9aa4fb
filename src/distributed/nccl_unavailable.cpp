// The CPU-only build's stand-in for nccl_group.cpp.
#include "amr/base/error.h"
#include "amr/distributed/nccl_group.h"

namespace amr {

c10::intrusive_ptr<compat::ProcessGroupBase> make_nccl_group(const c10::intrusive_ptr<c10d::Store>&, int, int,
                                                             std::chrono::milliseconds, int) {
  throw Error("--dist-backend nccl: this build of amr runs on the CPU only (build it against a CUDA LibTorch: scripts/build.sh --torch2)");
}

}  // namespace amr

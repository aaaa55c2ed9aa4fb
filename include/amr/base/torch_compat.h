#pragma once
// The one place where amr's code meets an API that differs between the supported LibTorch
// versions (Debian's 1.13.1 and the PyPI wheel's 2.x). Everything else calls these.
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <c10/util/intrusive_ptr.h>
#include <torch/version.h>

#include <string>

namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace amr::compat {

// The c10d class that ProcessGroupGloo and ProcessGroupNCCL derive from, whose allreduce /
// broadcast / barrier amr calls (2.x split the old ProcessGroup into ProcessGroup + Backend).
#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend;
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif
// Releases the group's communicators before it is destroyed (2.x warns otherwise; 1.13: nothing).
void shutdown_group(const c10::intrusive_ptr<ProcessGroupBase>& group);

// bfloat16 autocast on one device type (CPU or CUDA) for the scope's lifetime; off (and its
// cache cleared) on exit. `on` false: does nothing.
class Bf16AutocastScope {
 public:
  Bf16AutocastScope(c10::DeviceType device, bool on);
  ~Bf16AutocastScope();
  Bf16AutocastScope(const Bf16AutocastScope&) = delete;
  Bf16AutocastScope& operator=(const Bf16AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool on_;
};

// The LibTorch this binary runs on, e.g. "1.13.1" or "2.11.0".
std::string torch_version();

}  // namespace amr::compat

#include "amr/base/torch_compat.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif

namespace amr::compat {

namespace {

void set_autocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

}  // namespace

Bf16AutocastScope::Bf16AutocastScope(c10::DeviceType device, bool on) : device_(device), on_(on) {
  if (on_) set_autocast(device_, true, at::kBFloat16);
}

Bf16AutocastScope::~Bf16AutocastScope() {
  if (!on_) return;
  set_autocast(device_, false, at::kBFloat16);
  at::autocast::clear_cache();
}

void shutdown_group(const c10::intrusive_ptr<ProcessGroupBase>& group) {
#if TORCH_VERSION_MAJOR >= 2
  if (group) group->shutdown();
#else
  (void)group;
#endif
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace amr::compat

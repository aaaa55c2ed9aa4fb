#pragma once
#include <string>

#include <c10/core/Device.h>

namespace amr {

// Where the networks run: the CPU, or a CUDA device (index -1: the local rank's under a
// data-parallel launcher, else 0).
struct Device {
  enum class Kind { Cpu, Cuda } kind = Kind::Cpu;
  int index = -1;
  bool is_cuda() const { return kind == Kind::Cuda; }
};
// cpu | cuda | cuda:K; throws naming --device (cuda: only in a CUDA build with a GPU).
Device parse_device(const std::string& s);
std::string to_string(const Device& d);
// The torch device (CUDA index resolved to `local_rank` when unset).
c10::Device torch_device(const Device& d, int local_rank = 0);

// What a stage runs on, created once by the entry point (configure_runtime) and handed down:
// the stage's thread count and device. Never saved with a run: a resumed run uses the current
// machine's.
struct Runtime {
  int threads = 1;  // intra-op threads (and parallel_for workers of CPU stages), >= 1
  Device device;
};

// Process-wide run-time set-up, called once by every entry point (CLI, tests, benches):
// - intra-op threads (OpenMP defaults to 1 here, which also routes 1x1 convolutions to BLAS);
//   threads <= 0 means all available cores, shared evenly by the `local_ranks` processes of a
//   data-parallel job on this machine;
// - glibc malloc thresholds raised so big activation buffers are reused instead of being
//   returned to the OS every step (~20% per training step); AMR_MALLOC_TUNING=0 turns it off;
// - denormals flushed to zero (denormal activations make CPU kernels ~10x slower).
// Returns the resolved Runtime.
Runtime configure_runtime(int threads, Device device = {}, int local_ranks = 1);

int available_cores();

// Native bfloat16 arithmetic (avx512_bf16 or amx_bf16 among the flags of /proc/cpuinfo's text):
// without it CPU autocast emulates bf16, ~11x slower than fp32 (measured on an AVX2 machine).
bool cpuinfo_has_native_bf16(const std::string& cpuinfo);
bool cpu_has_native_bf16();  // this machine's /proc/cpuinfo

}  // namespace amr

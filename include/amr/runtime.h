#pragma once
#include <string>

namespace amr {

enum class Device { Cpu, Cuda };
Device parse_device(const std::string& s);  // cpu | cuda; throws naming --device (cuda: only where available)
std::string to_string(Device d);

// What a stage runs on, created once by the entry point (configure_runtime) and handed down:
// the stage's thread count and device. Never saved with a run: a resumed run uses the current
// machine's.
struct Runtime {
  int threads = 1;  // intra-op threads (and parallel_for workers of CPU stages), >= 1
  Device device = Device::Cpu;
};

// Process-wide run-time set-up, called once by every entry point (CLI, tests, benches):
// - intra-op threads (OpenMP defaults to 1 here, which also routes 1x1 convolutions to BLAS);
//   threads <= 0 means all available cores;
// - glibc malloc thresholds raised so big activation buffers are reused instead of being
//   returned to the OS every step (~20% per training step); AMR_MALLOC_TUNING=0 turns it off;
// - denormals flushed to zero (denormal activations make CPU kernels ~10x slower).
// Returns the resolved Runtime.
Runtime configure_runtime(int threads, Device device = Device::Cpu);

int available_cores();

}  // namespace amr

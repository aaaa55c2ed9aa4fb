#pragma once

namespace amr {

// Process-wide run-time set-up, called once by every entry point (CLI, tests, benches):
// - intra-op threads (OpenMP defaults to 1 here, which also routes 1x1 convolutions to BLAS);
//   threads <= 0 means all available cores;
// - glibc malloc thresholds raised so big activation buffers are reused instead of being
//   returned to the OS every step (~20% per training step);
// - denormals flushed to zero (denormal activations make CPU kernels ~10x slower).
void configure_runtime(int threads);

int available_cores();

}  // namespace amr

#pragma once
// The fuzzer's bytes as a file (the readers take paths, as the CLI gives them), in /dev/shm.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

inline std::string fuzz_file(const uint8_t* data, size_t size, const char* ext) {
  static const std::string path = "/dev/shm/amr-fuzz-" + std::to_string(getpid()) + ext;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

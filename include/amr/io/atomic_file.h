#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace amr {

// Writes `path` through `path.tmp.<pid>` + rename, so a reader (or a resumed run)
// never sees a partial file. On any exception the temp file is removed.
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& writer);
void write_bytes_atomically(const std::string& path, const char* data, size_t size);
inline void write_bytes_atomically(const std::string& path, const std::vector<char>& bytes) {
  write_bytes_atomically(path, bytes.data(), bytes.size());
}
inline void write_bytes_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
  write_bytes_atomically(path, reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
inline void write_text_atomically(const std::string& path, const std::string& text) {
  write_bytes_atomically(path, text.data(), text.size());
}

std::vector<char> read_file_bytes(const std::string& path, const std::string& what = "file");

// Creates `dir` (and parents) or throws naming the flag.
void ensure_dir(const std::string& dir, const std::string& flag);

// Removes the `*.tmp.<pid>` files that writers killed mid-write left in `dir` (their pid no
// longer runs on this host); returns how many. A run directory (one writer) calls it on start;
// CAM directories do not (shards on other hosts share them).
int remove_stale_temp_files(const std::string& dir);

}  // namespace amr

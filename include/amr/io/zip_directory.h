#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace amr {

// One member of a zip archive as its central directory declares it (zip64 sizes resolved).
struct ZipEntry {
  std::string name;
  uint32_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed
  uint64_t local_header = 0;
};

// The central directory of the zip archive in `bytes` (.npz, PyTorch zip checkpoints). Every
// entry lies inside the buffer and no declared size exceeds what the file can hold (stored: the
// file's size; deflated: deflate's ~1032:1 limit), so a reader may allocate a declared size.
// Throws amr::Error("<what>: <reason>") otherwise.
std::vector<ZipEntry> read_zip_directory(const std::vector<char>& bytes, const std::string& what);

// Offset of an entry's data (after its local header), checked to hold compressed_size bytes.
uint64_t zip_entry_data(const std::vector<char>& bytes, const ZipEntry& entry, const std::string& what);

}  // namespace amr

#include "amr/io/zip_directory.h"

#include "amr/base/error.h"

namespace amr {
namespace {

uint64_t le(const std::vector<char>& b, uint64_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<uint64_t>(i)]);
  return v;
}

// The end-of-central-directory record: the last signature within its 64 KiB comment range.
uint64_t find_end_of_directory(const std::vector<char>& b, const std::string& what) {
  if (b.size() < 22) throw Error(what + ": not a zip archive (too short)");
  for (uint64_t p = b.size() - 22 + 1; p-- > 0 && b.size() - p <= 65557;)
    if (le(b, p, 4) == 0x06054b50) return p;
  throw Error(what + ": not a zip archive (no end of central directory; truncated?)");
}

// Zip64 extra field (id 1): the real sizes of fields saturated at 0xFFFFFFFF, in this order.
void apply_zip64_extra(const std::vector<char>& b, uint64_t from, uint64_t end, ZipEntry& e) {
  for (uint64_t x = from; x + 4 <= end;) {
    const uint64_t id = le(b, x, 2), len = le(b, x + 2, 2);
    if (x + 4 + len > end) return;
    uint64_t f = x + 4;
    if (id == 0x0001) {
      if (e.size == 0xFFFFFFFF && f + 8 <= x + 4 + len) e.size = le(b, f, 8), f += 8;
      if (e.compressed_size == 0xFFFFFFFF && f + 8 <= x + 4 + len) e.compressed_size = le(b, f, 8), f += 8;
      if (e.local_header == 0xFFFFFFFF && f + 8 <= x + 4 + len) e.local_header = le(b, f, 8);
    }
    x += 4 + len;
  }
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(const std::vector<char>& b, const std::string& what) {
  auto corrupt = [&](const std::string& why) { return Error(what + ": corrupt zip directory (" + why + ")"); };
  const uint64_t eocd = find_end_of_directory(b, what);
  uint64_t entries = le(b, eocd + 10, 2), at = le(b, eocd + 16, 4);
  if ((entries == 0xFFFF || at == 0xFFFFFFFF) && eocd >= 20 && le(b, eocd - 20, 4) == 0x07064b50) {
    const uint64_t z = le(b, eocd - 20 + 8, 8);
    if (b.size() < 56 || z > b.size() - 56 || le(b, z, 4) != 0x06064b50) throw corrupt("bad zip64 end record");
    entries = le(b, z + 32, 8);
    at = le(b, z + 48, 8);
  }
  // Each entry takes at least 46 bytes: more declared entries than that cannot be real.
  if (entries > b.size() / 46) throw corrupt(std::to_string(entries) + " entries declared");
  std::vector<ZipEntry> out;
  for (uint64_t n = 0; n < entries; ++n) {
    if (at > b.size() || b.size() - at < 46 || le(b, at, 4) != 0x02014b50) throw corrupt("bad entry header");
    ZipEntry e;
    e.method = static_cast<uint32_t>(le(b, at + 10, 2));
    e.crc = static_cast<uint32_t>(le(b, at + 16, 4));
    e.compressed_size = le(b, at + 20, 4);
    e.size = le(b, at + 24, 4);
    e.local_header = le(b, at + 42, 4);
    const uint64_t nlen = le(b, at + 28, 2), xlen = le(b, at + 30, 2), clen = le(b, at + 32, 2);
    if (b.size() - at - 46 < nlen + xlen) throw corrupt("entry name past the end");
    e.name.assign(b.data() + at + 46, nlen);
    apply_zip64_extra(b, at + 46 + nlen, at + 46 + nlen + xlen, e);
    const uint64_t limit = e.method == 0 ? b.size() : e.compressed_size * 1032 + 1024;
    if (e.size > limit || e.compressed_size > b.size())
      throw corrupt("entry '" + e.name + "' declares " + std::to_string(e.size) + " bytes in a file of " +
                    std::to_string(b.size()));
    out.push_back(std::move(e));
    at += 46 + nlen + xlen + clen;
  }
  return out;
}

uint64_t zip_entry_data(const std::vector<char>& b, const ZipEntry& e, const std::string& what) {
  const uint64_t at = e.local_header;
  if (at > b.size() || b.size() - at < 30 || le(b, at, 4) != 0x04034b50)
    throw Error(what + ": corrupt zip entry '" + e.name + "' (bad local header)");
  const uint64_t data = at + 30 + le(b, at + 26, 2) + le(b, at + 28, 2);
  if (data > b.size() || b.size() - data < e.compressed_size)
    throw Error(what + ": truncated zip entry '" + e.name + "'");
  return data;
}

}  // namespace amr

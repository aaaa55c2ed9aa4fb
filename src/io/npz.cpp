#include "amr/io/npz.h"

#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/io/zip_directory.h"

namespace amr {
namespace {

struct DtypeCode {
  at::ScalarType type;
  const char* descr;
};
const DtypeCode kDtypes[] = {{at::kFloat, "<f4"}, {at::kDouble, "<f8"}, {at::kInt, "<i4"},
                             {at::kLong, "<i8"},  {at::kByte, "|u1"},   {at::kBool, "|b1"}};

std::string npy_bytes(const at::Tensor& t, const std::string& name) {
  const at::Tensor c = t.contiguous().cpu();
  const char* descr = nullptr;
  for (auto& d : kDtypes)
    if (d.type == c.scalar_type()) descr = d.descr;
  if (!descr) throw Error("npz: unsupported dtype for '" + name + "'");
  std::string shape = "(";
  for (int64_t i = 0; i < c.dim(); ++i) shape += std::to_string(c.size(i)) + (c.dim() == 1 ? "," : (i + 1 < c.dim() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // magic(6) + version(2) + len(2) + header + '\n', padded to a multiple of 64.
  const size_t total = ((10 + header.size() + 1 + 63) / 64) * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const auto hl = static_cast<uint16_t>(header.size());
  out += static_cast<char>(hl & 0xff);
  out += static_cast<char>(hl >> 8);
  out += header;
  out.append(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  return out;
}

void put16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}
uint32_t get16(const char* p) { return uint32_t(uint8_t(p[0])) | (uint32_t(uint8_t(p[1])) << 8); }
uint32_t get32(const char* p) { return get16(p) | (get16(p + 2) << 16); }

}  // namespace

// "(3, 4)" inside the header's parentheses: at most 32 dimensions, each a decimal int64.
std::vector<int64_t> parse_npy_shape(const std::string& text, const std::string& what) {
  std::vector<int64_t> shape;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == ',')) ++pos;
    if (pos >= text.size()) break;
    int64_t v = 0;
    const auto r = std::from_chars(text.data() + pos, text.data() + text.size(), v);
    if (r.ec != std::errc() || v < 0) throw Error(what + ": bad shape (" + text + ") in .npy header");
    if (shape.size() == 32) throw Error(what + ": .npy shape of more than 32 dimensions");
    shape.push_back(v);
    pos = static_cast<size_t>(r.ptr - text.data());
  }
  return shape;
}

NpyHeader parse_npy_header(const std::string& data, const std::string& what) {
  if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0) throw Error(what + ": not a .npy array");
  const int major = static_cast<uint8_t>(data[6]);
  size_t hl, off;
  if (major == 1) {
    hl = get16(data.data() + 8);
    off = 10;
  } else {
    if (data.size() < 12) throw Error(what + ": truncated .npy header");
    hl = get32(data.data() + 8);
    off = 12;
  }
  if (off + hl > data.size()) throw Error(what + ": truncated .npy header");
  const std::string header = data.substr(off, hl);
  auto field = [&](const std::string& key) {
    auto p = header.find("'" + key + "'");
    if (p == std::string::npos) throw Error(what + ": .npy header without '" + key + "'");
    return header.substr(header.find(':', p) + 1);
  };
  NpyHeader h;
  h.descr = field("descr");
  h.descr = h.descr.substr(h.descr.find('\'') + 1);
  h.descr = h.descr.substr(0, h.descr.find('\''));
  h.fortran_order = field("fortran_order").find("True") < field("fortran_order").find(',');
  std::string shape_s = field("shape");
  shape_s = shape_s.substr(shape_s.find('(') + 1);
  shape_s = shape_s.substr(0, shape_s.find(')'));
  h.shape = parse_npy_shape(shape_s, what);
  h.data_offset = off + hl;
  return h;
}

at::ScalarType npy_dtype(const std::string& descr, const std::string& what) {
  for (auto& d : kDtypes)
    if (descr == d.descr || (descr.size() == 3 && descr.substr(1) == std::string(d.descr).substr(1) && descr[0] == '='))
      return d.type;
  throw Error(what + ": unsupported dtype " + descr);
}

at::Tensor npy_array(at::ScalarType type, const std::vector<int64_t>& shape, const char* bytes, size_t available,
                     const std::string& what) {
  const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  size_t nbytes = empty ? 0 : c10::elementSize(type);
  for (int64_t d : shape) {
    if (empty) break;
    if (nbytes > available / static_cast<size_t>(d))
      throw Error(what + ": array shape " + c10::str(shape) + " declares more data than the " + std::to_string(available) +
                  " bytes that hold it");
    nbytes *= static_cast<size_t>(d);
  }
  at::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
  if (nbytes > 0) std::memcpy(t.data_ptr(), bytes, nbytes);  // an empty tensor has no data pointer
  return t;
}

at::Tensor parse_npy(const std::string& data, const std::string& what) {
  const NpyHeader h = parse_npy_header(data, what);
  const at::ScalarType type = npy_dtype(h.descr, what);
  if (h.fortran_order) throw Error(what + ": Fortran-ordered arrays are not supported");
  // The declared size is bounded by the bytes that follow the header before anything is allocated.
  return npy_array(type, h.shape, data.data() + h.data_offset, data.size() - h.data_offset, what);
}

void write_npz(const std::string& path, const NamedArrays& arrays) {
  std::string zip, central;
  for (const auto& [name, t] : arrays) {
    const std::string file = name + ".npy";
    const std::string body = npy_bytes(t, name);
    const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
    const auto offset = static_cast<uint32_t>(zip.size());
    if (body.size() >= 0xffffffffu || zip.size() >= 0xffffffffu) throw Error(path + ": array too large for .npz");
    // Local file header, stored (method 0).
    put32(zip, 0x04034b50);
    put16(zip, 20);
    put16(zip, 0);
    put16(zip, 0);
    put16(zip, 0);
    put16(zip, 0x21);
    put32(zip, crc);
    put32(zip, static_cast<uint32_t>(body.size()));
    put32(zip, static_cast<uint32_t>(body.size()));
    put16(zip, static_cast<uint32_t>(file.size()));
    put16(zip, 0);
    zip += file;
    zip += body;
    put32(central, 0x02014b50);
    put16(central, 20);
    put16(central, 20);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, static_cast<uint32_t>(body.size()));
    put32(central, static_cast<uint32_t>(body.size()));
    put16(central, static_cast<uint32_t>(file.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central += file;
  }
  const auto cd_offset = static_cast<uint32_t>(zip.size());
  zip += central;
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, static_cast<uint32_t>(arrays.size()));
  put16(zip, static_cast<uint32_t>(arrays.size()));
  put32(zip, static_cast<uint32_t>(central.size()));
  put32(zip, cd_offset);
  put16(zip, 0);
  write_bytes_atomically(path, zip.data(), zip.size());
}

NamedArrays read_npz(const std::string& path) {
  const std::vector<char> bytes = read_file_bytes(path, "CAM file");
  NamedArrays out;
  for (const ZipEntry& e : read_zip_directory(bytes, path)) {
    const char* data = bytes.data() + zip_entry_data(bytes, e, path);
    if (e.size > 0xFFFFFFFFu || e.compressed_size > 0xFFFFFFFFu)  // zlib's counters are 32-bit
      throw Error(path + ": entry " + e.name + " is larger than 4 GiB (not supported)");
    std::string body;
    if (e.method == 0) {
      body.assign(data, e.compressed_size);
    } else if (e.method == 8) {
      body.resize(e.size);  // bounded by read_zip_directory
      z_stream zs{};
      inflateInit2(&zs, -MAX_WBITS);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
      zs.avail_in = static_cast<uInt>(e.compressed_size);
      zs.next_out = reinterpret_cast<Bytef*>(body.data());
      zs.avail_out = static_cast<uInt>(e.size);
      const int rc = inflate(&zs, Z_FINISH);
      inflateEnd(&zs);
      if (rc != Z_STREAM_END) throw Error(path + ": corrupt compressed entry " + e.name);
    } else {
      throw Error(path + ": unsupported zip compression in entry " + e.name);
    }
    if (crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())) != e.crc)
      throw Error(path + ": checksum mismatch in entry " + e.name);
    std::string name = e.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(name, parse_npy(body, path + ": " + name));
  }
  return out;
}

at::Tensor npz_get(const NamedArrays& arrays, const std::string& key, const std::string& path) {
  for (const auto& [k, v] : arrays)
    if (k == key) return v;
  throw Error(path + ": no array '" + key + "'");
}

}  // namespace amr

#include "amr/io/image_header.h"

#include <algorithm>
#include <cstring>

#include "amr/base/error.h"

namespace amr {
namespace {

constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
constexpr double kDeflateMaxRatio = 1032.0;

uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

bool is_png(const uint8_t* d, size_t n) { return n >= 8 && std::memcmp(d, kPngSignature, 8) == 0; }
bool is_jpeg(const uint8_t* d, size_t n) { return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF; }

std::optional<ImageSize> jpeg_size(const uint8_t* d, size_t n) {
  size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) return std::nullopt;
    const uint8_t type = d[i + 1];
    if (type == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (type == 0xD8 || (type >= 0xD0 && type <= 0xD7) || type == 0x01) {  // markers without a length
      i += 2;
      continue;
    }
    const size_t length = be16(d + i + 2);
    const bool sof = type >= 0xC0 && type <= 0xCF && type != 0xC4 && type != 0xC8 && type != 0xCC;
    if (sof) {
      if (i + 9 > n) return std::nullopt;
      return ImageSize{be16(d + i + 7), be16(d + i + 5)};
    }
    if (type == 0xDA || length < 2) return std::nullopt;  // scan data before any frame header
    i += 2 + length;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageSize> declared_image_size(const uint8_t* data, size_t size) {
  if (is_png(data, size)) {
    if (size < 24 || std::memcmp(data + 12, "IHDR", 4) != 0) return std::nullopt;
    return ImageSize{be32(data + 16), be32(data + 20)};
  }
  if (is_jpeg(data, size)) return jpeg_size(data, size);
  return std::nullopt;
}

void check_declared_image_size(const std::string& path, const uint8_t* data, size_t size, const std::string& what) {
  const std::optional<ImageSize> s = declared_image_size(data, size);
  if (!s) return;
  const std::string declared = std::to_string(s->width) + " x " + std::to_string(s->height);
  if (s->width < 1 || s->height < 1) throw Error(what + " " + path + ": declares an empty image (" + declared + ")");
  if (s->width * s->height > kMaxImagePixels)
    throw Error(what + " " + path + ": declares " + declared + " pixels (at most " + std::to_string(kMaxImagePixels) +
                "; forged or not a photo)");
  // Every PNG row holds at least one filter byte and one byte of 8 pixels: what deflate must expand
  // the file to. (A JPEG's minimum is smaller than a bit per pixel: only the pixel bound applies.)
  if (is_png(data, size) && static_cast<double>(s->height) * (1.0 + s->width / 8.0) > kDeflateMaxRatio * size)
    throw Error(what + " " + path + ": declares " + declared + " pixels in a file of " + std::to_string(size) +
                " bytes (no PNG can hold them)");
}

void check_png_image(const std::string& path, const std::vector<char>& bytes, const std::string& what) {
  const auto* d = reinterpret_cast<const uint8_t*>(bytes.data());
  if (!is_png(d, bytes.size()) || !declared_image_size(d, bytes.size()))
    throw Error(what + " " + path + ": not a PNG image");
  check_declared_image_size(path, d, bytes.size(), what);
  if (bytes.size() < 20 || std::memcmp(d + bytes.size() - 8, "IEND", 4) != 0)
    throw Error(what + " " + path + ": truncated PNG (no IEND chunk at its end)");
}

}  // namespace amr

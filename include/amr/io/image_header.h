#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// What an image file declares about itself, read before anything is decoded or allocated.
namespace amr {

// 16384 x 16384: VOC images are 500 x 375; a header beyond this is forged or not a photo.
constexpr int64_t kMaxImagePixels = int64_t(1) << 28;

struct ImageSize {
  int64_t width = 0, height = 0;
};

// The size in a PNG's IHDR or a JPEG's SOF marker; nullopt when the bytes are neither (or cut
// before the size).
std::optional<ImageSize> declared_image_size(const uint8_t* data, size_t size);

// Throws "`what` PATH: ..." unless the declared size is at least 1 x 1, at most kMaxImagePixels,
// and (PNG) its rows fit in what deflate can expand the file to (~1032:1). Bytes that are
// neither PNG nor JPEG pass (the decoder names them).
void check_declared_image_size(const std::string& path, const uint8_t* data, size_t size, const std::string& what);

// A PNG image whole: signature, a plausible IHDR size, an IEND chunk at the end.
void check_png_image(const std::string& path, const std::vector<char>& bytes, const std::string& what);

}  // namespace amr

#include "amr/io/png.h"

#include <png.h>

#include <csetjmp>
#include <filesystem>
#include <cstdio>
#include <memory>
#include <optional>

#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/io/image_header.h"

namespace amr {
namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) fclose(f);
  }
};

void on_png_error(png_structp png, png_const_charp msg) {
  auto* err = static_cast<std::string*>(png_get_error_ptr(png));
  *err = msg;
  longjmp(png_jmpbuf(png), 1);
}
void on_png_warning(png_structp, png_const_charp) {}

}  // namespace

cv::Mat read_label_png(const std::string& path) {
  std::unique_ptr<FILE, FileCloser> f(fopen(path.c_str(), "rb"));
  if (!f) throw Error("mask " + path + ": cannot open");
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path, ec);
  unsigned char sig[8];
  if (fread(sig, 1, 8, f.get()) != 8 || png_sig_cmp(sig, 0, 8)) throw Error("mask " + path + ": not a PNG file");
  std::string err;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
  png_infop info = png_create_info_struct(png);
  cv::Mat out;
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error("mask " + path + ": corrupt PNG (" + err + ")");
  }
  png_init_io(png, f.get());
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (static_cast<int64_t>(w) * h > kMaxImagePixels ||
      static_cast<double>(h) * (1.0 + w / 8.0) > 1032.0 * static_cast<double>(file_bytes)) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error("mask " + path + ": declares " + std::to_string(w) + " x " + std::to_string(h) + " pixels in a file of " +
                std::to_string(file_bytes) + " bytes (forged, or beyond " + std::to_string(kMaxImagePixels) + " pixels)");
  }
  if ((color != PNG_COLOR_TYPE_PALETTE && color != PNG_COLOR_TYPE_GRAY) || depth > 8) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw Error("mask " + path + ": expected an 8-bit palette or grayscale PNG of class indices");
  }
  if (depth < 8) png_set_packing(png);  // 1/2/4-bit indices -> one byte each, values kept
  png_read_update_info(png, info);
  out.create(static_cast<int>(h), static_cast<int>(w), CV_8UC1);
  rows.resize(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = out.ptr<png_byte>(static_cast<int>(y));
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return out;
}

const std::array<std::array<uint8_t, 3>, 256>& voc_palette() {
  static const auto palette = [] {
    std::array<std::array<uint8_t, 3>, 256> p{};
    for (int i = 0; i < 256; ++i) {
      int c = i, r = 0, g = 0, b = 0;
      for (int j = 0; j < 8; ++j) {
        r |= ((c >> 0) & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
        c >>= 3;
      }
      p[i] = {static_cast<uint8_t>(r), static_cast<uint8_t>(g), static_cast<uint8_t>(b)};
    }
    return p;
  }();
  return palette;
}

void write_label_png(const std::string& path, const cv::Mat& labels) {
  if (labels.type() != CV_8UC1) throw Error(path + ": label image must be 8-bit single channel");
  write_atomically(path, [&](const std::string& tmp) {
    std::unique_ptr<FILE, FileCloser> f(fopen(tmp.c_str(), "wb"));
    if (!f) throw Error("cannot write " + path);
    std::string err;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
      png_destroy_write_struct(&png, &info);
      throw Error("cannot write " + path + ": " + err);
    }
    png_init_io(png, f.get());
    png_set_IHDR(png, info, static_cast<png_uint_32>(labels.cols), static_cast<png_uint_32>(labels.rows), 8,
                 PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    std::vector<png_color> pal(256);
    for (int i = 0; i < 256; ++i) pal[i] = {voc_palette()[i][0], voc_palette()[i][1], voc_palette()[i][2]};
    png_set_PLTE(png, info, pal.data(), 256);
    png_write_info(png, info);
    for (int y = 0; y < labels.rows; ++y) png_write_row(png, labels.ptr<png_byte>(y));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    if (fflush(f.get()) != 0) throw Error("cannot write " + path + ": write failed");
  });
}

bool label_png_done(const std::string& label, const std::string& image) {
  if (!std::filesystem::exists(label)) return false;
  try {
    const cv::Mat m = read_label_png(label);
    if (!std::filesystem::exists(image)) return true;
    const std::vector<char> bytes = read_file_bytes(image, "image");
    const std::optional<ImageSize> size = declared_image_size(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return size && m.rows == size->height && m.cols == size->width;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace amr

#pragma once
#include <array>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace amr {

// Label PNGs as class indices (CV_8UC1): 8-bit palette PNGs give their palette indices (OpenCV
// would expand them to colours), 8-bit grayscale PNGs their values. Throws naming the file.
cv::Mat read_label_png(const std::string& path);

// The PASCAL VOC colour map (index -> RGB), 256 entries; 255 is white-ish as in VOC.
const std::array<std::array<uint8_t, 3>, 256>& voc_palette();

// Writes an 8-bit palette PNG (VOC palette), atomically.
void write_label_png(const std::string& path, const cv::Mat& labels);

// What --resume keeps: `label` is a readable label PNG of the size `image`'s header declares (any
// size when `image` does not exist).
bool label_png_done(const std::string& label, const std::string& image);

}  // namespace amr

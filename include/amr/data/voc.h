#pragma once
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace amr {

struct DatasetOptions {
  std::string root;              // ROOT with JPEGImages/, SegmentationClass[Aug]/, classes.txt ...
  std::string list;              // list file: as given, or relative to ROOT
  bool labels_from_masks = false;  // derive image labels from the masks instead of cls_labels.txt
  double label_min_fraction = 0.0; // a class counts when it covers >= this fraction of labelled pixels
  bool require_images = true;      // every id's JPEG must exist
  bool require_masks = false;      // evaluation/crop labels need masks
  bool load_labels = true;         // false: ids and masks only (evaluation)
  bool skip_bad = false;           // drop ids whose image/mask is missing (counted) instead of failing
};

// A VOC-layout dataset: ids of a list, foreground class names, image-level labels.
// Mask values: with a background class, 0 = background and 1..K the foreground classes;
// without one (CamVid), 0..K-1 the classes; 255 = ignore.
struct VocDataset {
  std::string root;
  std::vector<std::string> ids;
  std::vector<std::string> classes;   // foreground classes, K of them
  bool has_background = true;
  std::string mask_dir;               // "" when the dataset has no masks
  std::vector<std::vector<float>> labels;  // [ids][K] zeros/ones
  size_t skipped = 0;                 // ids dropped by skip_bad

  int64_t num_classes() const { return static_cast<int64_t>(classes.size()); }
  std::string image_path(size_t i) const;
  std::string mask_path(size_t i) const;
  // Mask value of foreground class k (0-based) and back; -1 for background/ignore.
  int mask_value(int64_t k) const { return static_cast<int>(has_background ? k + 1 : k); }
  int64_t class_of(int value) const {
    if (value == 255) return -1;
    return has_background ? value - 1 : value;
  }
};

VocDataset open_voc(const DatasetOptions& opt);

// The ground-truth mask of id i; throws naming the file when it is unreadable or holds a value
// that is neither 255 nor a class index of the data set (as `amr eval` does).
cv::Mat read_mask(const VocDataset& ds, size_t i);

// Throws naming `flag` when `out` is, or lies inside, one of the data set's own folders
// (JPEGImages/, SegmentationClass[Aug]/, SegmentationPart/, its mask folder): an output never
// overwrites the images or the ground truth.
void refuse_output_inside_dataset(const std::string& out, const VocDataset& ds, const std::string& flag);
// The same before the data set is opened (train's run directory): ROOT's standard folders only.
void refuse_output_inside_data_root(const std::string& out, const std::string& root, const std::string& flag);

std::vector<std::string> read_id_list(const std::string& path);  // throws naming the file

// Image-level labels from a class-index mask: class k present when it covers at least
// max(1 pixel, min_fraction x labelled pixels).
std::vector<float> labels_from_mask(const cv::Mat& mask, const VocDataset& ds, double min_fraction);

// Reads an image as 8-bit RGB; throws naming the file (missing or corrupt).
cv::Mat read_rgb(const std::string& path);

}  // namespace amr

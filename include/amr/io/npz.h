#pragma once
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace amr {

// NumPy .npz archives (a zip of .npy arrays), readable by numpy.load. Writing stores arrays
// uncompressed (CAMs are read back often; inflate costs more than the disk); reading accepts
// stored and deflated members (np.savez and np.savez_compressed). Supported dtypes: float32,
// float64, int32, int64, uint8, bool.
using NamedArrays = std::vector<std::pair<std::string, at::Tensor>>;

void write_npz(const std::string& path, const NamedArrays& arrays);  // atomic
NamedArrays read_npz(const std::string& path);                      // throws naming the file

// One .npy array (the bytes of a file or of an .npz member); every declared size is checked
// against the bytes that follow the header before anything is allocated. Throws naming `what`.
at::Tensor parse_npy(const std::string& data, const std::string& what);

// The header of a .npy (any dtype, object arrays included) and where its data starts.
struct NpyHeader {
  std::string descr;  // e.g. "<f4", "|O"
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};
NpyHeader parse_npy_header(const std::string& data, const std::string& what);
at::ScalarType npy_dtype(const std::string& descr, const std::string& what);  // one of the supported dtypes
// An array of `shape` from `available` bytes (checked before allocating); throws naming `what`.
at::Tensor npy_array(at::ScalarType type, const std::vector<int64_t>& shape, const char* bytes, size_t available,
                     const std::string& what);

// One array of an .npz by name; throws naming the file and key when absent.
at::Tensor npz_get(const NamedArrays& arrays, const std::string& key, const std::string& path);

}  // namespace amr

#pragma once
#include <string>

#include "amr/io/pth.h"

namespace amr {

// A .npy file holding one pickled dict, as np.save(path, {...}) writes it (the official
// make_cam's CAM files: {"keys": int64 array, "cam": torch tensor, "high_res": float32 array}).
// Values may be numpy arrays (float32/64, int32/64, uint8, bool) or CPU torch tensors (pickled
// with their legacy-format storage); other values are skipped. Untrusted input: every size is
// checked against the bytes that hold it; throws one line naming the file.
NamedTensors read_npy_dict(const std::string& path);

}  // namespace amr

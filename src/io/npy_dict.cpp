#include "amr/io/npy_dict.h"

#include <ATen/ATen.h>

#include "amr/base/error.h"
#include "amr/io/atomic_file.h"
#include "amr/io/npz.h"
#include "amr/io/pickle.h"

namespace amr {
namespace {

using pickle::Ref;
using pickle::Value;

bool is_call(const Ref& v, const std::string& callee) {
  return v && v->kind == Value::Kind::Call && v->callee && v->callee->kind == Value::Kind::Global && v->callee->s == callee;
}

bool is_reconstruct(const Ref& v) {
  return is_call(v, "numpy.core.multiarray._reconstruct") || is_call(v, "numpy._core.multiarray._reconstruct");
}

std::vector<int64_t> ints(const Ref& v, const std::string& what) {
  std::vector<int64_t> out;
  for (const Ref& x : pickle::as_tuple(v, what)) out.push_back(pickle::as_int(x, what));
  return out;
}

// numpy.dtype('f4', False, True) with state (3, '<', ...): the .npy descr "<f4".
std::string dtype_descr(const Ref& dtype, const std::string& what) {
  if (!is_call(dtype, "numpy.dtype")) throw Error(what + ": array without a numpy dtype");
  const auto& args = pickle::as_tuple(dtype->args, what);
  if (args.empty()) throw Error(what + ": numpy dtype without a type code");
  const std::string code = pickle::as_str(args[0], what);
  std::string order = "|";
  if (dtype->state && dtype->state->kind == Value::Kind::Tuple && dtype->state->items.size() > 1 &&
      dtype->state->items[1]->kind == Value::Kind::Str)
    order = dtype->state->items[1]->s;
  if (order == ">") throw Error(what + ": big-endian arrays are not supported");
  return "=" + code;  // native order, which npy_dtype matches against every supported type
}

// numpy's ndarray pickle: _reconstruct(ndarray, (0,), b'b') with state (version, shape, dtype,
// fortran_order, raw bytes).
at::Tensor numpy_array(const Ref& v, const std::string& what) {
  const Ref& st = v->state;
  if (!st || st->kind != Value::Kind::Tuple || st->items.size() != 5) throw Error(what + ": corrupt numpy array state");
  const std::vector<int64_t> shape = ints(st->items[1], what);
  const at::ScalarType type = npy_dtype(dtype_descr(st->items[2], what), what);
  if (st->items[3]->kind != Value::Kind::Bool || st->items[3]->b) throw Error(what + ": Fortran-ordered arrays are not supported");
  const Ref& raw = st->items[4];
  if (raw->kind != Value::Kind::Bytes && raw->kind != Value::Kind::Str) throw Error(what + ": numpy array without its bytes");
  return npy_array(type, shape, raw->s.data(), raw->s.size(), what);
}

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) where storage is
// torch.storage._load_from_bytes(legacy torch.save bytes).
at::Tensor torch_tensor(const Ref& v, const std::string& what) {
  const auto& a = pickle::as_tuple(v->args, what);
  if (a.size() < 4 || !is_call(a[0], "torch.storage._load_from_bytes")) throw Error(what + ": unsupported tensor pickle");
  const auto& blob = pickle::as_tuple(a[0]->args, what);
  if (blob.size() != 1 || blob[0]->kind != Value::Kind::Bytes) throw Error(what + ": tensor storage without its bytes");
  const std::vector<char> bytes(blob[0]->s.begin(), blob[0]->s.end());
  const at::Tensor storage = read_legacy_storage(bytes, what);
  return checked_view(storage, pickle::as_int(a[1], what), ints(a[2], what), ints(a[3], what), what);
}

// The dict inside np.save's 0-d object array: state (1, (), dtype('O'), False, [dict]).
const Ref& saved_object(const Ref& root, const std::string& path) {
  if (!is_reconstruct(root) || !root->state || root->state->kind != Value::Kind::Tuple || root->state->items.size() != 5)
    throw Error(path + ": not a numpy object array");
  const Ref& objects = root->state->items[4];
  if (objects->kind != Value::Kind::List || objects->items.size() != 1 || objects->items[0]->kind != Value::Kind::Dict)
    throw Error(path + ": the saved object is not one dict");
  return objects->items[0];
}

}  // namespace

NamedTensors read_npy_dict(const std::string& path) {
  const std::vector<char> bytes = read_file_bytes(path, "CAM file");
  const std::string data(bytes.begin(), bytes.end());
  const NpyHeader h = parse_npy_header(data, path);
  if (h.descr != "|O" || !h.shape.empty()) throw Error(path + ": expected a pickled dict (np.save of a dict), found dtype " + h.descr);
  size_t pos = h.data_offset;
  const Ref root = pickle::parse(bytes, &pos, path);
  NamedTensors out;
  for (const auto& [key, value] : saved_object(root, path)->dict) {
    if (key->kind != Value::Kind::Str) continue;
    const std::string what = path + ": '" + key->s + "'";
    if (is_reconstruct(value)) out.emplace_back(key->s, numpy_array(value, what));
    else if (is_call(value, "torch._utils._rebuild_tensor_v2")) out.emplace_back(key->s, torch_tensor(value, what));
  }
  return out;
}

}  // namespace amr

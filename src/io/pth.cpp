#include "amr/io/pth.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/serialize.h>

#include <cstring>
#include <map>
#include <sstream>

#include "amr/io/atomic_file.h"
#include "amr/base/error.h"
#include "amr/io/pickle.h"
#include "amr/io/zip_directory.h"

namespace amr {
namespace {

using pickle::Ref;
using pickle::Value;

at::ScalarType storage_dtype(const std::string& type, const std::string& what) {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},     {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},     {"torch.BoolStorage", at::kBool},
  };
  auto it = types.find(type);
  if (it == types.end()) throw Error(what + ": unsupported storage type " + type);
  return it->second;
}

struct StorageRef {
  std::string key;
  at::ScalarType dtype;
  int64_t numel;
  at::Tensor data;  // 1-D, filled once read
};

class Loader {
 public:
  explicit Loader(std::string what) : what_(std::move(what)) {}

  // Persistent ids: ('storage', StorageType, key, location, numel[, view_metadata]).
  StorageRef& storage(const Ref& pid) {
    const auto& t = pickle::as_tuple(pid->payload, what_ + ": storage id");
    if (t.size() < 5 || pickle::as_str(t[0], what_) != "storage")
      throw Error(what_ + ": unsupported persistent id in pickle");
    if (t[1]->kind != Value::Kind::Global) throw Error(what_ + ": storage id without a storage type");
    const std::string key = pickle::as_str(t[2], what_);
    auto [it, inserted] = storages_.try_emplace(key);
    if (inserted) it->second = StorageRef{key, storage_dtype(t[1]->s, what_), pickle::as_int(t[4], what_), {}};
    return it->second;
  }

  // The walk is bounded by the parser's depth limit; a cycle built through the memo (a list
  // holding a list that holds the first) still ends here as an error, not a stack overflow.
  void collect_storages(const Ref& v, int depth = 0) {
    if (!v) return;
    if (depth > pickle::kMaxDepth) throw Error(what_ + ": corrupt pickle (cyclic or nested too deep)");
    if (v->kind == Value::Kind::Persistent) {
      storage(v);
      return;
    }
    for (auto& x : v->items) collect_storages(x, depth + 1);
    for (auto& kv : v->dict) collect_storages(kv.second, depth + 1);
    if (v->kind == Value::Kind::Call) collect_storages(v->args, depth + 1);
  }

  std::map<std::string, StorageRef>& storages() { return storages_; }

  at::Tensor tensor(const Ref& v, const std::string& name) {
    if (v->kind != Value::Kind::Call || v->callee->kind != Value::Kind::Global)
      throw Error(what_ + ": entry '" + name + "' is a " + v->kind_name() + ", expected a tensor");
    const std::string& fn = v->callee->s;
    const auto& a = pickle::as_tuple(v->args, what_);
    if (fn == "torch._utils._rebuild_parameter" && !a.empty()) return tensor(a[0], name);
    if ((fn == "torch._utils._rebuild_tensor_v2" || fn == "torch._utils._rebuild_tensor") && a.size() >= 4 &&
        a[0]->kind == Value::Kind::Persistent) {
      StorageRef& st = storage(a[0]);
      if (!st.data.defined()) throw Error(what_ + ": storage " + st.key + " of '" + name + "' has no data");
      int64_t offset = pickle::as_int(a[1], what_);
      std::vector<int64_t> size, stride;
      for (auto& x : pickle::as_tuple(a[2], what_)) size.push_back(pickle::as_int(x, what_));
      for (auto& x : pickle::as_tuple(a[3], what_)) stride.push_back(pickle::as_int(x, what_));
      return checked_view(st.data, offset, size, stride, what_ + ": tensor '" + name + "'");
    }
    throw Error(what_ + ": entry '" + name + "' is an unsupported object " + fn);
  }

  NamedTensors state_dict(const Ref& root) {
    Ref dict = root;
    if (dict->kind == Value::Kind::Dict) {
      for (auto& kv : dict->dict) {
        if (kv.first->kind == Value::Kind::Str && (kv.first->s == "state_dict" || kv.first->s == "model") &&
            kv.second->kind == Value::Kind::Dict) {
          dict = kv.second;
          break;
        }
      }
    }
    if (dict->kind != Value::Kind::Dict)
      throw Error(what_ + ": expected a state_dict (a dict of tensors), found a " + std::string(dict->kind_name()));
    NamedTensors out;
    for (auto& kv : dict->dict) {
      const std::string name = pickle::as_str(kv.first, what_ + ": state_dict key");
      out.emplace_back(name, tensor(kv.second, name));
    }
    return out;
  }

 private:
  std::string what_;
  std::map<std::string, StorageRef> storages_;
};

size_t element_size(at::ScalarType t) { return c10::elementSize(t); }

bool is_amr_record(const std::string& name) { return name.rfind("amr_", 0) == 0; }

PthContents read_zip(const std::string& path, const std::vector<char>& bytes) {
  // PyTorchStreamReader allocates a record's declared size before reading it: the directory
  // check bounds every declared size by what the file can hold first.
  read_zip_directory(bytes, path);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception& e) {
    throw Error(path + ": not a readable PyTorch zip checkpoint (" + one_line(e) + ")");
  }
  auto record = [&](const std::string& name) {
    try {
      auto [ptr, size] = reader->getRecord(name);
      const char* p = static_cast<const char*>(ptr.get());
      return std::vector<char>(p, p + size);
    } catch (const std::exception& e) {
      throw Error(path + ": cannot read record '" + name + "' (" + one_line(e) + ")");
    }
  };
  std::vector<char> pkl = record("data.pkl");
  size_t pos = 0;
  Ref root = pickle::parse(pkl, &pos, path);
  Loader loader(path);
  loader.collect_storages(root);
  for (auto& [key, st] : loader.storages()) {
    std::vector<char> bytes = record("data/" + key);
    if (st.numel < 0 || static_cast<uint64_t>(st.numel) > bytes.size())
      throw Error(path + ": storage " + key + " declares " + std::to_string(st.numel) + " elements, its record holds " +
                  std::to_string(bytes.size()) + " bytes");
    size_t want = static_cast<size_t>(st.numel) * element_size(st.dtype);
    if (bytes.size() < want)
      throw Error(path + ": storage " + key + " has " + std::to_string(bytes.size()) + " bytes, expected " +
                  std::to_string(want));
    st.data = at::empty({st.numel}, at::TensorOptions().dtype(st.dtype));
    if (want > 0) std::memcpy(st.data.data_ptr(), bytes.data(), want);  // an empty storage has no data pointer
  }
  PthContents out;
  out.tensors = loader.state_dict(root);
  for (const std::string& name : reader->getAllRecords())
    if (is_amr_record(name)) {
      std::vector<char> bytes = record(name);
      out.records[name] = std::string(bytes.begin(), bytes.end());
    }
  return out;
}

struct Legacy {
  Ref root;
  Loader loader;
};

// A legacy torch.save stream: its object and every storage it references, read.
Legacy parse_legacy(const std::string& path, const std::vector<char>& bytes) {
  size_t pos = 0;
  Ref magic = pickle::parse(bytes, &pos, path);
  // torch.serialization's MAGIC_NUMBER 0x1950a86a20f9469cfc6c, as a 10-byte LONG1.
  static const unsigned char kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  if (magic->kind != Value::Kind::BigInt || magic->s != std::string(reinterpret_cast<const char*>(kMagic), 10))
    throw Error(path + ": not a PyTorch checkpoint (bad magic number)");
  int64_t protocol = pickle::as_int(pickle::parse(bytes, &pos, path), path + ": protocol version");
  if (protocol != 1001) throw Error(path + ": unsupported legacy protocol version " + std::to_string(protocol));
  Ref sys_info = pickle::parse(bytes, &pos, path);
  if (sys_info->kind == Value::Kind::Dict) {
    for (auto& kv : sys_info->dict)
      if (kv.first->kind == Value::Kind::Str && kv.first->s == "little_endian" && kv.second->kind == Value::Kind::Bool &&
          !kv.second->b)
        throw Error(path + ": big-endian checkpoints are not supported");
  }
  Legacy result{pickle::parse(bytes, &pos, path), Loader(path)};
  Ref keys = pickle::parse(bytes, &pos, path);
  Loader& loader = result.loader;
  loader.collect_storages(result.root);
  for (auto& k : pickle::as_tuple(keys, path + ": storage keys")) {
    const std::string key = pickle::as_str(k, path);
    auto it = loader.storages().find(key);
    if (it == loader.storages().end()) throw Error(path + ": storage " + key + " is not referenced");
    StorageRef& st = it->second;
    if (pos + 8 > bytes.size()) throw Error(path + ": truncated file (storage " + key + " missing)");
    int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + pos, 8);
    pos += 8;
    if (numel < 0 || numel != st.numel) throw Error(path + ": corrupt storage " + key + " (size mismatch)");
    if (static_cast<uint64_t>(numel) > bytes.size() - pos)
      throw Error(path + ": truncated file (storage " + key + " declares " + std::to_string(numel) + " elements)");
    size_t nbytes = static_cast<size_t>(numel) * element_size(st.dtype);
    if (pos + nbytes > bytes.size()) throw Error(path + ": truncated file (storage " + key + " is incomplete)");
    st.data = at::empty({numel}, at::TensorOptions().dtype(st.dtype));
    if (nbytes > 0) std::memcpy(st.data.data_ptr(), bytes.data() + pos, nbytes);
    pos += nbytes;
  }
  return result;
}

NamedTensors read_legacy(const std::string& path, const std::vector<char>& bytes) {
  Legacy legacy = parse_legacy(path, bytes);
  return legacy.loader.state_dict(legacy.root);
}

}  // namespace

at::Tensor checked_view(const at::Tensor& storage, int64_t offset, const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                        const std::string& what) {
  if (size.size() != stride.size()) throw Error(what + ": corrupt tensor (sizes and strides differ in length)");
  int64_t last = offset;
  bool empty = false, bad = offset < 0;
  for (size_t k = 0; k < size.size() && !bad; ++k) {
    if (size[k] < 0 || stride[k] < 0) bad = true;
    if (size[k] == 0) empty = true;
    int64_t step = 0;
    bad = bad || __builtin_mul_overflow(std::max<int64_t>(size[k] - 1, 0), stride[k], &step) || __builtin_add_overflow(last, step, &last);
  }
  if (bad) throw Error(what + ": corrupt tensor (negative or overflowing size/stride/offset)");
  if (!empty && last >= storage.numel()) throw Error(what + ": corrupt tensor (extends past its storage)");
  if (empty) return at::empty(size, storage.options());
  return storage.as_strided(size, stride, offset).clone(at::MemoryFormat::Contiguous);
}

at::Tensor read_legacy_storage(const std::vector<char>& bytes, const std::string& what) {
  Legacy legacy = parse_legacy(what, bytes);
  if (legacy.root->kind != Value::Kind::Persistent) throw Error(what + ": expected one pickled storage");
  const at::Tensor data = legacy.loader.storage(legacy.root).data;
  if (!data.defined()) throw Error(what + ": the storage has no data");
  return data;
}

PthContents read_pth_contents(const std::string& path) {
  std::vector<char> bytes = read_file_bytes(path, "checkpoint");
  if (bytes.size() < 4) throw Error(path + ": not a PyTorch checkpoint (file too short)");
  if (std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0) return read_zip(path, bytes);
  return PthContents{read_legacy(path, bytes), {}};
}

NamedTensors read_pth(const std::string& path) { return read_pth_contents(path).tensors; }

namespace {

// torch::pickle_save's archive with `records` added (copied record by record; the writer adds
// the version record itself).
std::vector<char> with_records(const std::vector<char>& archive, const PthRecords& records) {
  std::istringstream in(std::string(archive.begin(), archive.end()));
  caffe2::serialize::PyTorchStreamReader reader(&in);
  std::vector<char> out;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t n) {
      out.insert(out.end(), static_cast<const char*>(data), static_cast<const char*>(data) + n);
      return n;
    });
    writer.setMinVersion(reader.version());
    for (const std::string& name : reader.getAllRecords()) {
      if (name == "version" || name == ".data/version") continue;
      auto [ptr, size] = reader.getRecord(name);
      writer.writeRecord(name, ptr.get(), size);
    }
    for (const auto& [name, text] : records) {
      if (!is_amr_record(name)) throw Error("write_pth: record name '" + name + "' must start with amr_");
      writer.writeRecord(name, text.data(), text.size());
    }
    writer.writeEndOfFile();
  }
  return out;
}

}  // namespace

void write_pth(const std::string& path, const NamedTensors& tensors, const PthRecords& records) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, t] : tensors) dict.insert(name, t.detach().contiguous().cpu());
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_bytes_atomically(path, records.empty() ? bytes : with_records(bytes, records));
}

}  // namespace amr

#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace amr::pickle {

// A minimal Python pickle (protocols 2-5) interpreter for PyTorch checkpoints.
// LibTorch 1.13's own unpickler turns collections.OrderedDict into None, which loses
// every state_dict; this one keeps dicts (ordered) and leaves tensor reconstruction
// to the caller through `Value::Kind::Call` nodes.
struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, Str, Bytes, Tuple, List, Dict, Global, Call, Persistent, Mark };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0.0;
  std::string s;                         // Str, Bytes, BigInt (little-endian bytes), Global ("module.name")
  std::vector<Ref> items;                // Tuple, List
  std::vector<std::pair<Ref, Ref>> dict; // Dict (insertion order kept)
  Ref callee, args, state;               // Call: callee(args), state from BUILD
  Ref payload;                           // Persistent: the persistent id
  std::shared_ptr<void> user;            // filled by the caller (e.g. a materialized storage)
  int depth = 1;                         // nesting depth of what this value holds (bounded: kMaxDepth)

  const char* kind_name() const;
};

// Untrusted input: nesting deeper than this (real checkpoints nest < 10 levels) or a container
// that holds itself is an error, so that nothing downstream recurses without bound.
constexpr int kMaxDepth = 1000;

// Parses one pickle from `data` starting at `*pos`; on return `*pos` is just past STOP.
// `what` names the source in error messages.
Ref parse(const std::vector<char>& data, size_t* pos, const std::string& what);

// Helpers that throw amr::Error naming `what` when the type is wrong.
int64_t as_int(const Ref& v, const std::string& what);
const std::string& as_str(const Ref& v, const std::string& what);
const std::vector<Ref>& as_tuple(const Ref& v, const std::string& what);

}  // namespace amr::pickle

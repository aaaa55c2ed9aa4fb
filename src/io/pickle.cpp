#include "amr/io/pickle.h"

#include <algorithm>

#include <cstring>

#include "amr/base/error.h"

namespace amr::pickle {

const char* Value::kind_name() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "long int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Call: return "object";
    case Kind::Persistent: return "persistent id";
    case Kind::Mark: return "mark";
  }
  return "?";
}

namespace {

Ref make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

class Parser {
 public:
  Parser(const std::vector<char>& data, size_t pos, std::string what) : d_(data), p_(pos), what_(std::move(what)) {}

  Ref run() {
    for (;;) {
      uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;                    // PROTO
        case 0x95: take(8); break;                 // FRAME
        case '.': return pop_value();              // STOP
        case '(': push(make(Value::Kind::Mark)); break;
        case 'N': push(make(Value::Kind::None)); break;
        case 0x88: push_bool(true); break;         // NEWTRUE
        case 0x89: push_bool(false); break;        // NEWFALSE
        case 'J': push_int(static_cast<int32_t>(le(4))); break;  // BININT
        case 'K': push_int(static_cast<int64_t>(le(1))); break;  // BININT1
        case 'M': push_int(static_cast<int64_t>(le(2))); break;  // BININT2
        case 0x8a: push_long(le(1)); break;        // LONG1
        case 0x8b: push_long(le(4)); break;        // LONG4
        case 'G': push_double(); break;            // BINFLOAT
        case 'X': push_str(Value::Kind::Str, le(4)); break;       // BINUNICODE
        case 0x8c: push_str(Value::Kind::Str, le(1)); break;      // SHORT_BINUNICODE
        case 0x8d: push_str(Value::Kind::Str, le(8)); break;      // BINUNICODE8
        case 'T': push_str(Value::Kind::Bytes, le(4)); break;     // BINSTRING
        case 'U': push_str(Value::Kind::Bytes, le(1)); break;     // SHORT_BINSTRING
        case 'B': push_str(Value::Kind::Bytes, le(4)); break;     // BINBYTES
        case 'C': push_str(Value::Kind::Bytes, le(1)); break;     // SHORT_BINBYTES
        case 0x8e: push_str(Value::Kind::Bytes, le(8)); break;    // BINBYTES8
        case ']': push(make(Value::Kind::List)); break;           // EMPTY_LIST
        case '}': push(make(Value::Kind::Dict)); break;           // EMPTY_DICT
        case ')': push(make(Value::Kind::Tuple)); break;          // EMPTY_TUPLE
        case 0x8f: push(make(Value::Kind::List)); break;          // EMPTY_SET (as a list)
        case 't': tuple_from_mark(); break;                       // TUPLE
        case 0x85: tuple_n(1); break;
        case 0x86: tuple_n(2); break;
        case 0x87: tuple_n(3); break;
        case 'l': list_from_mark(); break;                        // LIST
        case 'a': append(); break;                                // APPEND
        case 'e': appends(); break;                               // APPENDS
        case 0x90: appends(); break;                              // ADDITEMS (set)
        case 's': setitem(); break;                               // SETITEM
        case 'u': setitems(); break;                              // SETITEMS
        case 'd': dict_from_mark(); break;                        // DICT
        case 'q': memo_put(le(1)); break;                         // BINPUT
        case 'r': memo_put(le(4)); break;                         // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;                 // MEMOIZE
        case 'h': memo_get(le(1)); break;                         // BINGET
        case 'j': memo_get(le(4)); break;                         // LONG_BINGET
        case 'c': global(); break;                                // GLOBAL
        case 0x93: stack_global(); break;                         // STACK_GLOBAL
        case 'R': reduce(); break;                                // REDUCE
        case 0x81: reduce(); break;                               // NEWOBJ (cls, args)
        case 'b': build(); break;                                 // BUILD
        case 'Q': persid(); break;                                // BINPERSID
        case '0': pop_value(); break;                             // POP
        case '1': pop_mark(); break;                              // POP_MARK
        case '2': push(top()); break;                             // DUP
        default:
          fail("unsupported pickle opcode 0x" + hex(op) + " at byte " + std::to_string(p_ - 1));
      }
    }
  }
  size_t pos() const { return p_; }

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw Error(what_ + ": " + msg); }
  static std::string hex(uint8_t b) {
    const char* h = "0123456789abcdef";
    return std::string{h[b >> 4], h[b & 15]};
  }
  const char* take(size_t n) {
    if (n > d_.size() - p_) fail("truncated file (pickle data ends at byte " + std::to_string(d_.size()) + ")");
    const char* ptr = d_.data() + p_;
    p_ += n;
    return ptr;
  }
  uint8_t u8() { return static_cast<uint8_t>(*take(1)); }
  uint64_t le(size_t n) {
    const char* ptr = take(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(static_cast<uint8_t>(ptr[k])) << (8 * k);
    return v;
  }
  void push(Ref v) { stack_.push_back(std::move(v)); }
  // Records that `parent` holds `child`: rejects a container holding itself and nesting beyond
  // kMaxDepth (a million TUPLE1 opcodes would otherwise overflow the stack of every recursive walk,
  // the destructors' included).
  void nest(Value& parent, const Ref& child) {
    if (!child) return;
    if (child.get() == &parent) fail("corrupt pickle (a container holds itself)");
    parent.depth = std::max(parent.depth, child->depth + 1);
    if (parent.depth > kMaxDepth) fail("corrupt pickle (nested deeper than " + std::to_string(kMaxDepth) + " levels)");
  }
  void nest_all(Value& parent, const std::vector<Ref>& children) {
    for (const auto& c : children) nest(parent, c);
  }
  Ref& top() {
    if (stack_.empty()) fail("corrupt pickle (stack underflow)");
    return stack_.back();
  }
  Ref pop_value() {
    Ref v = top();
    stack_.pop_back();
    return v;
  }
  void push_bool(bool b) { auto v = make(Value::Kind::Bool); v->b = b; push(v); }
  void push_int(int64_t i) { auto v = make(Value::Kind::Int); v->i = i; push(v); }
  void push_long(uint64_t n) {
    const char* ptr = take(n);
    if (n <= 8) {
      int64_t v = 0;
      for (size_t k = 0; k < n; ++k) v |= static_cast<int64_t>(static_cast<uint8_t>(ptr[k])) << (8 * k);
      if (n > 0 && n < 8 && (static_cast<uint8_t>(ptr[n - 1]) & 0x80)) v -= int64_t(1) << (8 * n);  // sign
      push_int(v);
    } else {
      auto v = make(Value::Kind::BigInt);
      v->s.assign(ptr, n);
      push(v);
    }
  }
  void push_double() {
    const char* ptr = take(8);
    uint64_t bits = 0;
    for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<uint8_t>(ptr[k]);  // big-endian
    auto v = make(Value::Kind::Float);
    std::memcpy(&v->f, &bits, 8);
    push(v);
  }
  void push_str(Value::Kind k, uint64_t n) {
    auto v = make(k);
    const char* ptr = take(n);
    v->s.assign(ptr, n);
    push(v);
  }
  size_t mark_pos() {
    for (size_t k = stack_.size(); k-- > 0;)
      if (stack_[k]->kind == Value::Kind::Mark) return k;
    fail("corrupt pickle (no mark)");
  }
  std::vector<Ref> pop_mark() {
    size_t m = mark_pos();
    std::vector<Ref> items(stack_.begin() + static_cast<long>(m) + 1, stack_.end());
    stack_.resize(m);
    return items;
  }
  void tuple_from_mark() { auto v = make(Value::Kind::Tuple); v->items = pop_mark(); nest_all(*v, v->items); push(v); }
  void list_from_mark() { auto v = make(Value::Kind::List); v->items = pop_mark(); nest_all(*v, v->items); push(v); }
  void tuple_n(size_t n) {
    if (stack_.size() < n) fail("corrupt pickle (stack underflow)");
    auto v = make(Value::Kind::Tuple);
    v->items.assign(stack_.end() - static_cast<long>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    nest_all(*v, v->items);
    push(v);
  }
  Ref& container(Value::Kind k, size_t depth_from_top) {
    if (stack_.size() < depth_from_top + 1) fail("corrupt pickle (stack underflow)");
    Ref& c = stack_[stack_.size() - 1 - depth_from_top];
    if (c->kind != k) fail(std::string("corrupt pickle (expected a ") + (k == Value::Kind::Dict ? "dict" : "list") +
                           ", found " + c->kind_name() + ")");
    return c;
  }
  void append() {
    Ref v = pop_value();
    Ref& l = container(Value::Kind::List, 0);
    nest(*l, v);
    l->items.push_back(v);
  }
  void appends() {
    auto items = pop_mark();
    Ref& l = container(Value::Kind::List, 0);
    nest_all(*l, items);
    l->items.insert(l->items.end(), items.begin(), items.end());
  }
  void setitem() {
    Ref val = pop_value();
    Ref key = pop_value();
    Ref& dct = container(Value::Kind::Dict, 0);
    nest(*dct, key);
    nest(*dct, val);
    dct->dict.emplace_back(key, val);
  }
  void setitems() {
    auto items = pop_mark();
    if (items.size() % 2) fail("corrupt pickle (odd SETITEMS)");
    Ref& dct = container(Value::Kind::Dict, 0);
    nest_all(*dct, items);
    for (size_t k = 0; k < items.size(); k += 2) dct->dict.emplace_back(items[k], items[k + 1]);
  }
  void dict_from_mark() {
    auto items = pop_mark();
    auto v = make(Value::Kind::Dict);
    nest_all(*v, items);
    for (size_t k = 0; k + 1 < items.size(); k += 2) v->dict.emplace_back(items[k], items[k + 1]);
    push(v);
  }
  void memo_put(uint64_t idx) {
    // Each memo entry costs the pickle at least one byte: a larger index is a forged one (and
    // would make the memo allocate gigabytes).
    if (idx > d_.size()) fail("corrupt pickle (memo index " + std::to_string(idx) + " beyond the data)");
    if (memo_.size() <= idx) memo_.resize(idx + 1);
    memo_[idx] = top();
  }
  void memo_get(uint64_t idx) {
    if (idx >= memo_.size() || !memo_[idx]) fail("corrupt pickle (memo " + std::to_string(idx) + " missing)");
    push(memo_[idx]);
  }
  std::string line() {
    std::string s;
    for (char c = static_cast<char>(u8()); c != '\n'; c = static_cast<char>(u8())) s += c;
    return s;
  }
  void push_global(const std::string& module, const std::string& name) {
    auto v = make(Value::Kind::Global);
    v->s = module + "." + name;
    if (v->s == "collections.OrderedDict" || v->s == "builtins.dict") v->s = "dict";
    push(v);
  }
  void global() {
    std::string module = line();
    std::string name = line();
    push_global(module, name);
  }
  void stack_global() {
    Ref name = pop_value();
    Ref module = pop_value();
    push_global(as_str(module, what_), as_str(name, what_));
  }
  void reduce() {
    Ref args = pop_value();
    Ref callee = pop_value();
    if (callee->kind == Value::Kind::Global && callee->s == "dict") {
      // OrderedDict() / OrderedDict([(k, v), ...]): a real dict, items appended by SETITEMS.
      auto d = make(Value::Kind::Dict);
      if (args->kind == Value::Kind::Tuple && !args->items.empty() && args->items[0]->kind == Value::Kind::List)
        for (auto& kv : args->items[0]->items)
          if (kv->kind == Value::Kind::Tuple && kv->items.size() == 2) {
            nest(*d, kv->items[0]);
            nest(*d, kv->items[1]);
            d->dict.emplace_back(kv->items[0], kv->items[1]);
          }
      push(d);
      return;
    }
    if (callee->kind == Value::Kind::Global && callee->s == "torch.jit._pickle.restore_type_tag" &&
        args->kind == Value::Kind::Tuple && !args->items.empty()) {
      push(args->items[0]);  // LibTorch's typed containers: the tag carries no data
      return;
    }
    auto v = make(Value::Kind::Call);
    v->callee = callee;
    v->args = args;
    nest(*v, callee);
    nest(*v, args);
    push(v);
  }
  void build() {
    Ref state = pop_value();
    Ref& obj = top();
    // A dict's BUILD state (an OrderedDict's `_metadata`) carries nothing we need.
    if (obj->kind == Value::Kind::Call) {
      nest(*obj, state);
      obj->state = state;
    }
  }
  void persid() {
    auto v = make(Value::Kind::Persistent);
    v->payload = pop_value();
    nest(*v, v->payload);
    push(v);
  }

  const std::vector<char>& d_;
  size_t p_;
  std::string what_;
  std::vector<Ref> stack_;
  std::vector<Ref> memo_;
};

}  // namespace

Ref parse(const std::vector<char>& data, size_t* pos, const std::string& what) {
  Parser parser(data, *pos, what);
  Ref result = parser.run();
  *pos = parser.pos();
  return result;
}

int64_t as_int(const Ref& v, const std::string& what) {
  if (!v || v->kind != Value::Kind::Int)
    throw Error(what + ": expected an int, found " + (v ? v->kind_name() : "nothing"));
  return v->i;
}

const std::string& as_str(const Ref& v, const std::string& what) {
  if (!v || (v->kind != Value::Kind::Str && v->kind != Value::Kind::Bytes))
    throw Error(what + ": expected a string, found " + (v ? v->kind_name() : "nothing"));
  return v->s;
}

const std::vector<Ref>& as_tuple(const Ref& v, const std::string& what) {
  if (!v || (v->kind != Value::Kind::Tuple && v->kind != Value::Kind::List))
    throw Error(what + ": expected a tuple, found " + (v ? v->kind_name() : "nothing"));
  return v->items;
}

}  // namespace amr::pickle

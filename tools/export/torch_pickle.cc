#include "tools/export/torch_pickle.h"

#include <cstddef>

namespace mnemo {
namespace {

// Pickle opcodes (Python's Lib/pickle.py).
constexpr char kProto = '\x80';
constexpr char kGlobal = 'c';
constexpr char kEmptyTuple = ')';
constexpr char kReduce = 'R';
constexpr char kMark = '(';
constexpr char kTuple = 't';
constexpr char kTuple1 = '\x85';
constexpr char kTuple2 = '\x86';
constexpr char kTuple3 = '\x87';
constexpr char kBinUnicode = 'X';
constexpr char kBinInt1 = 'K';
constexpr char kBinInt2 = 'M';
constexpr char kBinInt = 'J';
constexpr char kLong1 = '\x8a';
constexpr char kBinPersId = 'Q';
constexpr char kNewFalse = '\x89';
constexpr char kSetItems = 'u';
constexpr char kStop = '.';

void PutLittleEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Global(std::string& out, const char* module, const char* name) {
  out += kGlobal;
  out += module;
  out += '\n';
  out += name;
  out += '\n';
}

void String(std::string& out, const std::string& s) {
  out += kBinUnicode;
  PutLittleEndian(out, s.size(), 4);
  out += s;
}

// A non-negative integer in the shortest opcode pickle.py itself would use.
void Int(std::string& out, int64_t v) {
  if (v >= 0 && v < 256) {
    out += kBinInt1;
    PutLittleEndian(out, static_cast<uint64_t>(v), 1);
  } else if (v >= 0 && v < 65536) {
    out += kBinInt2;
    PutLittleEndian(out, static_cast<uint64_t>(v), 2);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    out += kBinInt;
    PutLittleEndian(out, static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
  } else {
    // LONG1: a length byte, then two's complement little-endian, shortest.
    int bytes = 8;
    while (bytes > 1) {
      const int64_t high = v >> (8 * (bytes - 1) - 1);  // the top byte and the sign bit below it
      if (high != 0 && high != -1) break;
      --bytes;
    }
    out += kLong1;
    out += static_cast<char>(bytes);
    PutLittleEndian(out, static_cast<uint64_t>(v), bytes);
  }
}

void IntTuple(std::string& out, const std::vector<int64_t>& values) {
  switch (values.size()) {
    case 0:
      out += kEmptyTuple;
      return;
    case 1:
    case 2:
    case 3:
      for (int64_t v : values) Int(out, v);
      out += values.size() == 1 ? kTuple1 : values.size() == 2 ? kTuple2 : kTuple3;
      return;
    default:
      out += kMark;
      for (int64_t v : values) Int(out, v);
      out += kTuple;
  }
}

void EmptyOrderedDict(std::string& out) {
  Global(out, "collections", "OrderedDict");
  out += kEmptyTuple;
  out += kReduce;
}

}  // namespace

std::string StateDictPickle(absl::Span<const PickledTensor> tensors) {
  std::string out;
  out += kProto;
  out += '\x02';
  EmptyOrderedDict(out);
  out += kMark;
  for (const PickledTensor& tensor : tensors) {
    int64_t numel = 1;
    std::vector<int64_t> strides(tensor.shape.size());
    for (size_t i = tensor.shape.size(); i-- > 0;) {
      strides[i] = numel;
      numel *= tensor.shape[i];
    }
    String(out, tensor.name);
    Global(out, "torch._utils", "_rebuild_tensor_v2");
    out += kMark;  // the arguments
    out += kMark;  // the persistent id
    String(out, "storage");
    Global(out, "torch", "FloatStorage");
    String(out, tensor.storage_key);
    String(out, "cpu");
    Int(out, numel);
    out += kTuple;
    out += kBinPersId;
    Int(out, 0);  // storage offset
    IntTuple(out, tensor.shape);
    IntTuple(out, strides);
    out += kNewFalse;       // requires_grad
    EmptyOrderedDict(out);  // backward hooks
    out += kTuple;
    out += kReduce;
  }
  out += kSetItems;
  out += kStop;
  return out;
}

}  // namespace mnemo

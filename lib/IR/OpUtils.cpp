//===- OpUtils.cpp - helpers shared by the wl op groups -------------------===//
#include "OpUtils.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace wl::detail {

std::string formatList(ArrayRef<int64_t> values) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "[";
  llvm::interleaveComma(values, os);
  os << "]";
  return out;
}

ArrayRef<int64_t> shapeOf(Type type) {
  return llvm::cast<RankedTensorType>(type).getShape();
}

ArrayRef<int64_t> shapeOf(Value value) { return shapeOf(value.getType()); }

SliceParams SliceParams::full(ArrayRef<int64_t> shape) {
  SliceParams p;
  p.offsets.assign(shape.size(), 0);
  p.sizes.assign(shape.begin(), shape.end());
  p.strides.assign(shape.size(), 1);
  return p;
}

bool SliceParams::isFull(ArrayRef<int64_t> shape) const {
  for (size_t d = 0; d < shape.size(); ++d)
    if (offsets[d] != 0 || sizes[d] != shape[d] ||
        (sizes[d] > 1 && strides[d] != 1))
      return false;
  return true;
}

bool SliceParams::hasUnitStrides() const {
  for (size_t d = 0; d < strides.size(); ++d)
    if (sizes[d] > 1 && strides[d] != 1)
      return false;
  return true;
}

std::optional<SliceParams> getSliceParams(Operation *op) {
  if (auto slice = llvm::dyn_cast<SliceOp>(op)) {
    SliceParams p;
    p.offsets.assign(slice.getOffsets().begin(), slice.getOffsets().end());
    p.sizes.assign(slice.getSizes().begin(), slice.getSizes().end());
    p.strides.assign(slice.getStrides().begin(), slice.getStrides().end());
    return p;
  }
  if (auto shard = llvm::dyn_cast<ShardOp>(op)) {
    SliceParams p = SliceParams::full(shapeOf(shard.getInput()));
    int64_t d = shard.getDim();
    int64_t chunk = p.sizes[d] / shard.getCount();
    p.offsets[d] = shard.getIndex() * chunk;
    p.sizes[d] = chunk;
    return p;
  }
  return std::nullopt;
}

std::optional<ShardForm> getShardForm(ArrayRef<int64_t> shape,
                                      const SliceParams &params) {
  if (!params.hasUnitStrides())
    return std::nullopt;
  int64_t partial = -1, numPartial = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    if (params.offsets[d] != 0 || params.sizes[d] != shape[d]) {
      partial = static_cast<int64_t>(d);
      ++numPartial;
    }
  if (numPartial != 1)
    return std::nullopt;
  int64_t size = params.sizes[partial];
  if (size == 0 || shape[partial] % size != 0 ||
      params.offsets[partial] % size != 0)
    return std::nullopt;
  return ShardForm{partial, shape[partial] / size,
                   params.offsets[partial] / size};
}

Value createSliceLike(OpBuilder &b, Location loc, Value input,
                      const SliceParams &params) {
  ArrayRef<int64_t> shape = shapeOf(input);
  if (params.isFull(shape))
    return input;
  if (std::optional<ShardForm> shard = getShardForm(shape, params))
    return b.create<ShardOp>(loc, input, shard->dim, shard->count,
                             shard->index);
  // Strides only matter where more than one index is taken.
  SliceParams p = params;
  for (size_t d = 0; d < p.strides.size(); ++d)
    if (p.sizes[d] <= 1)
      p.strides[d] = 1;
  return b.create<SliceOp>(loc, input, p.offsets, p.sizes, p.strides);
}

Value createConcat(OpBuilder &b, Location loc, ValueRange inputs,
                   int64_t dim) {
  if (inputs.size() == 1)
    return inputs.front();
  return b.create<ConcatOp>(loc, inputs, dim);
}

Value createInterleave(OpBuilder &b, Location loc, ValueRange inputs,
                       int64_t dim, int64_t groups) {
  if (groups == 1 || inputs.size() == 1)
    return createConcat(b, loc, inputs, dim);
  return b.create<InterleaveOp>(loc, inputs, dim, groups);
}

SmallVector<Segment> coverRange(ArrayRef<Segment> segments, int64_t lo,
                                int64_t hi) {
  SmallVector<Segment> out;
  int64_t pos = 0;
  for (const Segment &s : segments) {
    int64_t begin = std::max(lo, pos), end = std::min(hi, pos + s.size);
    if (begin < end)
      out.push_back({s.value, s.begin + (begin - pos), end - begin});
    pos += s.size;
  }
  return out;
}

bool areConsecutiveResults(ValueRange values, Operation *&owner,
                           unsigned &first) {
  if (values.empty())
    return false;
  auto r0 = llvm::dyn_cast<OpResult>(values.front());
  if (!r0)
    return false;
  owner = r0.getOwner();
  first = r0.getResultNumber();
  for (auto [i, v] : llvm::enumerate(values)) {
    auto r = llvm::dyn_cast<OpResult>(v);
    if (!r || r.getOwner() != owner || r.getResultNumber() != first + i)
      return false;
  }
  return true;
}

} // namespace wl::detail

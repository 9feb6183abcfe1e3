//===- BlockDequantize.cpp - block FP8 dequantized with run-time scales ---===//
#include "BlockCuts.h"
#include "wl/Layout/BlockScales.h"

namespace wl::layout {

namespace {

using detail::AxisDim;
using detail::CutDim;
using detail::CutPart;

/// The pieces of one piece reading quantized data of shape [..., R, C]
/// (start coordinates `start`, axis dimensions `dims`), each element with
/// its block's scale from the grid source `grid`. Where a blocked axis has
/// several dimensions (a re-rolled piece), the one with the largest step
/// is unrolled, a piece per index.
bool decodePiece(const Piece &p, const Shape &data, std::vector<AxisDim> dims,
                 const Shape &start, BlockShape block, int64_t grid,
                 const std::vector<Step> &steps, std::vector<Piece> &out) {
  const int rank = static_cast<int>(data.size()), rAxis = rank - 2,
            cAxis = rank - 1;
  for (int axis : {rAxis, cAxis}) {
    int count = 0;
    size_t widest = 0;
    for (size_t j = 0; j < dims.size(); ++j)
      if (dims[j].axis == axis &&
          (count++ == 0 || dims[j].c > dims[widest].c))
        widest = j;
    if (count < 2)
      continue;
    const AxisDim d = dims[widest];
    dims.erase(dims.begin() + widest);
    for (int64_t t = 0; t < d.extent; ++t) {
      Piece q = p;
      q.dstOffset += t * d.dst;
      Shape s = start;
      s[axis] += t * d.c;
      if (!decodePiece(q, data, dims, s, block, grid, steps, out))
        return false;
    }
    return true;
  }
  const Shape gridShape = scaleGridShape(data, block);
  const Shape sd = rowMajorStrides(data), sg = rowMajorStrides(gridShape);
  // Other axes keep their strides.
  std::vector<CutDim> rest; // coord: data stride, block: grid stride
  const AxisDim *onAxis[2] = {nullptr, nullptr}; // one each, at most
  int64_t dataBase = 0, gridBase = 0;
  for (int a = 0; a < rAxis; ++a) {
    dataBase += start[a] * sd[a];
    gridBase += start[a] * sg[a];
  }
  for (const AxisDim &d : dims) {
    if (d.axis == rAxis || d.axis == cAxis) {
      onAxis[d.axis - rAxis] = &d;
      continue;
    }
    const bool moves = d.axis >= 0;
    rest.push_back({d.extent, d.dst, moves ? d.c * sd[d.axis] : 0,
                    moves ? d.c * sg[d.axis] : 0});
  }
  const int64_t sizes[2] = {block.rows, block.cols};
  std::vector<CutPart> parts[2];
  for (int k = 0; k < 2; ++k) {
    const AxisDim *d = onAxis[k];
    const int64_t i = start[rAxis + k];
    if (!d)
      parts[k].push_back({i, 0, {}});
    else if (!detail::cutAtBlocks(i, d->extent, d->c, d->dst, sizes[k],
                                  parts[k]))
      return false;
  }
  for (const CutPart &r : parts[0])
    for (const CutPart &c : parts[1]) {
      Piece q;
      q.target = p.target;
      q.source = p.source;
      q.dstOffset = p.dstOffset + r.dstDelta + c.dstDelta;
      q.srcOffset = dataBase + r.first * sd[rAxis] + c.first;
      q.scale.source = grid;
      q.scale.offset = gridBase + r.first / block.rows * sg[rAxis] +
                       c.first / block.cols;
      auto add = [&](const CutDim &d, int64_t dataStride, int64_t gridStride) {
        q.shape.push_back(d.extent);
        q.dstStrides.push_back(d.dst);
        q.srcStrides.push_back(d.coord * dataStride);
        q.scale.strides.push_back(d.block * gridStride);
      };
      for (const CutDim &d : rest)
        add(d, 1, 1);
      for (const CutDim &d : r.dims)
        add(d, sd[rAxis], sg[rAxis]);
      for (const CutDim &d : c.dims)
        add(d, 1, 1);
      q.steps = steps;
      out.push_back(std::move(q));
    }
  return true;
}

/// decodePiece on the coalesced `p` (source shape `data`); where its
/// dimensions do not step single axes (a re-rolled piece stepping rows and
/// columns at once) or step a blocked axis in a way the cuts do not
/// follow, its dimension of the largest source step is unrolled, a piece
/// per index, down to single elements, which always decode.
void decodeAnyPiece(const Piece &p, const Shape &data, BlockShape block,
                    int64_t grid, const std::vector<Step> &steps,
                    std::vector<Piece> &out) {
  const Piece c = coalesce(p);
  if (c.numElements() == 0)
    return;
  const Shape start = unflatIndex(data, c.srcOffset);
  std::vector<AxisDim> dims;
  std::vector<Piece> made;
  if (detail::axisDims(c, data, start, dims) &&
      decodePiece(c, data, dims, start, block, grid, steps, made)) {
    out.insert(out.end(), made.begin(), made.end());
    return;
  }
  for (const Piece &q : detail::unrollWidest(c))
    decodeAnyPiece(q, data, block, grid, steps, out);
}

} // namespace

Plan dequantizeAtRunTime(const Plan &plan, const std::vector<bool> &quantized,
                         BlockShape block, DType dataType,
                         const std::string &suffix) {
  Plan out;
  out.sources = plan.sources;
  out.targets = plan.targets;
  std::vector<int64_t> gridOf(plan.sources.size(), -1);
  for (size_t s = 0; s < plan.sources.size(); ++s) {
    if (!quantized[s])
      continue;
    out.sources[s].dtype = dataType;
    gridOf[s] = static_cast<int64_t>(out.sources.size());
    out.sources.push_back({plan.sources[s].name + suffix, DType::F32,
                           scaleGridShape(plan.sources[s].shape, block)});
  }
  for (const Piece &raw : plan.pieces) {
    if (raw.isFill() || gridOf[raw.source] < 0) {
      out.pieces.push_back(raw);
      continue;
    }
    const Piece &p = raw;
    const TensorInfo &src = plan.sources[p.source];
    // The f32 product rounded once to the source's dtype in `plan` (what
    // the mapping reads), then the mapping's own steps.
    std::vector<Step> steps = {{Step::Cast, dataType, DType::F32},
                               {Step::RuntimeScale, DType::F32, DType::F32}};
    if (src.dtype != DType::F32)
      steps.push_back({Step::Cast, DType::F32, src.dtype});
    steps.insert(steps.end(), p.steps.begin(), p.steps.end());
    decodeAnyPiece(p, src.shape, block, gridOf[p.source], steps, out.pieces);
  }
  return out;
}

} // namespace wl::layout

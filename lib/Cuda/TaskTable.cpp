//===- TaskTable.cpp - a plan as the CUDA executor's work table -----------===//
#include "wl/Runtime/CpuExecutor.h"
#include "wl/Cuda/CudaTasks.h"
#include "wl/Cuda/DeviceConvert.h"
#include "wl/Cuda/TaskIndex.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

namespace wl::runtime::cuda {

using layout::DType;
using layout::Piece;
using layout::Step;

static_assert(Step::Cast == 0 && Step::Affine == 1 && Step::E2M1Low == 2 &&
                  Step::E2M1High == 3 && Step::RuntimeScale == 4,
              "StepCode::kind is layout::Step::Kind");

bool deviceCanApply(const std::vector<Step> &steps) {
  if (steps.size() > static_cast<size_t>(kMaxSteps))
    return false;
  for (const Step &s : steps) {
    int32_t from = static_cast<int32_t>(s.from), to = static_cast<int32_t>(s.to);
    if (s.kind == Step::E2M1Low || s.kind == Step::E2M1High) {
      if (from != kU8 || !isDeviceFloat(to) || to == kF8E4M3)
        return false;
      continue;
    }
    if (s.kind == Step::RuntimeScale) {
      if ((from != kU8 && from != kF32) || !isDeviceFloat(to) ||
          to == kF8E4M3)
        return false;
      continue;
    }
    if (s.kind == Step::Affine) {
      if (!isDeviceFloat(to))
        return false;
    } else if (!(isDeviceFloat(from) && isDeviceFloat(to)) &&
               !(isDeviceInt(from) && isDeviceInt(to))) {
      return false;
    } else if (to == kF8E4M3 && from == kF64) {
      return false; // two roundings through f32
    }
  }
  return true;
}

namespace {

/// Appends the task(s) of one coalesced piece (units come later); more
/// than kMaxOuter outer dimensions are enumerated here, one task per index
/// of the extra ones.
void addPiece(const layout::Plan &plan, const Piece &c, TaskTable &table) {
  size_t r = c.shape.size();
  // Dimensions other than the innermost (and the transpose's k).
  size_t inner = r - 1;
  int64_t ds = c.dstStrides[inner], ss = c.isFill() ? 0 : c.srcStrides[inner];
  int32_t kind;
  size_t kdim = r;
  if (c.isFill())
    kind = ds == 1 ? kFillRows : kFill;
  else if (c.hasRuntimeScale())
    kind = kConvert; // element by element, each with its scale
  else if (!c.steps.empty())
    kind = ds == 1 && ss == 1 ? kConvertRows : kConvert;
  else if (ds == 1 && ss == 1)
    kind = kCopyRows;
  else {
    kind = kStrided;
    if (ds == 1)
      for (size_t j = 0; j < inner; ++j)
        if (c.srcStrides[j] == 1 && c.shape[j] > 1)
          kdim = j;
    if (kdim < r)
      kind = kTranspose;
  }
  std::vector<size_t> outer;
  for (size_t j = 0; j < inner; ++j)
    if (j != kdim)
      outer.push_back(j);
  if (outer.size() > static_cast<size_t>(kMaxOuter)) {
    // Peel the outermost dimension.
    size_t j = outer.front();
    for (int64_t i = 0; i < c.shape[j]; ++i) {
      Piece q = c;
      q.shape.erase(q.shape.begin() + j);
      q.dstStrides.erase(q.dstStrides.begin() + j);
      q.dstOffset += i * c.dstStrides[j];
      if (!c.isFill()) {
        q.srcStrides.erase(q.srcStrides.begin() + j);
        q.srcOffset += i * c.srcStrides[j];
      } else if (q.srcStrides.size() > q.shape.size()) {
        q.srcStrides.erase(q.srcStrides.begin() + j);
      }
      if (c.hasRuntimeScale()) {
        q.scale.strides.erase(q.scale.strides.begin() + j);
        q.scale.offset += i * c.scale.strides[j];
      }
      addPiece(plan, q, table);
    }
    return;
  }
  Task t;
  t.kind = kind;
  t.source = c.isFill() ? -1 : static_cast<int32_t>(c.source);
  t.target = static_cast<int32_t>(c.target);
  t.dstSize = layout::dtypeSize(plan.targets[c.target].dtype);
  t.srcSize = c.isFill() ? t.dstSize
                         : layout::dtypeSize(plan.sources[c.source].dtype);
  t.nouter = static_cast<int32_t>(outer.size());
  t.srcOffset = c.isFill() ? 0 : c.srcOffset;
  t.dstOffset = c.dstOffset;
  t.n = c.shape[inner];
  t.srcStride = ss;
  t.dstStride = ds;
  for (size_t k = 0; k < outer.size(); ++k) {
    t.outerSize[k] = c.shape[outer[k]];
    t.outerDst[k] = c.dstStrides[outer[k]];
    t.outerSrc[k] = c.isFill() ? 0 : c.srcStrides[outer[k]];
  }
  if (kind == kTranspose) {
    t.kExtent = c.shape[kdim];
    t.dk = c.dstStrides[kdim];
  }
  t.fill = c.fillBits;
  t.nsteps = static_cast<int32_t>(c.steps.size());
  for (size_t k = 0; k < c.steps.size(); ++k) {
    const Step &s = c.steps[k];
    t.steps[k] = {static_cast<int32_t>(s.kind), static_cast<int32_t>(s.from),
                  static_cast<int32_t>(s.to), 0, s.scale, s.offset};
  }
  if (c.hasRuntimeScale()) {
    t.scaleSource = static_cast<int32_t>(c.scale.source);
    t.scaleSize = layout::dtypeSize(plan.sources[c.scale.source].dtype);
    t.scaleOffset = c.scale.offset;
    t.scaleStride = c.scale.strides[inner];
    for (size_t k = 0; k < outer.size(); ++k)
      t.outerScale[k] = c.scale.strides[outer[k]];
  }
  table.tasks.push_back(t);
  table.bytes += c.numElements() * t.dstSize;
}

/// Elements of a unit of row copies, fills and element moves (at least 16,
/// so that rows keep 16-byte word alignment).
int64_t unitElements(const TableOptions &options, int32_t elementBytes) {
  return std::max<int64_t>(16, options.unitBytes / elementBytes);
}

/// The target rows of a row task as (extent, stride) pairs, outermost
/// first, with extents of 1 dropped and dimensions that continue each
/// other merged: two tasks write the same rows (at their own offsets)
/// exactly when these and the row counts are equal.
std::vector<std::pair<int64_t, int64_t>> targetRows(const Task &t) {
  std::vector<std::pair<int64_t, int64_t>> dims;
  for (int j = 0; j < t.nouter; ++j) {
    if (t.outerSize[j] == 1)
      continue;
    if (!dims.empty() && dims.back().second == t.outerDst[j] * t.outerSize[j])
      dims.back() = {dims.back().first * t.outerSize[j], t.outerDst[j]};
    else
      dims.push_back({t.outerSize[j], t.outerDst[j]});
  }
  return dims;
}

/// Fuses each row fill that starts, in every target row, where a row copy
/// ends (MaxText's w13: 192 copied values then 64 of padding a row) into
/// that copy as its tail, so that the row is written in one contiguous
/// pass instead of two interleaved ones. The fill's task is removed.
void fuseRowTails(std::vector<Task> &tasks, const TableOptions &options) {
  if (options.fuseRowTailsBelowBytes <= 0)
    return;
  // Copies by (target, element where their first row ends).
  std::map<std::pair<int32_t, int64_t>, size_t> ends;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task &c = tasks[i];
    if (c.kind == kCopyRows && c.tail == 0 &&
        c.n * c.dstSize < options.fuseRowTailsBelowBytes)
      ends[{c.target, c.dstOffset + c.n}] = i;
  }
  std::vector<bool> fused(tasks.size(), false);
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task &f = tasks[i];
    if (f.kind != kFillRows)
      continue;
    auto it = ends.find({f.target, f.dstOffset});
    if (it == ends.end())
      continue;
    Task &c = tasks[it->second];
    // Whole fused rows must fit a unit (the kernel writes a row's tail
    // with its copy, never a part of either).
    const int64_t unitElems = unitElements(options, c.dstSize);
    if (c.tail != 0 || f.dstSize != c.dstSize || c.n + f.n > unitElems / 2 ||
        f.n * f.dstSize >= options.fuseFillsBelowBytes ||
        targetRows(f) != targetRows(c))
      continue;
    c.tail = f.n;
    c.fill = f.fill;
    fused[i] = true;
  }
  size_t kept = 0;
  for (size_t i = 0; i < tasks.size(); ++i)
    if (!fused[i])
      tasks[kept++] = tasks[i];
  tasks.resize(kept);
}

/// Cuts task `id` into units.
void addUnits(TaskTable &table, int32_t id, const TableOptions &options) {
  const Task &t = table.tasks[id];
  const int32_t kind = t.kind;
  int64_t rows = 1;
  for (int k = 0; k < t.nouter; ++k)
    rows *= t.outerSize[k];
  const int64_t unitElems = unitElements(options, t.dstSize);
  auto addUnit = [&](int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
    table.units.push_back({id, 0, a0, a1, b0, b1});
  };
  // A fused tail makes each target row n + tail elements long.
  const int64_t rowElems = t.n + t.tail;
  if (kind == kCopyRows || kind == kFillRows || kind == kConvertRows) {
    if (rowElems >= unitElems) {
      int64_t chunk = unitElems / 16 * 16; // keeps 16-byte word alignment
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t b = 0; b < t.n; b += chunk) {
          int64_t e = std::min(t.n, b + chunk);
          addUnit(row, row + 1, b, e);
        }
    } else {
      // Several rows a unit, never across a run of the innermost outer
      // dimension: within one run the rows are evenly spaced, so the kernel
      // finds each row without dividing.
      int64_t per = std::max<int64_t>(1, unitElems / rowElems);
      int64_t run = t.nouter > 0 ? t.outerSize[t.nouter - 1] : 1;
      // The kernel addresses the rows of a unit by 32-bit byte offsets from
      // its first row: more than one row only where they fit.
      if (t.nouter > 0) {
        const int64_t rs = t.outerSrc[t.nouter - 1] * t.srcSize,
                      rd = t.outerDst[t.nouter - 1] * t.dstSize;
        const int64_t limit = (int64_t(1) << 31) - rowElems * t.dstSize;
        if (rs < 0 || rd < 0)
          per = 1;
        else
          per = std::min(per, 1 + limit / std::max<int64_t>({rs, rd, 1}));
      }
      for (int64_t row = 0; row < rows;) {
        int64_t end = std::min({rows, row + per, (row / run + 1) * run});
        addUnit(row, end, 0, t.n);
        row = end;
      }
    }
  } else if (kind == kTranspose) {
    const TransposeShape shape = transposeShape(t.dstSize);
    const int64_t elems =
        std::max<int64_t>(16, options.transposeUnitBytes / t.dstSize);
    int64_t span = std::max<int64_t>(
        shape.iStep, elems / shape.kStrip / shape.iStep * shape.iStep);
    // An i extent shorter than the span (o_proj's head_dim under its
    // heads): several outer indices a unit, never across a run of the
    // innermost outer dimension (evenly spaced there), so that a unit is
    // still several tiles.
    const int64_t run = t.nouter > 0 ? t.outerSize[t.nouter - 1] : 1;
    int64_t per = 1;
    if (t.n * 2 <= span && t.n % shape.v == 0 && run > 1)
      per = std::min(run, span / t.n);
    for (int64_t o = 0; o < rows;) {
      const int64_t end = std::min({rows, o + per, (o / run + 1) * run});
      for (int64_t k0 = 0; k0 < t.kExtent; k0 += shape.kStrip) {
        if (end - o > 1)
          addUnit(o, k0, 0, (end - o) * t.n);
        else
          for (int64_t i0 = 0; i0 < t.n; i0 += span)
            addUnit(o, k0, i0, std::min(t.n, i0 + span));
      }
      o = end;
    }
  } else {
    int64_t all = rows * t.n;
    for (int64_t e = 0; e < all; e += unitElems)
      addUnit(e, std::min(all, e + unitElems), 0, 0);
  }
}

uint64_t load(const uint8_t *p, int size) {
  uint64_t v = 0;
  std::memcpy(&v, p, size);
  return v;
}

} // namespace

bool buildTaskTable(const layout::Plan &plan, TaskTable &table,
                    std::string &error, const TableOptions &requested) {
  table = {};
  TableOptions options = requested;
  if (options.unitBytes <= 0)
    options.unitBytes = TableOptions().unitBytes;
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const Piece &p = plan.pieces[i];
    if (p.numElements() == 0)
      continue;
    if (!p.isFill() && !deviceCanApply(p.steps)) {
      std::ostringstream os;
      os << "piece " << i << " of target '" << plan.targets[p.target].name
         << "' converts in a way the CUDA executor does not (f64 to e4m3, "
            "integer to float, more than "
         << kMaxSteps << " steps)";
      error = os.str();
      return false;
    }
    addPiece(plan, coalesceRows(p), table);
  }
  fuseRowTails(table.tasks, options);
  for (size_t i = 0; i < table.tasks.size(); ++i)
    addUnits(table, static_cast<int32_t>(i), options);
  return true;
}

void chooseWords(TaskTable &table, const std::vector<uint64_t> &sourceBases,
                 const std::vector<uint64_t> &targetBases) {
  for (Task &t : table.tasks) {
    if (t.kind != kCopyRows && t.kind != kFillRows && t.kind != kTranspose &&
        t.kind != kConvertRows)
      continue;
    // Every address is base + (offset + sum c_j * stride_j + b) * size with
    // b a multiple of 16 elements (rows), or of V elements along both k and
    // i (transposes): the word must divide each term.
    // The bits of every row start, on each side.
    uint64_t srcBits = (t.source >= 0 ? sourceBases[t.source] : 0) |
                       static_cast<uint64_t>(t.srcOffset * t.srcSize);
    uint64_t dstBits = targetBases[t.target] |
                       static_cast<uint64_t>(t.dstOffset * t.dstSize);
    for (int j = 0; j < t.nouter; ++j) {
      srcBits |= static_cast<uint64_t>(t.outerSrc[j] * t.srcSize);
      dstBits |= static_cast<uint64_t>(t.outerDst[j] * t.dstSize);
    }
    uint64_t all = srcBits | dstBits;
    if (t.kind == kConvertRows) {
      // Groups of g elements: g * size bytes on each side, whole groups in
      // every row (unit rows start at multiples of 16 elements).
      // The narrower side's group is a word of 4 bytes or more (Bits;
      // e4m3 with f64 groups only 2 bytes and goes element by element).
      const int64_t g = 16 / std::max(t.srcSize, t.dstSize);
      bool floats = g * std::min(t.srcSize, t.dstSize) >= 4;
      for (int k = 0; k < t.nsteps; ++k)
        floats = floats && isDeviceFloat(t.steps[k].from) &&
                 isDeviceFloat(t.steps[k].to);
      const bool aligned = (srcBits & (g * t.srcSize - 1)) == 0 &&
                           (dstBits & (g * t.dstSize - 1)) == 0 &&
                           t.n % g == 0;
      t.vec = floats && aligned ? 16 : 1;
      continue;
    }
    if (t.kind == kTranspose) {
      const int word = transposeShape(t.dstSize).wordBytes;
      all |= static_cast<uint64_t>(t.srcStride * t.srcSize) |
             static_cast<uint64_t>(t.dk * t.dstSize);
      t.vec = (all & (word - 1)) == 0 ? word : 1;
      continue;
    }
    all |= static_cast<uint64_t>(t.n * t.dstSize) |
           static_cast<uint64_t>(t.tail * t.dstSize);
    int w = 16;
    while (w > 1 && (all & (w - 1)))
      w /= 2;
    t.vec = w;
  }
}

FlatRows flatRows(const Task &t, const Unit &u, uint64_t srcBase,
                  uint64_t dstBase) {
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  const bool fill = t.kind == kFillRows;
  FlatRows f;
  f.src = fill ? 0 : srcBase + (so + u.b0) * t.srcSize;
  f.dst = dstBase + (d + u.b0) * t.dstSize;
  f.pattern = 0;
  for (int b = 0; b < 8; ++b)
    f.pattern |= ((t.fill >> (8 * (b % t.dstSize))) & 0xff) << (8 * b);
  // Units are at most a few MiB, and the rows of a unit of several rows
  // lie within 2^31 bytes (addUnits): every figure fits 32 bits (a unit of
  // one row never uses its strides).
  const int64_t rs = t.nouter > 0 && !fill ? t.outerSrc[t.nouter - 1] : 0;
  const int64_t rd = t.nouter > 0 ? t.outerDst[t.nouter - 1] : 0;
  const int64_t rows = u.a1 - u.a0;
  const int64_t copied = (u.b1 - u.b0) * t.dstSize / 16;
  const int64_t words = copied + t.tail * t.dstSize / 16;
  f.srcStride = static_cast<uint32_t>(rs * t.srcSize);
  f.dstStride = static_cast<uint32_t>(rd * t.dstSize);
  f.words = static_cast<uint32_t>(words);
  f.copied = static_cast<uint32_t>(fill ? 0 : copied);
  f.total = static_cast<uint32_t>(rows * words);
  return f;
}

bool isElementFill(const Task &t, const Unit &u) {
  if (t.kind == kFill)
    return u.a1 - u.a0 == 1;
  return t.kind == kFillRows && u.a1 - u.a0 == 1 && u.b1 - u.b0 == 1;
}

FlatFill flatFill(const Task &t, const Unit &u, uint64_t dstBase) {
  // kFill: element a0 of the flattened (outer, n) space; kFillRows: element
  // b0 of row a0.
  const bool rows = t.kind == kFillRows;
  const int64_t o = rows ? u.a0 : u.a0 / t.n, i = rows ? u.b0 : u.a0 % t.n;
  int64_t so, d;
  outerOffsets(t, o, so, d);
  FlatFill f;
  f.dst = dstBase + (d + i * (rows ? 1 : t.dstStride)) * t.dstSize;
  f.bits = t.fill;
  f.size = static_cast<uint32_t>(t.dstSize);
  return f;
}

namespace {
bool isCastStep(const StepCode &s, int32_t from, int32_t to) {
  return s.kind == 0 && s.from == from && s.to == to;
}
/// An affine on dtype t that is a product by an f32 value alone.
bool isF32Scale(const StepCode &s, int32_t t) {
  return s.kind == 1 && s.to == t && s.offset == 0.0 &&
         static_cast<double>(static_cast<float>(s.scale)) == s.scale;
}
} // namespace

FastCast fastCast(const Task &t) {
  if (t.kind != kConvertRows || t.vec != 16)
    return kNotFast;
  const StepCode *s = t.steps;
  if (t.nsteps == 1 && s[0].kind == 0) {
    const int32_t from = s[0].from, to = s[0].to;
    return from == kF32 && to == kBF16   ? kF32ToBF16
           : from == kBF16 && to == kF32 ? kBF16ToF32
           : from == kF32 && to == kF16  ? kF32ToF16
           : from == kF16 && to == kF32  ? kF16ToF32
                                         : kNotFast;
  }
  if (t.nsteps == 2 && isCastStep(s[0], kF8E4M3, kBF16) &&
      isF32Scale(s[1], kBF16))
    return kE4M3ToBF16;
  if (t.nsteps == 2 && isCastStep(s[0], kF8E4M3, kF32) &&
      isF32Scale(s[1], kF32))
    return kE4M3ToF32;
  if (t.nsteps == 3 && isCastStep(s[0], kBF16, kF32) &&
      isF32Scale(s[1], kF32) && isCastStep(s[2], kF32, kF8E4M3))
    return kBF16ToE4M3;
  if (t.nsteps == 2 && isF32Scale(s[0], kF32) &&
      isCastStep(s[1], kF32, kF8E4M3))
    return kF32ToE4M3;
  return kNotFast;
}

int fastCastSteps(FastCast c, float scale, StepCode *out) {
  auto cast = [](int32_t from, int32_t to) {
    StepCode s;
    s.kind = 0;
    s.from = from;
    s.to = to;
    return s;
  };
  auto affine = [&](int32_t t) {
    StepCode s;
    s.kind = 1;
    s.from = s.to = t;
    s.scale = scale;
    return s;
  };
  switch (c) {
  case kF32ToBF16: out[0] = cast(kF32, kBF16); return 1;
  case kBF16ToF32: out[0] = cast(kBF16, kF32); return 1;
  case kF32ToF16: out[0] = cast(kF32, kF16); return 1;
  case kF16ToF32: out[0] = cast(kF16, kF32); return 1;
  case kE4M3ToBF16:
    out[0] = cast(kF8E4M3, kBF16);
    out[1] = affine(kBF16);
    return 2;
  case kE4M3ToF32:
    out[0] = cast(kF8E4M3, kF32);
    out[1] = affine(kF32);
    return 2;
  case kBF16ToE4M3:
    out[0] = cast(kBF16, kF32);
    out[1] = affine(kF32);
    out[2] = cast(kF32, kF8E4M3);
    return 3;
  case kF32ToE4M3:
    out[0] = affine(kF32);
    out[1] = cast(kF32, kF8E4M3);
    return 2;
  default:
    return 0;
  }
}

int64_t convertItemElements(const Task &t) {
  const FastCast c = fastCast(t);
  return c >= kF32ToBF16 && c <= kF16ToF32 ? 4 : wordGroupElements(t);
}

void appendFlatConverts(const Task &t, const Unit &u, uint64_t srcBase,
                        uint64_t dstBase, std::vector<FlatConvert> &out) {
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  FlatConvert f;
  f.src = srcBase + (so + u.b0) * t.srcSize;
  f.dst = dstBase + (d + u.b0) * t.dstSize;
  // As flatRows: a unit's rows lie within 2^31 bytes (addUnits), so every
  // figure fits 32 bits.
  f.srcStride = static_cast<uint32_t>(
      (t.nouter > 0 ? t.outerSrc[t.nouter - 1] : 0) * t.srcSize);
  f.dstStride = static_cast<uint32_t>(
      (t.nouter > 0 ? t.outerDst[t.nouter - 1] : 0) * t.dstSize);
  const int64_t groups = (u.b1 - u.b0) / convertItemElements(t);
  f.groups = static_cast<uint32_t>(groups);
  f.total = static_cast<uint32_t>((u.a1 - u.a0) * groups);
  f.cast = fastCast(t);
  // The affine's factor: the second step's, or the first's (f32 -> e4m3).
  const StepCode &affine = t.steps[f.cast == kF32ToE4M3 ? 0 : 1];
  f.scale = f.cast >= kE4M3ToBF16 ? static_cast<float>(affine.scale) : 1.0f;
  for (int64_t q = 0; q < f.total; q += kConvertBlockItems) {
    f.first = static_cast<uint32_t>(q);
    out.push_back(f);
  }
}

bool fitsFlatTranspose(const Task &t) {
  // b1 is at most n times the outer indices of a unit (a few tiles' worth).
  const int64_t limit = int64_t(1) << 31;
  return t.n < limit && t.kExtent < limit;
}

FlatTranspose flatTranspose(const Task &t, const Unit &u, uint64_t srcBase,
                            uint64_t dstBase) {
  int64_t so, d;
  outerOffsets(t, u.a0, so, d);
  const int64_t es = t.dstSize;
  const bool several = transposeUnitOuters(t, u) > 1;
  FlatTranspose f;
  f.src = srcBase + (so + u.a1) * es;
  f.dst = dstBase + (d + u.a1 * t.dk) * es;
  f.si = t.srcStride * es;
  f.dk = t.dk * es;
  f.os = several ? t.outerSrc[t.nouter - 1] * es : 0;
  f.od = several ? t.outerDst[t.nouter - 1] * es : 0;
  f.b0 = static_cast<uint32_t>(u.b0);
  f.b1 = static_cast<uint32_t>(u.b1);
  f.n = static_cast<uint32_t>(t.n);
  f.kLeft = static_cast<uint32_t>(t.kExtent - u.a1);
  f.elementBytes = static_cast<uint32_t>(es);
  f.several = several ? 1 : 0;
  return f;
}

void runTableOnHost(const TaskTable &table,
                    const std::vector<const uint8_t *> &sources,
                    const std::vector<uint8_t *> &targets) {
  for (const Unit &u : table.units) {
    const Task &t = table.tasks[u.task];
    uint8_t *dst = targets[t.target];
    const uint8_t *src = t.source >= 0 ? sources[t.source] : nullptr;
    int64_t so, d;
    if (isElementFill(t, u)) { // as fillElements
      const FlatFill f = flatFill(t, u, reinterpret_cast<uint64_t>(dst));
      std::memcpy(reinterpret_cast<uint8_t *>(f.dst), &f.bits, f.size);
      continue;
    }
    if (fastCast(t) != kNotFast) {
      // As convertFast: through the unit's FlatConverts, each block's items
      // converted by the steps its descriptor names, thread x taking items
      // first + x + k kBlockThreads (k < kConvertItems) by ItemWalk.
      std::vector<FlatConvert> blocks;
      appendFlatConverts(t, u, reinterpret_cast<uint64_t>(src),
                         reinterpret_cast<uint64_t>(dst), blocks);
      const int64_t g = convertItemElements(t);
      for (const FlatConvert &f : blocks) {
        StepCode steps[kMaxSteps];
        const int n = fastCastSteps(static_cast<FastCast>(f.cast), f.scale, steps);
        for (uint32_t x = 0; x < kBlockThreads; ++x) {
          ItemWalk walk(f.first + x, f.groups, kBlockThreads);
          for (uint32_t k = 0; k < kConvertItems; ++k, walk.next()) {
            if (f.first + x + k * kBlockThreads >= f.total)
              continue;
            const uint8_t *s = reinterpret_cast<const uint8_t *>(f.src) +
                               walk.at(f.srcStride, g * t.srcSize);
            uint8_t *o = reinterpret_cast<uint8_t *>(f.dst) +
                         walk.at(f.dstStride, g * t.dstSize);
            for (int64_t e = 0; e < g; ++e) {
              uint64_t v = load(s + e * t.srcSize, t.srcSize);
              for (int j = 0; j < n; ++j)
                v = applyStep(steps[j], v);
              std::memcpy(o + e * t.dstSize, &v, t.dstSize);
            }
          }
        }
      }
      continue;
    }
    if ((t.kind == kCopyRows || t.kind == kFillRows) && t.vec == 16) {
      // As copyFlat: 16-byte word q of the unit is word q % words of row
      // q / words, from the source below `copied`, else the pattern.
      const FlatRows f = flatRows(t, u, reinterpret_cast<uint64_t>(src),
                                  reinterpret_cast<uint64_t>(dst));
      for (uint32_t q = 0; q < f.total; ++q) {
        const uint32_t row = q / f.words, c = q % f.words;
        uint8_t *o = reinterpret_cast<uint8_t *>(f.dst) +
                     (uint64_t(row) * f.dstStride + uint64_t(c) * 16);
        if (c < f.copied)
          std::memcpy(o,
                      reinterpret_cast<const uint8_t *>(f.src) +
                          (uint64_t(row) * f.srcStride + uint64_t(c) * 16),
                      16);
        else {
          std::memcpy(o, &f.pattern, 8);
          std::memcpy(o + 8, &f.pattern, 8);
        }
      }
      continue;
    }
    switch (t.kind) {
    case kCopyRows:
    case kFillRows:
    case kConvertRows: {
      // As the kernel: row a0's offsets, then the strides of the innermost
      // outer dimension (the unit stays within one of its runs).
      outerOffsets(t, u.a0, so, d);
      const int64_t rs = t.nouter > 0 ? t.outerSrc[t.nouter - 1] : 0;
      const int64_t rd = t.nouter > 0 ? t.outerDst[t.nouter - 1] : 0;
      for (int64_t r = 0; r < u.a1 - u.a0; ++r) {
        uint8_t *o = dst + (d + r * rd + u.b0) * t.dstSize;
        if (t.kind == kCopyRows) {
          std::memcpy(o, src + (so + r * rs + u.b0) * t.srcSize,
                      (u.b1 - u.b0) * t.dstSize);
          for (int64_t i = 0; i < t.tail; ++i) // units of whole rows
            std::memcpy(o + (t.n + i) * t.dstSize, &t.fill, t.dstSize);
        } else if (t.kind == kConvertRows)
          for (int64_t i = 0; i < u.b1 - u.b0; ++i) {
            uint64_t v = load(src + (so + r * rs + u.b0 + i) * t.srcSize,
                              t.srcSize);
            for (int k = 0; k < t.nsteps; ++k)
              v = applyStep(t.steps[k], v);
            std::memcpy(o + i * t.dstSize, &v, t.dstSize);
          }
        else
          for (int64_t i = 0; i < u.b1 - u.b0; ++i)
            std::memcpy(o + i * t.dstSize, &t.fill, t.dstSize);
      }
      break;
    }
    case kTranspose: {
      if (t.vec > 1 && fitsFlatTranspose(t)) {
        // As transposeTiles: through the unit's FlatTranspose.
        const FlatTranspose f =
            flatTranspose(t, u, reinterpret_cast<uint64_t>(src),
                          reinterpret_cast<uint64_t>(dst));
        const int64_t kn =
            std::min<int64_t>(f.kLeft, transposeShape(f.elementBytes).kStrip);
        for (int64_t k = 0; k < kn; ++k)
          for (uint32_t g = f.b0; g < f.b1; ++g) {
            const uint32_t o = f.several ? g / f.n : 0,
                           i = f.several ? g % f.n : g;
            std::memcpy(reinterpret_cast<uint8_t *>(f.dst) + k * f.dk +
                            o * f.od + int64_t(i) * f.elementBytes,
                        reinterpret_cast<const uint8_t *>(f.src) +
                            k * f.elementBytes + o * f.os + i * f.si,
                        f.elementBytes);
          }
        break;
      }
      outerOffsets(t, u.a0, so, d);
      const int64_t k1 = std::min<int64_t>(
          t.kExtent, u.a1 + transposeShape(t.dstSize).kStrip);
      // Element g of the unit's (outer, i) space: outer a0 + g / n, i = g % n
      // (one outer where b1 <= n).
      const int64_t os = t.nouter > 0 ? t.outerSrc[t.nouter - 1] : 0,
                    od = t.nouter > 0 ? t.outerDst[t.nouter - 1] : 0;
      const bool several = transposeUnitOuters(t, u) > 1;
      for (int64_t k = u.a1; k < k1; ++k)
        for (int64_t g = u.b0; g < u.b1; ++g) {
          const int64_t oo = several ? g / t.n : 0;
          const int64_t i = several ? g % t.n : g;
          std::memcpy(dst + (d + oo * od + k * t.dk + i) * t.dstSize,
                      src + (so + oo * os + k + i * t.srcStride) * t.srcSize,
                      t.dstSize);
        }
      break;
    }
    default:
      for (int64_t e = u.a0; e < u.a1; ++e) {
        int64_t o = e / t.n, i = e % t.n;
        outerOffsets(t, o, so, d);
        uint64_t v;
        if (t.kind == kFill) {
          v = t.fill;
        } else {
          v = load(src + (so + i * t.srcStride) * t.srcSize, t.srcSize);
          const uint64_t g = scaleBitsAt(
              t, t.scaleSource >= 0 ? sources[t.scaleSource] : nullptr, o, i);
          if (t.kind == kConvert)
            for (int k = 0; k < t.nsteps; ++k)
              v = applyStep(t.steps[k], v, g);
        }
        std::memcpy(dst + (d + i * t.dstStride) * t.dstSize, &v, t.dstSize);
      }
    }
  }
}

} // namespace wl::runtime::cuda

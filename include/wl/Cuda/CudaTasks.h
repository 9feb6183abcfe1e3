//===- CudaTasks.h - a plan as the CUDA executor's work table ---*- C++ -*-===//
//
// Plain C++17 with no CUDA header, so that the table is built, checked and
// emulated on machines without a GPU. A plan's pieces become tasks (one
// kind each: row copies, transposes, converting rows, fills, element by
// element moves) and each task is cut into units: the executor's
// non-persistent kernels cut each unit again into parts of a block each,
// its persistent general kernel has each block take units in turn (a few
// launches a plan, docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_CUDATASKS_H
#define WL_RUNTIME_CUDATASKS_H

#include "wl/Cuda/HostDevice.h"
#include "wl/Layout/Plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace wl::runtime::cuda {

enum TaskKind : int32_t {
  /// Rows of `n` elements, unit stride on both sides, no conversion: moved
  /// in `vec`-byte words (16 where the addresses allow). Where `tail` > 0,
  /// each target row goes on with `tail` elements of the constant `fill`
  /// (a padding fused with the copy before it, so that the row is written
  /// in one contiguous pass).
  kCopyRows = 0,
  /// dst[k * dk + i] = src[k + i * srcStride] over k < kExtent, i < n, for
  /// each outer index: blocks of V x V elements transposed in registers.
  kTranspose = 1,
  /// Element by element, through the steps (casts, affines).
  kConvert = 2,
  /// The constant `fill` (bits of the target dtype).
  kFill = 3,
  /// Element by element with any strides, no conversion.
  kStrided = 4,
  /// Rows of `n` elements of the constant `fill`, unit stride in the target:
  /// `vec`-byte words of the repeated pattern (units as kCopyRows).
  kFillRows = 5,
  /// Rows of `n` elements, unit stride on both sides, through the steps
  /// (units as kCopyRows): groups of elements read and written as words
  /// where `vec` is set (float to float, aligned), else element by element.
  kConvertRows = 6,
};

/// One conversion step as the device applies it.
struct StepCode {
  /// 0 cast, 1 affine, 2 and 3 e2m1 of the low and high nibble, 4 the
  /// run-time scale (from: how the scale is read); layout::Step's kinds.
  int32_t kind = 0;
  int32_t from = 0; ///< layout::DType values
  int32_t to = 0;
  int32_t pad = 0;
  double scale = 1.0, offset = 0.0;
};

constexpr int kMaxOuter = 4;
constexpr int kMaxSteps = 3;
/// Threads of a block: every unit is the work of one block.
constexpr int kBlockThreads = 256;

/// Threads of a block along k in a transpose (the rest along i): 16 x 16
/// threads make square tiles of 128 x 128 2-byte elements, which read and
/// write segments of the same length (256 bytes of a row) on both sides
/// (docs/cuda.md).
constexpr int kTransposeThreadsK = 16;

/// The shape of a transpose's work for an element size: each thread moves a
/// block of V x V elements, V rows of `wordBytes` loaded along k (contiguous
/// in the source) and V rows stored along i (contiguous in the target); the
/// 256 threads of a block stand as threadsK = 16 along k and 16 along i, so
/// a unit is a strip of kStrip = 16 V values of k (256 bytes of each source
/// row for 2-byte elements) by a range of i, taken iStep = 16 V at a time.
struct TransposeShape {
  int wordBytes, v, kStrip, iStep, threadsK;
};
#ifdef __CUDACC__
__host__ __device__
#endif
constexpr TransposeShape transposeShape(int elementBytes) {
  int word = elementBytes == 1 ? 8 : 16;
  int v = word / elementBytes;
  return {word, v, kTransposeThreadsK * v,
          kBlockThreads / kTransposeThreadsK * v, kTransposeThreadsK};
}

struct Task {
  int32_t kind = kCopyRows;
  int32_t source = -1; ///< plan source (-1: fill)
  int32_t target = 0;
  int32_t srcSize = 0, dstSize = 0; ///< element bytes
  int32_t nouter = 0;
  /// kCopyRows, kFillRows: bytes per access; kTranspose: the transpose
  /// word's size when every address allows it, else 1 (element by element);
  /// kConvertRows: 16 when groups of 16 / max(element sizes) elements can
  /// be read and written as words (float to float), else 1.
  /// Set at launch from the addresses (chooseWords).
  int32_t vec = 1;
  int32_t nsteps = 0;
  int64_t srcOffset = 0, dstOffset = 0; ///< elements
  int64_t n = 1;                        ///< innermost extent
  int64_t srcStride = 1, dstStride = 1; ///< innermost strides
  int64_t outerSize[kMaxOuter] = {1, 1, 1, 1};
  int64_t outerSrc[kMaxOuter] = {0, 0, 0, 0};
  int64_t outerDst[kMaxOuter] = {0, 0, 0, 0};
  int64_t kExtent = 1, dk = 0; ///< kTranspose: the tile's other dimension
  uint64_t fill = 0;
  /// kCopyRows: elements of `fill` after each row in the target (fused
  /// padding, see TableOptions::fuseRowTailsBelowBytes); 0 otherwise.
  int64_t tail = 0;
  StepCode steps[kMaxSteps];
  /// The device addresses of the source (0 for a fill) and the target, set
  /// by Executor::run: a block finds its data one load after its unit.
  uint64_t srcAddress = 0, dstAddress = 0;
  /// A run-time scale (layout::RuntimeScale; kConvert tasks only): the
  /// plan source (-1: none), its element bytes, offset and strides (the
  /// innermost, then the outer dimensions'), and its device address.
  int32_t scaleSource = -1, scaleSize = 0;
  int64_t scaleOffset = 0, scaleStride = 0;
  int64_t outerScale[kMaxOuter] = {0, 0, 0, 0};
  uint64_t scaleAddress = 0;
};

/// The work of one thread block.
///   kCopyRows, kFillRows: rows [a0, a1) of the flattened outer space, all
///              in one run of the innermost outer dimension (so that row r
///              of the unit is row a0 plus r of that dimension's strides),
///              elements [b0, b1) of each row (with a tail: whole rows,
///              b0 = 0 and b1 = n, each followed by its tail);
///   kTranspose: outer index a0, the strip k in [a1, a1 + kStrip), and
///              i in [b0, b1) (b0 a multiple of the shape's iStep); where
///              b1 > n, several outer indices: (b1 / n) of them from a0
///              on, all in one run of the innermost outer dimension, b0 = 0
///              and n a multiple of the shape's v (so that a short i
///              extent, one tile or less, still makes a unit of several
///              tiles, the outer indices of one strip next to each other
///              in the launch);
///   others: elements [a0, a1) of the flattened (outer, n) space.
struct Unit {
  int32_t task = 0;
  int32_t pad = 0;
  int64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
};

/// A unit of row copies or fills whose every address is 16-byte aligned
/// (kCopyRows, kFillRows with vec 16) as copyFlat reads it: 48 bytes, three
/// 16-byte loads, so that a block reaches its data one load after its
/// launch, with no task to look up and no outer index to divide out
/// (docs/cuda.md). Word q of the unit is word q % words of
/// row q / words: the source's word if that is under `copied`, else the
/// fill pattern.
struct alignas(16) FlatRows {
  uint64_t src;     ///< the unit's first source byte (0 for a fill)
  uint64_t dst;     ///< its first target byte
  uint64_t pattern; ///< the fill value repeated over 8 bytes (fills, tails)
  uint32_t srcStride = 0, dstStride = 0; ///< bytes from a row to the next
  uint32_t words = 0;  ///< 16-byte words of a target row (copied, then tail)
  uint32_t copied = 0; ///< of which read from the source (0 for a fill)
  uint32_t total = 0;  ///< words of the unit: its rows times `words`
  uint32_t pad = 0;
};
static_assert(sizeof(FlatRows) == 48, "copyFlat loads it as three words");

/// The FlatRows of unit `u` of task `t` (kCopyRows or kFillRows with vec 16)
/// over tensors at `srcBase` (ignored for a fill) and `dstBase`.
FlatRows flatRows(const Task &t, const Unit &u, uint64_t srcBase,
                  uint64_t dstBase);

/// A unit that fills one element (kFill or kFillRows) as fillElements
/// writes it, a thread an element: block FP8's quantizing plans fill their
/// scale grids an element a block (a Qwen3-32B layer: 29678), and as units
/// of the general kernel, a block taking each in turn through its unit and
/// task, they took 13% of the plan's time (docs/cuda.md).
struct alignas(8) FlatFill {
  uint64_t dst;      ///< the element's target byte
  uint64_t bits;     ///< its value, the low `size` bytes
  uint32_t size = 0; ///< bytes: 1, 2, 4 or 8
  uint32_t pad = 0;
};
static_assert(sizeof(FlatFill) == 24, "fillElements reads three words");

/// Whether unit `u` of task `t` fills exactly one element.
bool isElementFill(const Task &t, const Unit &u);

/// The FlatFill of such a unit (isElementFill) over a target at `dstBase`.
FlatFill flatFill(const Task &t, const Unit &u, uint64_t dstBase);

/// A transpose unit whose rows are aligned to its word (kTranspose with vec
/// > 1) as transposeTiles reads it: 80 bytes, five 16-byte loads, the
/// addresses resolved on the host (as FlatRows). Element (k, g) of the unit,
/// k < kLeft values of k from its strip's first and g in [b0, b1), is read
/// at src + k ES + o os + i si and written at dst + k dk + o od + i ES,
/// with o = g / n and i = g % n where the unit has several outer indices,
/// else o = 0 and i = g.
struct alignas(16) FlatTranspose {
  uint64_t src;            ///< the strip's first source element, at i = 0
  uint64_t dst;            ///< its target
  int64_t si = 0;          ///< source bytes from an i to the next
  int64_t dk = 0;          ///< target bytes from a k to the next
  int64_t os = 0, od = 0;  ///< bytes from an outer index to the next (several)
  uint32_t b0 = 0, b1 = 0; ///< the unit's i (over its outer indices)
  uint32_t n = 0;          ///< i of an outer index
  uint32_t kLeft = 0;      ///< k from the strip's first to the end of k
  uint32_t elementBytes = 0;
  uint32_t several = 0; ///< 1 where the unit has several outer indices
  uint32_t pad[2] = {0, 0};
};
static_assert(sizeof(FlatTranspose) == 80,
              "transposeTiles loads it as five words");

/// Whether the unit figures of kTranspose task `t` fit a FlatTranspose's
/// 32-bit fields (else its units go to the general kernel).
bool fitsFlatTranspose(const Task &t);

/// The FlatTranspose of unit `u` of task `t` (kTranspose, fitsFlatTranspose)
/// over tensors at `srcBase` and `dstBase`.
FlatTranspose flatTranspose(const Task &t, const Unit &u, uint64_t srcBase,
                            uint64_t dstBase);

/// The outer indices a kTranspose unit covers (above): b1 / n where
/// b1 > n, else 1.
#ifdef __CUDACC__
__host__ __device__
#endif
inline int64_t transposeUnitOuters(const Task &t, const Unit &u) {
  return u.b1 > t.n ? u.b1 / t.n : 1;
}

/// The fast conversions of converting rows (kConvertRows with vec 16):
/// the four common casts, each a piece's only step, and block FP8's step
/// lists with the block's scale or factor in an f32. convertFast runs them
/// from FlatConvert alone; every other converting row goes through its
/// task's steps (docs/cuda.md).
enum FastCast : int32_t {
  kNotFast = 0,
  kF32ToBF16 = 1,
  kBF16ToF32 = 2,
  kF32ToF16 = 3,
  kF16ToF32 = 4,
  kE4M3ToBF16 = 5, ///< cast(e4m3 -> bf16), affine(scale) on bf16
  kE4M3ToF32 = 6,  ///< cast(e4m3 -> f32), affine(scale) on f32
  kBF16ToE4M3 = 7, ///< cast(bf16 -> f32), affine(factor) on f32, cast(f32 -> e4m3)
  kF32ToE4M3 = 8,  ///< affine(factor) on f32, cast(f32 -> e4m3)
};

/// Which fast conversion task `t` is (kNotFast where its words do not
/// allow groups, or its steps are another list).
FastCast fastCast(const Task &t);

/// The step list of fast conversion `c` with the f32 `scale` (the affine's
/// factor; ignored by the casts), into `out` (kMaxSteps long): how many.
/// fastCast(t) == c means t's steps are this list with t's factor.
int fastCastSteps(FastCast c, float scale, StepCode *out);

/// Items (element groups, or elements) a thread of convertFast and
/// convertFlat converts: 8, because 4 keep half as many loads in flight and
/// 16 run short of registers (docs/cuda.md).
constexpr int kConvertItems = 8;
/// Items a block of convertFast converts: each FlatConvert is this many.
constexpr int64_t kConvertBlockItems = int64_t(kBlockThreads) * kConvertItems;

/// Elements of a word group of a converting-rows task: 16 / max(element
/// sizes) where its words allow groups (vec 16: float to float, aligned),
/// else 1 (element by element).
#ifdef __CUDACC__
__host__ __device__
#endif
inline int64_t wordGroupElements(const Task &t) {
  return t.vec == 16 ? 16 / (t.srcSize > t.dstSize ? t.srcSize : t.dstSize)
                     : 1;
}

/// Items q0, q0 + step, q0 + 2 step, ... of rows of `groups` items each (item
/// q is group q % groups of row q / groups), one after the other: `row` and
/// `col` are item q's, and next() moves them to item q + step by adding step
/// / groups rows and step % groups groups, carrying a row where the groups
/// pass the row's end. So a thread of convertFast, whose items are kThreads
/// apart, divides twice instead of twice an item (a division by a value
/// known only at run time is some ten instructions on the GPU). The host
/// emulation walks the same way; ItemWalk.EqualsDivision checks it against
/// the division on every coordinate of a range of row lengths.
struct ItemWalk {
  uint32_t row, col, dRow, dCol, groups;
  WL_HD ItemWalk(uint32_t q0, uint32_t g, uint32_t step)
      : row(q0 / g), col(q0 % g), dRow(step / g), dCol(step % g), groups(g) {}
  /// Item q's byte offset in rows `rowBytes` apart of `itemBytes` items.
  WL_HD uint32_t at(uint32_t rowBytes, uint32_t itemBytes) const {
    return row * rowBytes + col * itemBytes;
  }
  WL_HD void next() {
    row += dRow;
    col += dCol;
    if (col >= groups) {
      col -= groups;
      ++row;
    }
  }
};

/// Elements of a converting-rows item: 4 for the common casts, else a word
/// group (wordGroupElements: block FP8 and the other float to float steps)
/// or one element.
int64_t convertItemElements(const Task &t);

/// A block's share of a fast conversion (fastCast) as convertFast reads it:
/// 48 bytes, three 16-byte loads, the addresses resolved on the host and
/// the conversion named with its scale, so that a block reaches its data
/// one load after its launch (no task, no step list, no outer index to
/// divide out). Item q of the unit (first <= q < min(first +
/// kConvertBlockItems, total)) is group q % groups of row q / groups, read
/// at src + row srcStride + (q % groups) G ss and written at dst + row
/// dstStride + (q % groups) G ds, G the elements of an item.
struct alignas(16) FlatConvert {
  uint64_t src; ///< the unit's first source byte
  uint64_t dst; ///< its first target byte
  uint32_t srcStride = 0, dstStride = 0; ///< bytes from a row to the next
  uint32_t groups = 0; ///< items of a row
  uint32_t first = 0;  ///< the block's first item
  uint32_t total = 0;  ///< items of the unit: its rows times `groups`
  int32_t cast = kNotFast;
  float scale = 1.0f; ///< block FP8's scale or factor (the affine's)
  uint32_t pad = 0;
};
static_assert(sizeof(FlatConvert) == 48, "convertFast loads it as three words");

/// Appends the FlatConverts of unit `u` of task `t` (kConvertRows,
/// fastCast(t) != kNotFast), one a block of kConvertBlockItems items, over
/// tensors at `srcBase` and `dstBase`.
void appendFlatConverts(const Task &t, const Unit &u, uint64_t srcBase,
                        uint64_t dstBase, std::vector<FlatConvert> &out);

struct TaskTable {
  std::vector<Task> tasks;
  /// In task order: a task's units are consecutive.
  std::vector<Unit> units;
  int64_t bytes = 0; ///< target bytes the table writes
};

struct TableOptions {
  /// Target bytes per unit (row copies, fills, element moves): the grain
  /// of the general kernel's balance, whose blocks take units in turn;
  /// 64 KiB, because smaller units cost it more per unit and larger ones
  /// gained nothing (docs/cuda.md). The non-persistent kernels cut units
  /// into parts of a block each, so the unit size matters little to them.
  int64_t unitBytes = 64 << 10;
  /// Target bytes per transpose unit (a strip of k by a range of i, cut
  /// into tiles by transposeTiles, a block each, so that its size matters
  /// little; docs/cuda.md).
  int64_t transposeUnitBytes = 128 << 10;
  /// Fuse a padding (row fills) into the row copy that ends where it
  /// starts in every target row, when the copy's rows are shorter than
  /// fuseRowTailsBelowBytes (0 turns fusing off) and
  /// the padding's rows shorter than fuseFillsBelowBytes (a warp stores
  /// 512 contiguous bytes at a time: shorter fill rows on their own write
  /// scattered pieces). Fusing gains where the rows are short (MaxText's
  /// w13: 384 bytes copied, 128 of padding) and loses where the padding's
  /// rows are long enough to be stored well on their own (docs/cuda.md).
  int64_t fuseRowTailsBelowBytes = 1024;
  int64_t fuseFillsBelowBytes = 512;
};

/// The tasks and units of `plan`. Fails (with the piece named) only for a
/// conversion the device cannot do exactly (8-bit floats, integer to float):
/// the caller runs such a plan on the CPU.
bool buildTaskTable(const layout::Plan &plan, TaskTable &table,
                    std::string &error, const TableOptions &options = {});

/// Sets each kCopyRows and kFillRows task's word size to the largest of 16,
/// 8, 4, 2, 1 bytes that divides every address it touches, and each
/// kTranspose task's to its transpose word where every block's rows are
/// aligned to it (else 1), given the tensors' base addresses.
void chooseWords(TaskTable &table, const std::vector<uint64_t> &sourceBases,
                 const std::vector<uint64_t> &targetBases);

/// Runs the table on the host exactly as the kernel partitions it (unit by
/// unit, the same index arithmetic), for tests without a GPU.
void runTableOnHost(const TaskTable &table,
                    const std::vector<const uint8_t *> &sources,
                    const std::vector<uint8_t *> &targets);

/// A step list the device applies exactly (bf16, f16, f32, f64 and e4m3fn
/// casts among themselves but f64 -> e4m3fn, integer casts among
/// themselves; affines on bf16, f16, f32, f64; MXFP4's e2m1 decodes and
/// run-time scales), at most kMaxSteps long.
bool deviceCanApply(const std::vector<layout::Step> &steps);

} // namespace wl::runtime::cuda

#endif // WL_RUNTIME_CUDATASKS_H

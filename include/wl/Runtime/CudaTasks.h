//===- CudaTasks.h - a plan as the CUDA executor's work table ---*- C++ -*-===//
//
// Plain C++17 with no CUDA header, so that the table is built, checked and
// emulated on machines without a GPU. A plan's pieces become tasks (one
// kernel kind each: row copies, tile transposes, converting or strided
// element moves, fills) and each task is cut into units, the work of one
// thread block; one launch runs every unit of a plan (the kernel is
// persistent: blocks loop over the unit table).
//
//===----------------------------------------------------------------------===//
#ifndef WL_RUNTIME_CUDATASKS_H
#define WL_RUNTIME_CUDATASKS_H

#include "wl/Layout/Piece.h"

#include <cstdint>
#include <string>
#include <vector>

namespace wl::runtime::cuda {

enum TaskKind : int32_t {
  /// Rows of `n` elements, unit stride on both sides, no conversion: moved
  /// in `vec`-byte words (16 where the addresses allow).
  kCopyRows = 0,
  /// dst[k * dk + i] = src[k + i * srcStride] over k < kExtent, i < n, for
  /// each outer index: through a shared-memory tile.
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
};

/// One conversion step as the device applies it.
struct StepCode {
  int32_t kind = 0; ///< 0 cast, 1 affine
  int32_t from = 0; ///< layout::DType values
  int32_t to = 0;
  int32_t pad = 0;
  double scale = 1.0, offset = 0.0;
};

constexpr int kMaxOuter = 4;
constexpr int kMaxSteps = 2;
/// Transpose tiles are kTile x kTile elements.
constexpr int kTile = 64;

struct Task {
  int32_t kind = kCopyRows;
  int32_t source = -1; ///< plan source (-1: fill)
  int32_t target = 0;
  int32_t srcSize = 0, dstSize = 0; ///< element bytes
  int32_t nouter = 0;
  int32_t vec = 1; ///< kCopyRows: bytes per access (set at launch)
  int32_t nsteps = 0;
  int64_t srcOffset = 0, dstOffset = 0; ///< elements
  int64_t n = 1;                        ///< innermost extent
  int64_t srcStride = 1, dstStride = 1; ///< innermost strides
  int64_t outerSize[kMaxOuter] = {1, 1, 1, 1};
  int64_t outerSrc[kMaxOuter] = {0, 0, 0, 0};
  int64_t outerDst[kMaxOuter] = {0, 0, 0, 0};
  int64_t kExtent = 1, dk = 0; ///< kTranspose: the tile's other dimension
  uint64_t fill = 0;
  StepCode steps[kMaxSteps];
};

/// The work of one thread block.
///   kCopyRows, kFillRows: rows [a0, a1) of the flattened outer space, elements
///              [b0, b1) of each row;
///   kTranspose: outer index a0, tile origin k0 = a1, i0 = b0;
///   others: elements [a0, a1) of the flattened (outer, n) space.
struct Unit {
  int32_t task = 0;
  int32_t pad = 0;
  int64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
};

struct TaskTable {
  std::vector<Task> tasks;
  std::vector<Unit> units;
  int64_t bytes = 0; ///< target bytes the table writes
};

struct TableOptions {
  /// Target bytes per copy or element unit. 256 KiB measured fastest on an
  /// H200 against 16 and 64 KiB for every benchmark plan (docs/benchmarks.md):
  /// per-unit costs weigh more than a shorter last wave.
  int64_t unitBytes = 256 << 10;
};

/// The tasks and units of `plan`. Fails (with the piece named) only for a
/// conversion the device cannot do exactly (8-bit floats, integer to float):
/// the caller runs such a plan on the CPU.
bool buildTaskTable(const layout::Plan &plan, TaskTable &table,
                    std::string &error, const TableOptions &options = {});

/// Sets each kCopyRows and kFillRows task's word size to the largest of 16, 8, 4, 2, 1
/// bytes that divides every address it touches, given the tensors' base
/// addresses.
void chooseWords(TaskTable &table, const std::vector<uint64_t> &sourceBases,
                 const std::vector<uint64_t> &targetBases);

/// Runs the table on the host exactly as the kernel partitions it (unit by
/// unit, the same index arithmetic), for tests without a GPU.
void runTableOnHost(const TaskTable &table,
                    const std::vector<const uint8_t *> &sources,
                    const std::vector<uint8_t *> &targets);

/// A step list the device applies exactly (bf16, f16, f32, f64 and integer
/// casts among themselves; affines on bf16, f16, f32, f64).
bool deviceCanApply(const std::vector<layout::Step> &steps);

} // namespace wl::runtime::cuda

#endif // WL_RUNTIME_CUDATASKS_H

//===- Shape.h - row-major shapes, boxes and permutations -------*- C++ -*-===//
//
// Plain C++17, no MLIR: the runtime and the compiler share these.
//
//===----------------------------------------------------------------------===//
#ifndef WL_LAYOUT_SHAPE_H
#define WL_LAYOUT_SHAPE_H

#include <cstdint>
#include <optional>
#include <vector>

namespace wl::layout {

using Shape = std::vector<int64_t>;

/// Number of elements of `shape`, or nullopt when a size is negative or the
/// product overflows int64_t.
/// Post: the result equals the product of all sizes (1 for rank 0).
std::optional<int64_t> numElements(const Shape &shape);

/// Row-major strides of `shape`, in elements.
/// Post: strides[rank-1] = 1 and strides[d] = strides[d+1] * shape[d+1]
/// (for a rank-0 shape the result is empty). No overflow check: call on
/// shapes whose numElements succeeded.
Shape rowMajorStrides(const Shape &shape);

/// The flat row-major position of `coords` in `shape`.
/// Pre: 0 <= coords[d] < shape[d]. Post: result = sum coords[d]*strides[d].
int64_t flatIndex(const Shape &shape, const Shape &coords);

/// The coordinates of flat row-major position `flat` in `shape`.
/// Pre: 0 <= flat < numElements(shape). Post: flatIndex(shape, r) == flat.
Shape unflatIndex(const Shape &shape, int64_t flat);

/// True when `perm` holds each of 0..perm.size()-1 exactly once.
bool isPermutation(const std::vector<int64_t> &perm);

/// The inverse permutation. Pre: isPermutation(perm).
/// Post: inv[perm[k]] = k for every k.
std::vector<int64_t> invertPermutation(const std::vector<int64_t> &perm);

/// Permuting by `first` then by `second` (each as wl.permute: result dim k is
/// input dim perm[k]) equals permuting once by the returned permutation.
/// Pre: both are permutations of the same length.
/// Post: result[k] = first[second[k]].
std::vector<int64_t> composePermutations(const std::vector<int64_t> &first,
                                         const std::vector<int64_t> &second);

/// An axis-aligned box of a row-major tensor with unit steps: per dimension
/// the indices [offsets[d], offsets[d] + sizes[d]).
struct Box {
  Shape offsets;
  Shape sizes;
  bool operator==(const Box &other) const {
    return offsets == other.offsets && sizes == other.sizes;
  }
};

/// Maps a box through a row-major reshape. `box` lies in a tensor of shape
/// `from`; the tensor is reinterpreted (same flat order) with shape `to`.
/// Returns the box of `to` holding exactly the same flat positions, or
/// nullopt when they do not form a box of `to`.
///
/// Pre: numElements(from) == numElements(to) and box lies inside `from`.
/// Post: when a box B is returned, for every flat position p:
///   p is in `box` (seen in `from`) <=> p is in B (seen in `to`),
/// and because both boxes enumerate their positions in increasing flat order,
/// slicing `box` then reshaping to B.sizes equals reshaping then slicing B.
/// Empty boxes and shapes with a zero size give nullopt.
std::optional<Box> reshapeBox(const Box &box, const Shape &from,
                              const Shape &to);

} // namespace wl::layout

#endif // WL_LAYOUT_SHAPE_H

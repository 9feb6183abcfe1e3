//===- Passes.td - wl passes --------------------------------*- tablegen -*-===//
#ifndef WL_TRANSFORMS_PASSES_TD
#define WL_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def WLPropagateShards : Pass<"wl-propagate-shards", "mlir::ModuleOp"> {
  let summary = "Move every slice and shard towards the sources";
  let description = [{
    Applies the selection patterns of the canonicalizer (slice and shard of
    permute, reshape, concat, interleave, split, stack, unstack, pad, cast
    and affine; slice of slice), with the ops' folders and dead-code removal
    that the greedy driver always does, but none of the other rewrites
    (permute of permute, split of concat, ...), so that each rank's function
    visibly reads only the source elements it keeps. The lowering reads only those elements
    whatever the form of the IR; this pass makes it explicit in the IR.
  }];
}

def WLLowerToPieces : Pass<"wl-lower-to-pieces", "mlir::ModuleOp"> {
  let summary = "Annotate each wl.sink with the pieces it lowers to";
  let description = [{
    Lowers every function to pieces (see docs/plan-format.md) and attaches to
    each `wl.sink` a `wl.pieces` array of strings, one per piece:
    `shape [4, 8] dst 0 [8, 1] <- 'src' 16 [8, 1]`, with
    `fill <value>` for padding and `convert cast bf16->f32` or
    `convert affine(scale, offset)` for conversions. This is what
    `weight-layout-opt --emit=plan` writes as JSON.
  }];
}

def WLCheckCoverage : Pass<"wl-check-coverage", "mlir::ModuleOp"> {
  let summary = "Prove every target element is written exactly once";
  let description = [{
    Lowers each function and checks that every element of every target is
    written by exactly one piece: a gap or an overlap is an error on the
    `wl.sink` of that target, naming the target and the element boxes. The
    functions of a module are the ranks of one mapping: a source element that
    no function reads is an error on its `wl.source` (unless `allow-unread`).
  }];
  let options = [
    Option<"allowUnread", "allow-unread", "bool", /*default=*/"false",
           "Do not report source elements that no function reads">
  ];
}

def WLDetectAliases : Pass<"wl-detect-aliases", "mlir::ModuleOp"> {
  let summary = "Mark sinks that are one contiguous run of one source";
  let description = [{
    Sets `wl.alias = {source = "<name>", offset = <elements>}` on each
    `wl.sink` whose target is exactly one unconverted contiguous run of one
    source of the same dtype: a view, or a `copy_file_range`, needs no copy.
  }];
}

#endif // WL_TRANSFORMS_PASSES_TD

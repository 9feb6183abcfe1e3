//===- WLOps.td - wl dialect operations -------------------*- tablegen -*-===//
//
// Every op of the `wl` dialect. Semantics are written per element so that the
// reference interpreter, the lowering to pieces and the canonicalization
// patterns can each be checked against the text here.
//
// Notation used in the descriptions: for a tensor `x`, `x.shape[d]` is its
// size in dimension `d`; `x[i_0, ..., i_(r-1)]` is one element; `[a, b)` is a
// half-open range of indices.
//
//===----------------------------------------------------------------------===//

#ifndef WL_IR_WLOPS_TD
#define WL_IR_WLOPS_TD

include "wl/IR/WLBase.td"
include "wl/IR/WLInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Every op between wl.source and wl.sink implements DataMovementOp
// (WLInterfaces.td) in its file in lib/IR.
defvar WL_Moves = DeclareOpInterfaceMethods<WL_DataMovementOpInterface>;

//===----------------------------------------------------------------------===//
// Sources and sinks
//===----------------------------------------------------------------------===//

def WL_SourceOp : WL_Op<"source", [Pure]> {
  let summary = "a named tensor read from the input side";
  let description = [{
    `wl.source` names a tensor of the input side: a checkpoint tensor when
    converting files, or a caller's tensor when a plan runs in-process. Its
    result type is the tensor's dtype and shape as the input holds it.

    The name must not be empty. Two `wl.source` ops with the same name read the
    same tensor (CSE merges them); the lowering rejects the same name with two
    different types.

    Example:

    ```mlir
    %q = wl.source "model.layers.0.self_attn.q_proj.weight" : tensor<4096x4096xbf16>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def WL_SinkOp : WL_Op<"sink", [MemoryEffects<[MemWrite]>]> {
  let summary = "delivers a tensor, or a box of one, to the output side";
  let description = [{
    `wl.sink` delivers `input` as the output tensor `name`, with the input's
    dtype and shape. It is the only op with an effect, so everything a sink
    does not use is dead.

    With `at [offsets] of [shape]`, the sink writes `input` into the box of
    the output tensor `name` (of that shape) that starts at `offsets`:
    element `i` of `input` goes to `offsets + i`. Several such sinks of one
    name assemble one tensor, the way a loader fills a fused parameter piece
    by piece; the coverage check (`--wl-check-coverage`) proves that together
    they write every element exactly once and names the region otherwise.

    The name must not be empty; the box must lie inside the shape.

    Examples:

    ```mlir
    wl.sink %qkv "model.layers.0.self_attn.qkv_proj.weight" : tensor<6144x4096xbf16>
    wl.sink %k "qkv" at [4096, 0] of [6144, 4096] : tensor<1024x4096xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, StrAttr:$name,
                   OptionalAttr<DenseI64ArrayAttr>:$offsets,
                   OptionalAttr<DenseI64ArrayAttr>:$target_shape);
  let assemblyFormat = [{
    $input $name (`at` $offsets^ `of` $target_shape)? attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The shape of the output tensor `name`: target_shape, or the input's.
    llvm::SmallVector<int64_t> getTargetShapeOrInput();
    /// Where the input starts in the output tensor (zeros for a whole one).
    llvm::SmallVector<int64_t> getOffsetsOrZero();
  }];
}

//===----------------------------------------------------------------------===//
// Slicing: slice, shard
//===----------------------------------------------------------------------===//

def WL_SliceOp : WL_Op<"slice", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "a strided box of a tensor";
  let description = [{
    `wl.slice` selects, in every dimension `d`, `sizes[d]` indices starting at
    `offsets[d]` with step `strides[d]`, as `tensor.extract_slice` with static
    values:

    `result[i_0, ..., i_(r-1)] = input[offsets[0] + i_0 * strides[0], ...]`

    `offsets`, `sizes` and `strides` each have one entry per input dimension.
    Offsets are non-negative, sizes non-negative, strides at least 1, and every
    selected index lies inside the input: when `sizes[d] > 0`,
    `offsets[d] + (sizes[d] - 1) * strides[d] < input.shape[d]`; when
    `sizes[d] = 0`, `offsets[d] <= input.shape[d]`. The result shape is `sizes`.

    Folds to its input when it selects the whole tensor with unit strides.

    Example: rows 4..7 of a matrix.

    ```mlir
    %r = wl.slice %x offsets [4, 0] sizes [4, 16] strides [1, 1]
        : tensor<16x16xf32> -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, DenseI64ArrayAttr:$offsets,
                   DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$strides);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $input `offsets` $offsets `sizes` $sizes `strides` $strides attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def WL_ShardOp : WL_Op<"shard", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "one of `count` equal chunks along a dimension (TP/EP)";
  let description = [{
    `wl.shard` cuts `input` into `count` equal, contiguous chunks along
    dimension `dim` and returns chunk number `index`. With
    `c = input.shape[dim] / count`:

    `result = input[..., index*c : (index+1)*c, ...]` (on `dim`)

    `input.shape[dim]` must be divisible by `count`, `count >= 1` and
    `0 <= index < count`. This is column-parallel (dim 0 of a `[out, in]`
    weight) or row-parallel (dim 1) tensor parallelism, and expert
    parallelism on a stacked expert dimension. Replication, where several
    ranks hold the same chunk (vLLM's KV heads when tp > kv heads), is
    expressed by choosing `count` and `index` accordingly.

    Folds to its input when `count` is 1.

    Example: rank 3 of 8 of a column-parallel weight.

    ```mlir
    %s = wl.shard %w dim 0 count 8 index 3 : tensor<4096x1024xbf16> -> tensor<512x1024xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, WL_I64Attr:$dim, WL_I64Attr:$count,
                   WL_I64Attr:$index);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $input `dim` $dim `count` $count `index` $index attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Concatenation: concat, split
//===----------------------------------------------------------------------===//

def WL_ConcatOp : WL_Op<"concat", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "operands placed one after another along a dimension";
  let description = [{
    `wl.concat` places its operands one after another along dimension `dim`,
    as `torch.cat`. All operands have the same rank and element type and
    agree in every dimension but `dim`; the result's size in `dim` is the sum
    of theirs. With `o_k` the sum of the sizes of operands `0..k-1` in `dim`,
    operand `k` lands at `[o_k, o_k + inputs[k].shape[dim])` of the result.

    Folds to its operand when there is only one.

    Example: vLLM's `gate_up_proj` at TP=1.

    ```mlir
    %gu = wl.concat %gate, %up dim 0
        : (tensor<12288x4096xbf16>, tensor<12288x4096xbf16>) -> tensor<24576x4096xbf16>
    ```
  }];
  let arguments = (ins Variadic<WL_Tensor>:$inputs, WL_I64Attr:$dim);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $inputs `dim` $dim attr-dict `:` functional-type($inputs, $result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def WL_SplitOp : WL_Op<"split", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "cuts a tensor into consecutive pieces along a dimension";
  let description = [{
    `wl.split` is the inverse of `wl.concat`: it cuts `input` along dimension
    `dim` into one result per entry of `sizes`, result `k` covering
    `[o_k, o_k + sizes[k])` where `o_k` is the sum of `sizes[0..k-1]`. Sizes
    are non-negative and sum to `input.shape[dim]`; other dimensions are
    unchanged.

    Folds to its input when there is only one result.

    Example: Qwen3.5's `in_proj_qkvz` at TP=1 back into `in_proj_qkv` and
    `in_proj_z` (seed 000).

    ```mlir
    %qkv, %z = wl.split %qkvz dim 0 sizes [10240, 6144]
        : tensor<16384x5120xbf16> -> tensor<10240x5120xbf16>, tensor<6144x5120xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, WL_I64Attr:$dim,
                   DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<WL_Tensor>:$results);
  let assemblyFormat = [{
    $input `dim` $dim `sizes` $sizes attr-dict
    `:` type($input) `->` type($results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Interleaving: interleave, deinterleave
//===----------------------------------------------------------------------===//

def WL_InterleaveOp : WL_Op<"interleave", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "round-robin of equal chunks of the operands along a dimension";
  let description = [{
    `wl.interleave` cuts every operand `i` into `groups` (G) equal chunks
    along dimension `dim` and lays them out group by group:

    `result = concat over g in [0, G) of (concat over i of chunk g of inputs[i])`

    Each operand's size `S_i` in `dim` must be divisible by G; chunk `g` of
    operand `i` is `inputs[i][g*S_i/G : (g+1)*S_i/G]` on `dim`. Operands have
    the same rank and element type and agree in every other dimension; the
    result's size in `dim` is the sum of the `S_i`.

    With G = 1 this is `wl.concat`. The layouts of the frameworks are this
    op: Megatron's fused QKV (G = query groups: `[q heads of group g, k_g,
    v_g]` for each g), vLLM's per-rank packing `[q_r | k_r | v_r]` (G = tp),
    MoE `w13` per-TP-chunk fusion, Qwen3.5's per-head query/gate (G = heads).

    Folds to its operand when there is only one.

    Example: Megatron QKV for 32 query heads in 8 groups, head_dim 128.

    ```mlir
    %qkv = wl.interleave %q, %k, %v dim 0 groups 8
        : (tensor<4096x4096xbf16>, tensor<1024x4096xbf16>, tensor<1024x4096xbf16>)
        -> tensor<6144x4096xbf16>
    ```
  }];
  let arguments = (ins Variadic<WL_Tensor>:$inputs, WL_I64Attr:$dim,
                   WL_I64Attr:$groups);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $inputs `dim` $dim `groups` $groups attr-dict
    `:` functional-type($inputs, $result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def WL_DeinterleaveOp : WL_Op<"deinterleave", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "the inverse of wl.interleave";
  let description = [{
    `wl.deinterleave` undoes `wl.interleave`: `input` holds, along dimension
    `dim`, `groups` (G) consecutive groups, each made of one chunk of every
    result `i` of size `sizes[i] / G`, in result order. Result `i` is the
    concatenation of its chunks from groups `0..G-1`. Every `sizes[i]` is
    non-negative and divisible by G, and the sizes sum to
    `input.shape[dim]`.

    Folds to its input when there is only one result.

    Example: Qwen3.5's full-attention `q_proj` holds, per head, the query
    followed by the output gate (16 heads, head_dim 256).

    ```mlir
    %query, %gate = wl.deinterleave %qg dim 0 groups 16 sizes [4096, 4096]
        : tensor<8192x5120xbf16> -> tensor<4096x5120xbf16>, tensor<4096x5120xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, WL_I64Attr:$dim, WL_I64Attr:$groups,
                   DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<WL_Tensor>:$results);
  let assemblyFormat = [{
    $input `dim` $dim `groups` $groups `sizes` $sizes attr-dict
    `:` type($input) `->` type($results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Shape: reshape, permute
//===----------------------------------------------------------------------===//

def WL_ReshapeOp : WL_Op<"reshape", [Pure, WL_Moves]> {
  let summary = "row-major reinterpretation of a tensor's shape";
  let description = [{
    `wl.reshape` gives `input` a new shape with the same number of elements,
    keeping the row-major order of elements (a view, as `torch.reshape` of a
    contiguous tensor): the element at flat row-major position `p` of the
    input is the element at flat position `p` of the result. The element type
    does not change.

    Folds to its input when the shapes are equal, and a reshape of a reshape
    folds into one.

    Example: a `[heads*head_dim, hidden]` weight seen per head.

    ```mlir
    %h = wl.reshape %w : tensor<4096x1024xbf16> -> tensor<32x128x1024xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def WL_PermuteOp : WL_Op<"permute", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "dimension permutation (transpose)";
  let description = [{
    `wl.permute` reorders dimensions as `torch.permute` / `numpy.transpose`:
    result dimension `k` is input dimension `perm[k]`, so
    `result.shape[k] = input.shape[perm[k]]` and
    `result[i_0, ..., i_(r-1)] = input[j]` with `j[perm[k]] = i_k`.
    `perm` is a permutation of `0..rank-1`.

    Folds to its input when `perm` is the identity.

    Example: a MaxText `[in, out]` kernel to an HF `[out, in]` weight.

    ```mlir
    %t = wl.permute %kernel perm [1, 0] : tensor<4096x1024xbf16> -> tensor<1024x4096xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $input `perm` $perm attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Stacking: stack, unstack
//===----------------------------------------------------------------------===//

def WL_StackOp : WL_Op<"stack", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "joins equal tensors along a new dimension";
  let description = [{
    `wl.stack` joins N operands of one type along a new dimension inserted at
    position `dim` (`0 <= dim <= rank`), as `torch.stack`: the result has
    shape `shape[0:dim] ++ [N] ++ shape[dim:]` and
    `result[..., n, ...] = inputs[n][...]` (`n` at position `dim`).
    MoE experts stacked into `[E, out, in]` and MaxText's scanned layers are
    this op.

    Example: 4 experts.

    ```mlir
    %e = wl.stack %e0, %e1, %e2, %e3 dim 0
        : (tensor<8x16xbf16>, tensor<8x16xbf16>, tensor<8x16xbf16>, tensor<8x16xbf16>)
        -> tensor<4x8x16xbf16>
    ```
  }];
  let arguments = (ins Variadic<WL_Tensor>:$inputs, WL_I64Attr:$dim);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $inputs `dim` $dim attr-dict `:` functional-type($inputs, $result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def WL_UnstackOp : WL_Op<"unstack", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "the slices of a tensor along one dimension, as separate tensors";
  let description = [{
    `wl.unstack` is the inverse of `wl.stack`: it returns one tensor per index
    `n` of dimension `dim`, `results[n] = input[..., n, ...]`, each without
    that dimension. There are exactly `input.shape[dim]` results.

    Example: MaxText's scanned norm scales `[hidden, layers]` (layer axis 1)
    to one tensor per layer.

    ```mlir
    %l0, %l1 = wl.unstack %scale dim 1 : tensor<64x2xbf16> -> tensor<64xbf16>, tensor<64xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, WL_I64Attr:$dim);
  let results = (outs Variadic<WL_Tensor>:$results);
  let assemblyFormat = [{
    $input `dim` $dim attr-dict `:` type($input) `->` type($results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Values: pad, cast, affine
//===----------------------------------------------------------------------===//

def WL_PadOp : WL_Op<"pad", [Pure, InferTypeOpAdaptor, WL_Moves]> {
  let summary = "constant padding along one dimension";
  let description = [{
    `wl.pad` adds `low` elements before and `high` elements after `input`
    along dimension `dim`, all equal to `value`:

    `result[..., j, ...] = input[..., j - low, ...]` for
    `low <= j < low + input.shape[dim]`, and `value` elsewhere on `dim`.

    `low` and `high` are non-negative. `value` is optional and defaults to
    zero (`+0.0` for float tensors); when given it is a typed literal of the
    tensor's element type, such as `value 1.0 : bf16` or `value -1 : i32`.
    Vocabulary padding to a multiple of 64 (vLLM) and TPU lane padding to 128
    (MaxText `w13`) are this op. Padding is the one op that makes elements
    from nothing, so a mapping with `wl.pad` has no inverse for the padded
    elements.

    Folds to its input when `low` and `high` are 0.

    Example: a 151669-row vocabulary padded to a multiple of 64.

    ```mlir
    %p = wl.pad %emb dim 0 low 0 high 11 : tensor<151669x4096xbf16> -> tensor<151680x4096xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input, WL_I64Attr:$dim, WL_I64Attr:$low,
                   WL_I64Attr:$high, OptionalAttr<TypedAttrInterface>:$value);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $input `dim` $dim `low` $low `high` $high `` custom<FillValue>($value) attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def WL_CastOp : WL_Op<"cast", [Pure, WL_Moves]> {
  let summary = "elementwise dtype conversion";
  let description = [{
    `wl.cast` converts every element of `input` to the element type of the
    result, which has the same shape:

    * float to float: IEEE round-to-nearest-even (LLVM's APFloat). Values
      beyond the target's range become infinities, or NaN for `f8E4M3FN`,
      which has no infinity; NaN stays NaN.
    * integer to integer: truncation to the narrower width, or extension to
      the wider one (sign extension from `i8`..`i64`, zero extension from
      `i1` and the unsigned types).
    * integer to float: the integer's exact value (signed for `i8`..`i64`,
      unsigned for `i1` and `ui*`) rounded to nearest even.
    * float to integer is rejected: it would drop fractions silently.

    Folds to its input when the types are equal; a cast of an exact widening
    (for example `bf16` to `f32`) folds into one cast.

    Example:

    ```mlir
    %f = wl.cast %w : tensor<16x16xbf16> -> tensor<16x16xf32>
    ```
  }];
  let arguments = (ins WL_Tensor:$input);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def WL_AffineOp : WL_Op<"affine", [Pure, SameOperandsAndResultType, WL_Moves]> {
  let summary = "elementwise x * scale + offset on float tensors";
  let description = [{
    `wl.affine` computes `x * scale + offset` for every element of a float
    tensor, keeping its type. Arithmetic is done in `f64` for `f64` tensors
    and in `f32` otherwise: `x` is widened exactly, `scale` and `offset` are
    rounded to that type, the product is rounded, then the sum, then the
    result is rounded to the element type (all round-to-nearest-even). A
    `scale` of 1 skips the product and an `offset` of 0 (either sign) skips
    the sum, so `-0.0` stays `-0.0` and the identity is exact. For `bf16`
    weights with `offset -1.0` this is bit-for-bit PyTorch's `w - 1`.

    `scale` defaults to 1 and `offset` to 0; both must be finite. Megatron's
    zero-centred RMSNorm weight is `wl.affine ... offset -1.0` of the HF
    weight.

    Folds to its input when `scale` is 1 and `offset` is 0.

    Example:

    ```mlir
    %z = wl.affine %norm offset -1.000000e+00 : tensor<4096xbf16>
    ```
  }];
  let arguments = (ins WL_Tensor:$input,
                   DefaultValuedAttr<F64Attr, "1.0">:$scale,
                   DefaultValuedAttr<F64Attr, "0.0">:$offset);
  let results = (outs WL_Tensor:$result);
  let assemblyFormat = [{
    $input (`scale` $scale^)? (`offset` $offset^)? attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // WL_IR_WLOPS_TD

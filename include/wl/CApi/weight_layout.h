/*===- weight_layout.h - the C API of libweight-layout ------------*- C -*-===*\
|*
|* The compiler, the runtime and the CPU and CUDA executors of weight-layout
|* behind a small, stable C interface: opaque handles, plain C types, UTF-8
|* strings, no C++ types or exceptions across it. libweight-layout.so
|* carries everything it needs (MLIR, LLVM and the C++ standard library
|* linked in, the CUDA runtime linked statically and used only where a
|* device is found); it depends on no framework and no Python version. The
|* Python package weight_layout and the libtorch API (wl/Torch/Embedding.h)
|* are layers over it.
|*
|* Conventions:
|* - A function returning `int` returns WL_OK (0) on success, else
|*   WL_ERR_INVALID (an argument is wrong: a spec, config, option, name,
|*   dtype, shape, device or file) or WL_ERR_RUNTIME (the work failed: CUDA,
|*   I/O), and wl_last_error() then holds one message naming what is wrong
|*   (per thread, until the next failing call on that thread). Outputs are
|*   written only on success.
|* - Strings returned through `char **` are owned by the caller: wl_free.
|*   Structured results are JSON text (its shape is documented with each
|*   function and in docs/embedding.md).
|* - Handles are immutable and thread-safe except wl_loader (one thread at
|*   a time). Free each with its _free function (null is allowed).
|* - Tensors (wl_tensor) are contiguous memory; a dtype is its safetensors
|*   name ("BF16", "F32", "F8_E4M3", ...); devices use DLPack's codes.
|*
\*===----------------------------------------------------------------------===*/
#ifndef WEIGHT_LAYOUT_H
#define WEIGHT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WL_API __attribute__((visibility("default")))
#else
#define WL_API
#endif

/* Bumped when a signature or a JSON field changes incompatibly. */
#define WL_API_VERSION 2

enum { WL_OK = 0, WL_ERR_INVALID = 1, WL_ERR_RUNTIME = 2 };

/* DLPack's kDLCPU and kDLCUDA. */
enum { WL_DEVICE_CPU = 1, WL_DEVICE_CUDA = 2 };

typedef struct wl_plan wl_plan;
typedef struct wl_loader wl_loader;
typedef struct wl_bound wl_bound;
typedef struct wl_checkpoint wl_checkpoint;
typedef struct wl_reshard wl_reshard;

/* One tensor: `ndim` sizes at `shape`, elements of `dtype` at `data`,
 * contiguous (row-major), on the device. */
typedef struct wl_tensor {
  const char *name;
  void *data;
  const char *dtype;
  int32_t ndim;
  const int64_t *shape;
  int32_t device_type;  /* WL_DEVICE_CPU or WL_DEVICE_CUDA */
  int32_t device_index; /* the CUDA device; 0 for the CPU */
} wl_tensor;

typedef struct wl_run_options {
  /* CUDA: the cudaStream_t to run on (null: the legacy default stream). */
  void *stream;
  /* Nonzero: the caller's framework orders its work on `stream`, so runs
   * on it are not waited for (except copies that read host memory). */
  int32_t stream_is_current;
  /* CPU threads; 0: the process-wide pool (min(cores, 8), WL_NUM_THREADS). */
  int32_t threads;
  /* Nonzero: skip the targets the plan marks as aliases (the caller makes
   * them views of their source); their destinations may be absent. */
  int32_t skip_aliases;
  /* Nonzero: write only the elements the plan's pieces write and leave the
   * rest of each destination as it is (a plan that fills its targets over
   * several runs); zero: elements no piece writes are zeroed. */
  int32_t partial;
} wl_run_options;

/* "0.1.0" and WL_API_VERSION of the library (check them against the header). */
WL_API const char *wl_version(void);
WL_API int wl_api_version(void);

/* The message of the last failing call on this thread ("" if none). */
WL_API const char *wl_last_error(void);
WL_API void wl_free(void *p);

/* --- Compiling --------------------------------------------------------- */

/* Compiles `mapping` (a spec file, a library name such as
 * "qwen3/hf-to-vllm", or the spec's JSON text) for `config` (a config.json
 * path, its folder, or the JSON text). `request` is JSON (null or "{}":
 * defaults):
 *   {"options": {"tp": 2, ...}, "rank": 1 | "all", "dtype": "bf16",
 *    "reverse": false, "exact": false, "spec_dir": "/where/includes/are"}
 * Compiles are cached in the process (docs/embedding.md). */
WL_API int wl_compile(const char *mapping, const char *config, const char *request,
               wl_plan **out);
/* A plan in the JSON format of docs/plan-format.md (checked: no target
 * element written twice). */
WL_API int wl_plan_from_json(const char *text, wl_plan **out);
/* The way back (docs/embedding.md, "The way back"). */
WL_API int wl_plan_inverse(const wl_plan *plan, int exact, wl_plan **out);
WL_API void wl_plan_free(wl_plan *plan);

WL_API int wl_plan_to_json(const wl_plan *plan, int indent, char **out);
/* {"source_tensors": [[name, dtype, [shape]], ...], "target_tensors": [...],
 *  "hash", "from", "to", "model_type", "tp", "ep", "pp", "rank" (int, "all"
 *  or null for a reverse plan), "reverse", "sources" and "targets" (counts),
 *  "pieces", "copy_pieces",
 *  "fill_pieces", "convert_pieces", "bytes_read", "bytes_written",
 *  "source_bytes", "aliases": {target: [source, offset, numel]},
 *  "alias_bytes", "copied_bytes", "dropped", "rounded", "text"} */
WL_API int wl_plan_describe(const wl_plan *plan, char **out);
/* {source: [[begin, end], ...]}: the flat element intervals read. */
WL_API int wl_plan_source_ranges(const wl_plan *plan, char **out);

/* --- Running ----------------------------------------------------------- */

/* Writes every target into the destination of its name from the sources
 * (names the plan does not read are ignored). Everything is checked before
 * the first byte is written. */
WL_API int wl_run_into(const wl_plan *plan, const wl_tensor *sources, size_t nsources,
                const wl_tensor *destinations, size_t ndestinations,
                const wl_run_options *options);

/* wl_run_into bound once to its tensors (every target needs its
 * destination): the checks, and on a GPU the task table's upload, happen
 * here; each wl_bound_run zeroes the targets with gaps (unless
 * options->partial was set here) and launches on its options' stream. The
 * memory must stay where it is until wl_bound_free. */
WL_API int wl_bind(const wl_plan *plan, const wl_tensor *sources, size_t nsources,
            const wl_tensor *destinations, size_t ndestinations,
            const wl_run_options *options, wl_bound **out);
WL_API int wl_bound_run(wl_bound *bound, const wl_run_options *options);
WL_API void wl_bound_free(wl_bound *bound);

/* A streaming load: each fed source's pieces run when it comes. */
WL_API int wl_loader_new(const wl_plan *plan, const wl_tensor *destinations,
                  size_t ndestinations, const wl_run_options *options,
                  wl_loader **out);
/* *used = 0 when the plan does not read the tensor (another rank's, or one
 * the spec drops). */
WL_API int wl_loader_feed(wl_loader *loader, const wl_tensor *source, int *used);
/* ["name", ...]: the sources not fed yet. */
WL_API int wl_loader_missing(const wl_loader *loader, char **out);
/* {"loaded": [...], "ignored": [...], "unknown": [...], "bytes_written"} */
WL_API int wl_loader_finish(wl_loader *loader, char **out);
WL_API void wl_loader_free(wl_loader *loader);

typedef struct wl_load_options {
  /* The caller's CUDA stream: the load waits for its work before writing
   * (null: the legacy default stream). The load is complete on return. */
  void *stream;
  int32_t threads;      /* readers; 0: hardware threads - 2, in [1, 16] */
  int32_t buffers;      /* staging buffers; 0: two per reader */
  int64_t buffer_bytes; /* each; 0: 4 MiB */
  int64_t batch_bytes;  /* source bytes on the device per batch; 0: 1 GiB */
  /* Called on the calling thread as bytes are read (may be null). */
  void (*progress)(void *context, int64_t done, int64_t total);
  void *progress_context;
} wl_load_options;

/* Reads `checkpoint` through `plan` (one rank's) into `destinations` (every
 * target; all on one device, CPU or CUDA): only the ranges the plan reads,
 * by parallel preads into page-locked buffers, uploads and the plan's
 * kernels overlapped (docs/embedding.md, "Loading a checkpoint"). Every
 * name, dtype and shape is checked against the checkpoint's headers before
 * the first byte is written. *report (may be null): {"sources",
 * "bytes_needed", "bytes_read", "reads", "batches", "bytes_written",
 * "seconds", "executor"}. */
WL_API int wl_load_checkpoint(const wl_plan *plan, const wl_checkpoint *checkpoint,
                       const wl_tensor *destinations, size_t ndestinations,
                       const wl_load_options *options, char **report);

/* {"executor": "cpu"|"cuda"|"cuda-via-host"|"none", "pieces_run",
 *  "bytes_written", "uploaded_bytes"}: the last run on this thread. */
WL_API int wl_last_run_stats(char **out);

/* --- Checkpoints ------------------------------------------------------- */

/* Opens and validates a .safetensors file or a checkpoint folder
 * (docs/safetensors.md). */
WL_API int wl_checkpoint_open(const char *path, wl_checkpoint **out);
/* [[file, name, dtype, [shape], file offset, bytes], ...] */
WL_API int wl_checkpoint_tensors(const wl_checkpoint *ckpt, char **out);
WL_API void wl_checkpoint_free(wl_checkpoint *ckpt);

/* --- The process ------------------------------------------------------- */

/* {"hits", "misses", "entries"} */
WL_API int wl_cache_stats(char **out);
WL_API void wl_cache_clear(void);
/* ["folder", ...]: where mapping names are looked up. */
WL_API int wl_mapping_search_path(char **out);
/* Adds a mapping library folder for this process (after $WL_MAPPINGS_PATH). */
WL_API int wl_add_mapping_folder(const char *folder);
/* 1 when this build has the CUDA executor, else 0 with the reason in *why
 * (may be null). */
WL_API int wl_cuda_executor_built(char **why);
/* 1 when a CUDA device can be used, else 0 with the reason. */
WL_API int wl_cuda_available(char **why);

/* --- Resharding (docs/mapping-spec.md, "Resharding") --------------------
 * From the ranks of `from_mapping` to those of `mapping`, one model and
 * config. request: {"from_options": {...}, "options": {...}, "dtype",
 * "spec_dir"} (each optional; options as wl_compile's). */
WL_API int wl_reshard_compile(const char *from_mapping, const char *mapping,
                              const char *config, const char *request,
                              wl_reshard **out);
/* {"source_ranks", "dest_ranks", "traffic": [[bytes a -> b]],
 *  "moved_bytes", "total_bytes", "rounded": [names]} */
WL_API int wl_reshard_describe(const wl_reshard *r, char **out);
/* The part of the process that is source rank a and destination rank b
 * (-1: not that role), in rounds whose buffers stay within bucket_bytes
 * (0: one round; wl/Compile/ReshardExchange.h says how):
 * {"rounds": [{"send": {"<d>": plan, ...}, "from": [p, ...],
 * "receive": plan or null}, ...]}, plans in the JSON of
 * docs/plan-format.md. A receive plan of several rounds writes part of its
 * targets: run it with wl_run_options.partial. */
WL_API int wl_reshard_part(const wl_reshard *r, int64_t a, int64_t b,
                           int64_t bucket_bytes, char **out);
WL_API void wl_reshard_free(wl_reshard *r);

#ifdef __cplusplus
}
#endif

#endif /* WEIGHT_LAYOUT_H */

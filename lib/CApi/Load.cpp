//===- Load.cpp - the C API: a checkpoint loaded through a plan -----------===//
#include "Handles.h"

#include "wl/Embed/Load.h"

using namespace wl;
using namespace wl::embed;
using namespace wl::capi;
using nlohmann::ordered_json;

extern "C" {

int wl_load_checkpoint(const wl_plan *plan, const wl_checkpoint *checkpoint,
                       const wl_tensor *destinations, size_t ndestinations,
                       const wl_load_options *options, char **report) {
  return guard([&] {
    required(plan, "plan");
    required(checkpoint, "checkpoint");
    LoadOptions o;
    if (options) {
      o.stream = options->stream;
      o.threads = options->threads;
      o.buffers = options->buffers;
      if (options->buffer_bytes)
        o.bufferBytes = options->buffer_bytes;
      if (options->batch_bytes)
        o.batchBytes = options->batch_bytes;
      if (options->progress) {
        auto fn = options->progress;
        void *ctx = options->progress_context;
        o.progress = [fn, ctx](int64_t done, int64_t total) {
          fn(ctx, done, total);
        };
      }
    }
    LoadStats st = loadCheckpoint(
        *plan->d, *checkpoint->c,
        refsOf(destinations, ndestinations, "destination"), o);
    if (report)
      *report = give(ordered_json{{"sources", st.sources},
                                  {"bytes_needed", st.bytesNeeded},
                                  {"bytes_read", st.bytesRead},
                                  {"reads", st.reads},
                                  {"batches", st.batches},
                                  {"bytes_written", st.bytesWritten},
                                  {"seconds", st.seconds},
                                  {"read_wait_seconds", st.readWaitSeconds},
                                  {"execute_seconds", st.executeSeconds},
                                  {"alloc_seconds", st.allocSeconds},
                                  {"executor", st.executor}});
  });
}

} // extern "C"

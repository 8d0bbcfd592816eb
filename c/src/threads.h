/* A small thread pool: cnn_parallel_for(n_tasks, fn, ctx) runs fn(ctx, task, thread) for every task in [0, n_tasks).
 *
 *   static void scale_rows(void* ctx, int task, int thread) { ... rows [task·64, task·64 + 64) ... }
 *   cnn_parallel_for(rows_blocks, scale_rows, &args);
 *
 * Determinism is the callers' contract: a task writes only its own part of the outputs and uses `thread` only to pick
 * private scratch space, so which thread runs a task never changes a bit of the result. Tasks are claimed dynamically
 * (an atomic counter), the calling thread works too, and the call returns when every task has finished.
 *
 * Backends:
 *   - serial (the single-threaded wasm build and the default native build): an inline loop, thread always 0;
 *   - wasm atomics (__wasm_atomics__: dist/wasm-cnn-mt.wasm): workers are other instances of the same module on the
 *     same shared memory, each parked in cnn_threads_worker(); they sleep in memory.atomic.wait32 and the caller
 *     spins while the last tasks finish (a browser's main thread may not block);
 *   - POSIX threads (CNN_THREADS_PTHREAD, native tests only): the same pool, with cnn_threads_start() creating the
 *     threads, so ASan and TSan can check it.
 * A parallel_for called from inside a task runs serially on the calling thread. Only one thread (the one that calls
 * the engine) may issue parallel_for calls. */
#ifndef CNN_THREADS_H
#define CNN_THREADS_H

#define CNN_MAX_THREADS 64

typedef void (*cnn_task_fn)(void* ctx, int task, int thread);

#if defined(__wasm_atomics__) || defined(CNN_THREADS_PTHREAD)
#define CNN_HAS_THREADS 1
/* Threads that run tasks (1 until the pool is configured), including the caller. */
int cnn_thread_count(void);
void cnn_parallel_for(int n_tasks, cnn_task_fn fn, void* ctx);

/* Sets the pool size (1 ≤ n ≤ CNN_MAX_THREADS) before any worker starts; returns 0, or -1 when n is out of range or
 * the pool is already configured. caller_may_block: the thread that calls the engine may sleep while workers finish
 * (Node, Web Workers; not a browser's main thread, which then spins). The wasm build exports it: JS then starts
 * n − 1 workers, each calling cnn_threads_worker(id) with id = 1 … n − 1 on its own stack. */
int cnn_threads_init(int n, int caller_may_block);
/* Runs tasks for the pool until cnn_threads_stop(); id names the worker's scratch slot. */
void cnn_threads_worker(int id);
/* Asks the workers to return from cnn_threads_worker (they finish the current task first). */
void cnn_threads_stop(void);
/* Workers currently inside cnn_threads_worker. */
int cnn_threads_alive(void);
#else
static inline int cnn_thread_count(void) { return 1; }
static inline void cnn_parallel_for(int n_tasks, cnn_task_fn fn, void* ctx) {
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
}
#endif

#ifdef CNN_THREADS_PTHREAD
/* Native only: configures a pool of n threads (the caller + n − 1 POSIX threads). Returns 0 or -1. */
int cnn_threads_start(int n);
/* Stops and joins the POSIX threads; the pool returns to one thread and may be started again. */
void cnn_threads_join(void);
#endif

#endif

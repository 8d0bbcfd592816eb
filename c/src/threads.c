/* The thread pool behind cnn_parallel_for (see threads.h). Compiled to nothing in serial builds.
 *
 * One job at a time, published by the engine's calling thread in a single 64-bit word:
 *   job = generation (20 bits) | n_tasks (22 bits) | next task (22 bits).
 * A thread claims task `next` by a compare-and-swap of job → job + 1, and only then reads fn and ctx: the caller
 * rewrites those only after every task of the job has finished, and a claimed task cannot finish before its thread
 * read them. Keeping n_tasks in the same word as the counter means a late worker can never claim a task of a new job
 * against the old job's count. Workers park on `wake`, a futex word the caller bumps for every job. */
#include "threads.h"

#ifdef CNN_HAS_THREADS

#include <stdatomic.h>
#include <stdint.h>

#ifdef CNN_THREADS_PTHREAD
#include <pthread.h>
#endif

#define TASK_BITS 22
#define TASK_MASK ((UINT64_C(1) << TASK_BITS) - 1)
#define GEN_MASK ((UINT64_C(1) << 20) - 1)
/* Polls of `wake` before a worker sleeps, ~1 ms in Node 20 here (~5 ns a poll): a training step issues jobs back to
 * back, and so does predict in a loop, with the caller's copies in and out (0.1-0.5 ms for the bench's conv shapes)
 * between its jobs. A worker woken from sleep starts late: with 20,000 polls (~0.1 ms) the main thread ran 20-23 of
 * a 56x56x64 forward's ~33 tasks and the worker 10-13; with 200,000, 16-18 and 15-17. tests/bench/threads.js, 2
 * threads, this against 20,000 in the same rounds (5 rounds; 3): 56x56x64 1.53 / 1.59 ms (1.55 / 1.67), 128x128x16
 * 2.16 / 2.35 (2.24 / 2.61), 1x1 0.98 / 1.16; LeNet-5 step 6.19 / 7.26, ResNet-20 110 / 118, SegNet 130 / 125.
 * The price: up to ~1 ms of a core after the last job of a burst. */
#ifndef SPIN_POLLS
#define SPIN_POLLS 200000
#endif

/* job, done and wake each on a cache line of their own: idle workers poll `wake` while the busy ones claim tasks
 * (job) and count them (done), and a shared line would bounce between the cores at every claim. */
static struct {
    _Alignas(64) _Atomic uint64_t job;
    _Alignas(64) _Atomic int done; /* tasks of the current job finished */
    _Alignas(64) _Atomic int wake; /* bumped per job and on stop; workers sleep on it */
    _Atomic int stop;
    _Atomic int busy;    /* a job is running: nested calls run serially */
    _Atomic int alive;   /* workers inside cnn_threads_worker */
    _Atomic int threads; /* configured pool size */
    int caller_may_block; /* the calling thread may sleep in memory.atomic.wait32 (not a browser's main thread) */
    uint64_t generation;
    cnn_task_fn fn;
    void* ctx;
} pool = {.threads = 1};

#ifdef CNN_THREADS_PTHREAD
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
static pthread_t native_threads[CNN_MAX_THREADS];
static int native_count;
#endif

static void wake_workers(void) {
    atomic_fetch_add_explicit(&pool.wake, 1, memory_order_release);
#if defined(__wasm_atomics__)
    __builtin_wasm_memory_atomic_notify((int*)&pool.wake, (unsigned)-1);
#else
    pthread_mutex_lock(&sleep_lock);
    pthread_cond_broadcast(&sleep_cond);
    pthread_mutex_unlock(&sleep_lock);
#endif
}

/* Sleeps while wake still equals `seen` (returns at once when it already changed). */
static void sleep_on_wake(int seen) {
#if defined(__wasm_atomics__)
    __builtin_wasm_memory_atomic_wait32((int*)&pool.wake, seen, -1);
#else
    pthread_mutex_lock(&sleep_lock);
    while (atomic_load_explicit(&pool.wake, memory_order_acquire) == seen) pthread_cond_wait(&sleep_cond, &sleep_lock);
    pthread_mutex_unlock(&sleep_lock);
#endif
}

/* Claims and runs tasks of the current job until none is left, then counts them into `done` at once: one contended
 * add per thread and job rather than per task (a 4096-tile Winograd pass has some 200 tasks). */
static void run_tasks(int thread) {
    uint64_t v = atomic_load_explicit(&pool.job, memory_order_acquire);
    int finished = 0;
    for (;;) {
        const uint64_t n = (v >> TASK_BITS) & TASK_MASK, next = v & TASK_MASK;
        if (next >= n) break;
        if (!atomic_compare_exchange_weak_explicit(&pool.job, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        pool.fn(pool.ctx, (int)next, thread);
        finished++;
        v = atomic_load_explicit(&pool.job, memory_order_acquire);
    }
    if (!finished) return;
    const int n = (int)((v >> TASK_BITS) & TASK_MASK);
    if (atomic_fetch_add_explicit(&pool.done, finished, memory_order_release) + finished == n) {
#if defined(__wasm_atomics__)
        if (thread != 0) __builtin_wasm_memory_atomic_notify((int*)&pool.done, 1); /* the caller may sleep */
#endif
    }
}

int cnn_thread_count(void) { return atomic_load_explicit(&pool.threads, memory_order_relaxed); }

int cnn_threads_alive(void) { return atomic_load_explicit(&pool.alive, memory_order_acquire); }

int cnn_threads_init(int n, int caller_may_block) {
    if (n < 1 || n > CNN_MAX_THREADS) return -1;
    if (cnn_thread_count() != 1 || cnn_threads_alive() != 0) return -1;
    pool.caller_may_block = caller_may_block != 0;
    atomic_store_explicit(&pool.stop, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.threads, n, memory_order_release);
    return 0;
}

void cnn_parallel_for(int n_tasks, cnn_task_fn fn, void* ctx) {
    if (n_tasks <= 0) return;
    int expected = 0;
    if (n_tasks == 1 || (uint64_t)n_tasks > TASK_MASK || cnn_thread_count() <= 1 ||
        !atomic_compare_exchange_strong(&pool.busy, &expected, 1)) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    pool.generation = (pool.generation + 1) & GEN_MASK;
    atomic_store_explicit(&pool.job, pool.generation << (2 * TASK_BITS) | (uint64_t)n_tasks << TASK_BITS,
                          memory_order_release);
    wake_workers();
    run_tasks(0);
    /* The last tasks are already running: spin a little, then sleep until the worker finishing the job notifies
     * (when the machine has more runnable threads than cores, spinning would take the core that worker needs). A
     * browser's main thread may not sleep, and spins on. */
    for (int i = 0; i < SPIN_POLLS && atomic_load_explicit(&pool.done, memory_order_acquire) < n_tasks; i++) {
    }
    for (int done; (done = atomic_load_explicit(&pool.done, memory_order_acquire)) < n_tasks;) {
#if defined(__wasm_atomics__)
        if (pool.caller_may_block) __builtin_wasm_memory_atomic_wait32((int*)&pool.done, done, -1);
#else
        (void)done;
#endif
    }
    atomic_store_explicit(&pool.busy, 0, memory_order_release);
}

void cnn_threads_worker(int id) {
    atomic_fetch_add_explicit(&pool.alive, 1, memory_order_acq_rel);
    for (;;) {
        const int seen = atomic_load_explicit(&pool.wake, memory_order_acquire);
        if (atomic_load_explicit(&pool.stop, memory_order_acquire)) break;
        run_tasks(id);
        for (int i = 0; i < SPIN_POLLS && atomic_load_explicit(&pool.wake, memory_order_acquire) == seen; i++) {
        }
        sleep_on_wake(seen);
    }
    atomic_fetch_sub_explicit(&pool.alive, 1, memory_order_acq_rel);
}

void cnn_threads_stop(void) {
    atomic_store_explicit(&pool.stop, 1, memory_order_release);
    wake_workers();
}

#ifdef CNN_THREADS_PTHREAD
static void* native_main(void* arg) {
    cnn_threads_worker((int)(intptr_t)arg);
    return NULL;
}

int cnn_threads_start(int n) {
    if (cnn_threads_init(n, 0) != 0) return -1;
    for (native_count = 0; native_count < n - 1; native_count++) {
        if (pthread_create(&native_threads[native_count], NULL, native_main, (void*)(intptr_t)(native_count + 1))) {
            cnn_threads_join();
            return -1;
        }
    }
    return 0;
}

void cnn_threads_join(void) {
    cnn_threads_stop();
    for (int i = 0; i < native_count; i++) pthread_join(native_threads[i], NULL);
    native_count = 0;
    atomic_store_explicit(&pool.threads, 1, memory_order_release);
}
#endif

#endif

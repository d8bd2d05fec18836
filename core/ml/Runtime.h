#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace faceatlas {

/**
 * The compute budget of the process, set once at start-up before any worker starts (and by a
 * command's --threads): LibTorch's intra-op pool gets `requested` threads when positive, else every
 * core of the machine (LibTorch alone picks 1 on these machines), and OpenBLAS runs single-threaded.
 * LibTorch's pool owns the cores: convolutions (oneDNN) and element-wise work run on it, and code
 * that runs one worker per core (k-means, the neighbour search) calls BLAS from each worker. An
 * OpenBLAS pool beside it would only compete for the same cores; measured with
 * faceatlas_bench_train, training is as fast or faster without it. A later call with 0 leaves the
 * budget as it is (a job's default never undoes --threads); nothing else changes these
 * process-wide settings. Returns LibTorch's thread count.
 */
int configureTorchThreads(int requested = 0);

/**
 * Calls fn(index, worker) for every index in [0, count), handing indices out one at a time to
 * `workers` worker threads of its own (worker < workers) that each do whole blocks: our kernels,
 * scans and single-threaded BLAS products. A block that runs LibTorch operations calls
 * useOneMathThread() first. The first exception stops the others and is rethrown here. One worker
 * runs on the caller.
 */
void parallelOnMathThreads(std::size_t count, int workers, const std::function<void(std::size_t, int)>& fn);

/**
 * On a worker of parallelOnMathThreads: makes LibTorch's operations on this thread run on it
 * alone, as the worker does whole blocks beside the others. OpenMP, LibTorch's pool, keeps its
 * thread count per thread, so nothing changes for any other thread. Does nothing on other threads
 * (a single worker runs on the caller, whose setting stays).
 */
void useOneMathThread();

/**
 * Process-wide settings for fast training, once at start-up: keeps freed memory in the process
 * instead of handing large blocks back to the kernel after every step (glibc's default), which
 * otherwise costs hundreds of thousands of page faults per training step at 150 px.
 * FACEATLAS_MALLOC=default leaves glibc as it is.
 */
void configureAllocator();

/** "LibTorch 1.13.1 (CPU)" or "LibTorch 2.x (CUDA available, 1 GPU)". */
std::string torchDescription();

/**
 * The BLAS behind LibTorch's matrix products: OpenBLAS's build and the kernels it chose, and a
 * warning when it fell back to old kernels on a CPU that has AVX2 or AVX-512 (it does not know
 * every CPU; OPENBLAS_CORETYPE overrides its choice).
 */
std::string blasDescription();

/** Whether this LibTorch build can use a CUDA GPU on this machine now. */
bool cudaAvailable();

} // namespace faceatlas

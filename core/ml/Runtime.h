#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace faceatlas {

/**
 * The compute budget of the process: LibTorch's intra-op threads and OpenBLAS's threads, both
 * `requested` when positive, else every core of the machine (LibTorch alone picks 1 on these
 * machines). Set once at start-up, before any worker starts, and by a command's --threads; a later
 * call with 0 leaves the budget as it is (a job's default never undoes --threads). Nothing else
 * changes these process-wide settings while threads compute: work that wants one math thread per
 * worker runs on parallelOnMathThreads(). Returns the count in effect.
 */
int configureTorchThreads(int requested = 0);

/**
 * Calls fn(index, worker) for every index in [0, count), handing indices out one at a time to
 * `workers` worker threads (worker < workers) that each do whole blocks with one math thread:
 * LibTorch's operations inside run on the worker's own thread (OpenMP keeps its thread count per
 * thread, so this changes nothing for other threads). BLAS must not be called from fn: its thread
 * count is process-wide, so products belong on the calling thread (see KMeans.cpp, Projection.cpp).
 * The first exception stops the others and is rethrown here. One worker runs on the caller.
 */
void parallelOnMathThreads(std::size_t count, int workers, const std::function<void(std::size_t, int)>& fn);

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

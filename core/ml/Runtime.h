#pragma once

#include <string>

namespace faceatlas {

/**
 * Sets LibTorch's intra-op thread count: `requested` when positive, else every core of the
 * machine (LibTorch alone picks 1 on these machines). Returns the count in effect.
 */
int configureTorchThreads(int requested = 0);

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

/**
 * While alive, LibTorch and OpenBLAS run single-threaded, so that code running one worker per core
 * (k-means, the neighbour search) does whole blocks in each. Letting both libraries' thread pools
 * share two cores with those workers makes them spin against each other (sched_yield storms) and
 * halves the speed.
 */
class SingleThreadedMath {
public:
    SingleThreadedMath();
    ~SingleThreadedMath();
    SingleThreadedMath(const SingleThreadedMath&) = delete;
    SingleThreadedMath& operator=(const SingleThreadedMath&) = delete;

private:
    int m_torch;
    int m_blas = 0;
};

} // namespace faceatlas

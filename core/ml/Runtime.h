#pragma once

#include <string>

namespace faceatlas {

/**
 * Sets LibTorch's intra-op thread count: `requested` when positive, else every core of the
 * machine (LibTorch alone picks 1 on these machines). Returns the count in effect.
 */
int configureTorchThreads(int requested = 0);

/** "LibTorch 1.13.1 (CPU)" or "LibTorch 2.x (CUDA available, 1 GPU)". */
std::string torchDescription();

/** Whether this LibTorch build can use a CUDA GPU on this machine now. */
bool cudaAvailable();

} // namespace faceatlas

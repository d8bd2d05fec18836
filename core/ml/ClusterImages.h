#pragma once

#include <cstdint>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

/** `steps` codes evenly spaced on the straight line from code `a` to code `b` ([D] each). */
torch::Tensor linePath(const torch::Tensor& a, const torch::Tensor& b, int steps);

/** Images [N,3,S,S] float 0-1 -> a row of RGB uint8 tiles. */
std::vector<std::uint8_t> toRgb(const torch::Tensor& images);

} // namespace faceatlas

#pragma once

#include <cstdint>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

/** One direction of an edge of the map's fuzzy neighbour graph (both directions are listed). */
struct GraphEdge {
    std::uint32_t head, tail;
    float weight;
};

/**
 * UMAP's spectral start for the layout: the eigenvectors of the graph's normalised adjacency
 * D^-1/2 W D^-1/2 for its second and third largest eigenvalues (those of the normalised Laplacian
 * for its smallest after the trivial one), by Lanczos with full reorthogonalisation in double
 * precision, the trivial eigenvector sqrt(D) deflated: at most `steps` vectors (and 256 MB of them),
 * stopped once both pairs' residuals ||M v - theta v|| are under 1e-4 (umap-learn's ARPACK
 * tolerance). `edges` must list both directions of every
 * pair with the same weight. Deterministic by seed (the start vector). Each column's sign is fixed
 * so that its largest coordinate is positive.
 *
 * Returns [n, 2] float64 on the CPU, or an undefined tensor when there is no such start: a point
 * without edges, a graph of several components (UMAP lays those out apart; the layout then starts
 * from PCA) or fewer than 4 points. Throws Error for an edge naming a point beyond n.
 */
torch::Tensor spectralStart(const std::vector<GraphEdge>& edges, int64_t n, std::uint64_t seed, int steps = 256);

} // namespace faceatlas

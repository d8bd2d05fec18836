#pragma once

#include "ml/Projection.h"

#include <cstdint>
#include <vector>

namespace faceatlas {

/**
 * Neighbours on a 2-D map, and how well a map keeps each face's neighbourhood.
 *
 * mapKnn: the k nearest points of every point of a map (x0, y0, x1, y1, ...), nearest first in the
 * total order (distance, index), a point never its own neighbour. A uniform grid of about two
 * points a cell is searched ring by ring until no unvisited cell can hold a nearer point, so the
 * result is exact, in about N k work for maps that are not degenerate. Returns N x k indices.
 * Throws Error unless 1 <= k < N or for a non-finite coordinate.
 */
std::vector<int64_t> mapKnn(const std::vector<float>& xy, int k, int threads = 0);

/**
 * Per point, the share of its first k neighbours in code space (the first k columns of `codeGraph`,
 * the graph the map was laid out from) that are among its k nearest points on the map: 1 where the
 * map keeps the neighbourhood, 0 where it tore it apart. Throws Error when the graph has fewer than k
 * columns or another row count than the map.
 */
std::vector<float> neighbourhoodPreservation(const KnnGraph& codeGraph, const std::vector<float>& xy, int k,
                                             int threads = 0);

} // namespace faceatlas

#include "ml/MapNeighbours.h"

#include "util/Error.h"
#include "util/Parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace faceatlas {

namespace {

/** The points bucketed into a uniform grid over their bounding box (counting sort by cell). */
struct Grid {
    float x0 = 0, y0 = 0, cellW = 1, cellH = 1;
    int64_t cols = 1, rows = 1;
    std::vector<int64_t> start;  // cols * rows + 1 offsets into `points`
    std::vector<int64_t> points; // point indices, cell by cell, ascending within a cell

    int64_t col(float x) const { return std::clamp<int64_t>(static_cast<int64_t>((x - x0) / cellW), 0, cols - 1); }
    int64_t row(float y) const { return std::clamp<int64_t>(static_cast<int64_t>((y - y0) / cellH), 0, rows - 1); }
};

Grid buildGrid(const std::vector<float>& xy, int64_t n)
{
    Grid g;
    float x1 = -std::numeric_limits<float>::infinity(), y1 = x1;
    g.x0 = g.y0 = std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) {
        const float x = xy[2 * i], y = xy[2 * i + 1];
        if (!std::isfinite(x) || !std::isfinite(y))
            throw Error("map neighbours: point " + std::to_string(i) + " has a non-finite coordinate");
        g.x0 = std::min(g.x0, x), g.y0 = std::min(g.y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
    }
    // About two points a cell, the cells as square as the box allows.
    const double w = std::max(1e-12, static_cast<double>(x1 - g.x0)),
                 h = std::max(1e-12, static_cast<double>(y1 - g.y0));
    const double side = std::sqrt(w * h * 2.0 / static_cast<double>(n));
    g.cols = std::clamp<int64_t>(static_cast<int64_t>(w / side), 1, 1 << 14);
    g.rows = std::clamp<int64_t>(static_cast<int64_t>(h / side), 1, 1 << 14);
    g.cellW = static_cast<float>(w / static_cast<double>(g.cols)) * (1 + 1e-6f);
    g.cellH = static_cast<float>(h / static_cast<double>(g.rows)) * (1 + 1e-6f);
    g.start.assign(static_cast<size_t>(g.cols * g.rows + 1), 0);
    std::vector<int64_t> cell(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        cell[i] = g.row(xy[2 * i + 1]) * g.cols + g.col(xy[2 * i]);
        ++g.start[static_cast<size_t>(cell[i] + 1)];
    }
    for (size_t c = 1; c < g.start.size(); ++c)
        g.start[c] += g.start[c - 1];
    g.points.resize(static_cast<size_t>(n));
    std::vector<int64_t> fill(g.start.begin(), g.start.end() - 1);
    for (int64_t i = 0; i < n; ++i)
        g.points[static_cast<size_t>(fill[static_cast<size_t>(cell[i])]++)] = i;
    return g;
}

} // namespace

std::vector<int64_t> mapKnn(const std::vector<float>& xy, int k, int threads)
{
    const int64_t n = static_cast<int64_t>(xy.size() / 2);
    if (k < 1 || k >= n)
        throw Error("map neighbours: k must be between 1 and " + std::to_string(n - 1) + ", got " + std::to_string(k));
    const Grid g = buildGrid(xy, n);
    std::vector<int64_t> out(static_cast<size_t>(n * k));
    const float ringStep = std::min(g.cellW, g.cellH);
    parallelFor(
        static_cast<size_t>(n), threads,
        [&](size_t ui) {
            const int64_t i = static_cast<int64_t>(ui);
            const float px = xy[2 * i], py = xy[2 * i + 1];
            const int64_t cx = g.col(px), cy = g.row(py);
            // The best k so far as a max-heap on (squared distance, index).
            std::vector<std::pair<float, int64_t>> best;
            best.reserve(static_cast<size_t>(k) + 1);
            const auto visit = [&](int64_t c) {
                for (int64_t s = g.start[static_cast<size_t>(c)]; s < g.start[static_cast<size_t>(c + 1)]; ++s) {
                    const int64_t j = g.points[static_cast<size_t>(s)];
                    if (j == i)
                        continue;
                    const float dx = xy[2 * j] - px, dy = xy[2 * j + 1] - py;
                    const std::pair<float, int64_t> cand{dx * dx + dy * dy, j};
                    if (static_cast<int>(best.size()) < k) {
                        best.push_back(cand);
                        std::push_heap(best.begin(), best.end());
                    } else if (cand < best.front()) {
                        std::pop_heap(best.begin(), best.end());
                        best.back() = cand;
                        std::push_heap(best.begin(), best.end());
                    }
                }
            };
            const int64_t maxRing = std::max(g.cols, g.rows);
            for (int64_t r = 0; r <= maxRing; ++r) {
                for (int64_t y = cy - r; y <= cy + r; ++y) {
                    if (y < 0 || y >= g.rows)
                        continue;
                    const bool edgeRow = y == cy - r || y == cy + r;
                    for (int64_t x = cx - r; x <= cx + r; x += edgeRow ? 1 : 2 * r) {
                        if (x >= 0 && x < g.cols)
                            visit(y * g.cols + x);
                        if (r == 0)
                            break;
                    }
                }
                // Every point outside rings 0..r lies at least r cell sides away.
                const float reach = static_cast<float>(r) * ringStep;
                if (static_cast<int>(best.size()) == k && best.front().first < reach * reach)
                    break;
            }
            std::sort_heap(best.begin(), best.end());
            for (int j = 0; j < k; ++j)
                out[static_cast<size_t>(i * k + j)] = best[static_cast<size_t>(j)].second;
        },
        256);
    return out;
}

std::vector<float> neighbourhoodPreservation(const KnnGraph& codeGraph, const std::vector<float>& xy, int k,
                                             int threads)
{
    const int64_t n = static_cast<int64_t>(xy.size() / 2);
    if (codeGraph.indices.dim() != 2 || codeGraph.indices.size(0) != n || codeGraph.indices.size(1) < k || k < 1)
        throw Error("neighbourhood preservation: the code graph does not hold " + std::to_string(k)
                    + " neighbours for each of the map's " + std::to_string(n) + " points");
    const std::vector<int64_t> onMap = mapKnn(xy, k, threads);
    const auto graph = codeGraph.indices.to(torch::kCPU).contiguous();
    const int64_t* codes = graph.data_ptr<int64_t>();
    const int64_t width = graph.size(1);
    std::vector<float> kept(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        int shared = 0;
        for (int a = 0; a < k; ++a)
            for (int b = 0; b < k; ++b)
                if (codes[i * width + a] == onMap[static_cast<size_t>(i * k + b)]) {
                    ++shared;
                    break;
                }
        kept[static_cast<size_t>(i)] = static_cast<float>(shared) / static_cast<float>(k);
    }
    return kept;
}

} // namespace faceatlas

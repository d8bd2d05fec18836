#include "ml/SpectralStart.h"

#include "util/Error.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace faceatlas {

namespace {

/** How many connected components the edges make of n points (union-find with path halving). */
int64_t componentCount(const std::vector<GraphEdge>& edges, int64_t n)
{
    std::vector<int64_t> parent(static_cast<size_t>(n));
    std::iota(parent.begin(), parent.end(), 0);
    const auto root = [&](int64_t i) {
        while (parent[static_cast<size_t>(i)] != i) {
            parent[static_cast<size_t>(i)] = parent[static_cast<size_t>(parent[static_cast<size_t>(i)])];
            i = parent[static_cast<size_t>(i)];
        }
        return i;
    };
    int64_t components = n;
    for (const GraphEdge& e : edges) {
        const int64_t a = root(e.head), b = root(e.tail);
        if (a != b) {
            parent[static_cast<size_t>(std::max(a, b))] = std::min(a, b);
            --components;
        }
    }
    return components;
}

/** y = D^-1/2 W D^-1/2 x over the listed edges, each edge's coefficient w / sqrt(d_head d_tail) given. */
void multiply(const std::vector<GraphEdge>& edges, const std::vector<double>& coefficient, const double* x, double* y,
              int64_t n)
{
    std::fill(y, y + n, 0.0);
    for (size_t e = 0; e < edges.size(); ++e)
        y[edges[e].head] += coefficient[e] * x[edges[e].tail];
}

/** The symmetric tridiagonal matrix of the Lanczos coefficients (alpha on the diagonal, beta beside). */
torch::Tensor tridiagonal(const std::vector<double>& alpha, const std::vector<double>& beta)
{
    const int64_t size = static_cast<int64_t>(alpha.size());
    auto t = torch::zeros({size, size}, torch::TensorOptions().dtype(torch::kDouble));
    for (int64_t i = 0; i < size; ++i) {
        t[i][i] = alpha[static_cast<size_t>(i)];
        if (i + 1 < size) {
            t[i][i + 1] = beta[static_cast<size_t>(i)];
            t[i + 1][i] = beta[static_cast<size_t>(i)];
        }
    }
    return t;
}

/** umap-learn asks ARPACK for this tolerance on the eigenpairs. */
constexpr double kTolerance = 1e-4;

/**
 * Whether the top two Ritz pairs of these steps have converged: the residual ||M v - theta v|| of
 * Ritz pair i is next |y_last,i|, where next is the norm of the step's remainder.
 */
bool converged(const std::vector<double>& alpha, const std::vector<double>& beta, double next)
{
    const int64_t size = static_cast<int64_t>(alpha.size());
    const auto vectors = std::get<1>(torch::linalg_eigh(tridiagonal(alpha, beta)));
    const auto last = vectors[size - 1];
    return next * std::max(std::abs(last[size - 1].item<double>()), std::abs(last[size - 2].item<double>()))
           < kTolerance;
}

} // namespace

torch::Tensor spectralStart(const std::vector<GraphEdge>& edges, int64_t n, std::uint64_t seed, int steps)
{
    torch::NoGradGuard noGrad;
    if (n < 4 || steps < 3)
        return {};
    std::vector<double> degree(static_cast<size_t>(n), 0.0);
    for (const GraphEdge& e : edges) {
        if (e.head >= n || e.tail >= n)
            throw Error("spectral start: an edge names point " + std::to_string(std::max(e.head, e.tail)) + " of "
                        + std::to_string(n));
        degree[e.head] += e.weight;
    }
    if (std::any_of(degree.begin(), degree.end(), [](double d) { return !(d > 0); }) || componentCount(edges, n) != 1)
        return {};
    std::vector<double> coefficient(edges.size());
    for (size_t e = 0; e < edges.size(); ++e)
        coefficient[e] = edges[e].weight / std::sqrt(degree[edges[e].head] * degree[edges[e].tail]);

    // The trivial eigenvector (eigenvalue 1): sqrt(D), normalised. Every Lanczos vector is kept
    // orthogonal to it, so the largest eigenvalues found are the second and third.
    const auto opts = torch::TensorOptions().dtype(torch::kDouble);
    auto trivial = torch::empty({n}, opts);
    for (int64_t i = 0; i < n; ++i)
        trivial[i] = std::sqrt(degree[static_cast<size_t>(i)]);
    trivial /= trivial.norm();

    // At most `steps` Lanczos vectors, and at most 32 million doubles of them (256 MB: 182 vectors
    // at 175,000 points); stopped early once the top two Ritz pairs are within kTolerance.
    const int64_t m = std::min<int64_t>({static_cast<int64_t>(steps), n - 1, std::max<int64_t>(16, (32LL << 20) / n)});
    auto basis = torch::zeros({m, n}, opts); // rows: the orthonormal Lanczos vectors
    std::vector<double> alpha, beta;
    SplitMix rng(seed);
    auto q = torch::empty({n}, opts);
    for (int64_t i = 0; i < n; ++i)
        q[i] = rng.normal(0, 1);
    q -= trivial * trivial.dot(q);
    q /= q.norm();
    auto w = torch::empty({n}, opts);
    for (int64_t j = 0; j < m; ++j) {
        basis[j].copy_(q);
        multiply(edges, coefficient, q.data_ptr<double>(), w.data_ptr<double>(), n);
        w -= trivial * trivial.dot(w);
        alpha.push_back(q.dot(w).item<double>());
        // Full reorthogonalisation, twice (Gram-Schmidt twice is enough), against every vector so far.
        const auto done = basis.narrow(0, 0, j + 1);
        for (int pass = 0; pass < 2; ++pass)
            w -= done.t().mv(done.mv(w));
        const double next = w.norm().item<double>();
        // The last step, an invariant subspace (T is then exact) or converged: stop.
        if (j + 1 == m || next < 1e-10 || ((j + 1) % 8 == 0 && converged(alpha, beta, next)))
            break;
        beta.push_back(next);
        q = w / next;
    }
    const int64_t size = static_cast<int64_t>(alpha.size());
    if (size < 2)
        return {};
    // Ascending eigenvalues: the last two columns are the largest; the largest first.
    const auto ritz = std::get<1>(torch::linalg_eigh(tridiagonal(alpha, beta))).narrow(1, size - 2, 2).flip({1});
    auto start = basis.narrow(0, 0, size).t().mm(ritz).contiguous(); // [n, 2]
    for (int c = 0; c < 2; ++c) {
        auto column = start.select(1, c);
        const int64_t arg = column.abs().argmax().item<int64_t>();
        if (column[arg].item<double>() < 0)
            column.neg_();
    }
    return start;
}

} // namespace faceatlas

#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace faceatlas {

/**
 * SplitMix64: a tiny random generator whose sequence is the same on every platform, library and
 * device, so splits, resampling, demo faces and k-means seeding reproduce from a seed.
 */
class SplitMix {
public:
    explicit SplitMix(std::uint64_t seed)
        : m_state(seed)
    {
    }
    std::uint64_t next()
    {
        std::uint64_t z = (m_state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    /** Uniform in [lo, hi). */
    double uniform(double lo = 0.0, double hi = 1.0) { return lo + (hi - lo) * ((next() >> 11) * 0x1.0p-53); }
    /** Uniform in [0, n) without modulo bias worth noticing (n is far below 2^64). */
    size_t below(size_t n) { return static_cast<size_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
    bool chance(double p) { return uniform() < p; }
    double normal(double mean, double sd)
    {
        const double u1 = std::max(uniform(), 1e-12), u2 = uniform();
        return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    std::uint64_t m_state;
};

} // namespace faceatlas

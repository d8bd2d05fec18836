#pragma once
// Small helpers every benchmark uses: wall-clock seconds, medians, and process counters.
#include <algorithm>
#include <chrono>
#include <sys/resource.h>
#include <vector>

namespace faceatlas::bench {

using Clock = std::chrono::steady_clock;

/** Seconds since `since`. */
inline double seconds(Clock::time_point since)
{
    return std::chrono::duration<double>(Clock::now() - since).count();
}

/** The median of `v` (the upper one for an even count); `v` must not be empty. */
inline double median(std::vector<double> v)
{
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

/** This process's usage so far: peak resident memory in KiB and minor page faults. */
inline rusage usage()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u;
}

} // namespace faceatlas::bench

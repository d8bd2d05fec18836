#include "ml/Calibration.h"

#include <algorithm>
#include <cmath>

namespace faceatlas {

namespace {

constexpr double kMinSpread = 0.01;
constexpr std::size_t kMinFaces = 10;

} // namespace

SpreadCalibration calibrateSpread(const std::vector<double>& absErrors, const std::vector<double>& spreads)
{
    SpreadCalibration c;
    std::vector<double> z; // each error in units of its spread
    for (std::size_t i = 0; i < absErrors.size() && i < spreads.size(); ++i)
        if (std::isfinite(absErrors[i]) && std::isfinite(spreads[i]))
            z.push_back(std::fabs(absErrors[i]) / std::max(kMinSpread, spreads[i]));
    c.faces = z.size();
    if (z.size() < kMinFaces)
        return c;
    c.coverageBefore = static_cast<double>(std::count_if(z.begin(), z.end(), [](double v) { return v <= kInterval80; }))
                       / static_cast<double>(z.size());
    // The 80th percentile of z, interpolated between order statistics.
    std::sort(z.begin(), z.end());
    const double at = 0.8 * static_cast<double>(z.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(at);
    const double q = z[lo] + (at - static_cast<double>(lo)) * (z[std::min(lo + 1, z.size() - 1)] - z[lo]);
    c.scale = std::max(q, 1e-6) / kInterval80;
    return c;
}

double coverage80(const std::vector<double>& absErrors, const std::vector<double>& spreads)
{
    std::size_t inside = 0, n = 0;
    for (std::size_t i = 0; i < absErrors.size() && i < spreads.size(); ++i) {
        if (!std::isfinite(absErrors[i]) || !std::isfinite(spreads[i]))
            continue;
        ++n;
        inside += std::fabs(absErrors[i]) <= kInterval80 * spreads[i];
    }
    return n ? static_cast<double>(inside) / static_cast<double>(n) : std::nan("");
}

} // namespace faceatlas

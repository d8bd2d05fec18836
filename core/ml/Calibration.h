#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace faceatlas {

/** The half-width of a normal's central 80% interval in standard deviations: calibrated sd x this. */
constexpr double kInterval80 = 1.2815516;

/**
 * The calibration of an age model's spread on faces it did not train on: one scale factor, so
 * that the interval prediction +- 1.2816 x scale x spread (a normal's central 80%) holds 80% of
 * them. Before it, a model's spread is only a ranking: the DEX softmax of a small network is
 * narrower than its errors, a learnt variance wider or narrower.
 */
struct SpreadCalibration {
    double scale = std::numeric_limits<double>::quiet_NaN();          // NaN: too few faces to calibrate on
    double coverageBefore = std::numeric_limits<double>::quiet_NaN(); // share inside +-1.2816 x spread, uncalibrated
    std::size_t faces = 0;
};

/**
 * Calibrates from each face's absolute error and the model's spread for it (years, same order).
 * Needs at least 10 faces; spreads below 0.01 years count as 0.01.
 */
SpreadCalibration calibrateSpread(const std::vector<double>& absErrors, const std::vector<double>& spreads);

/** Share of faces whose absolute error is within 1.2816 x their (calibrated) spread; NaN spreads are skipped. */
double coverage80(const std::vector<double>& absErrors, const std::vector<double>& spreads);

} // namespace faceatlas

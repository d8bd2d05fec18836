#include "ml/Calibration.h"

#include <cmath>
#include <gtest/gtest.h>
#include <random>
#include <vector>

using namespace faceatlas;

TEST(CalibrationTest, OneScaleMakesTheEightyPercentIntervalsHoldEightyPercent)
{
    // Errors of a model twice as unsure as it says: |N(0, 2 x spread)| with spreads from 1 to 10 years.
    std::mt19937 rng(7);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> width(1.0, 10.0);
    std::vector<double> errors, spreads;
    for (int i = 0; i < 20000; ++i) {
        spreads.push_back(width(rng));
        errors.push_back(std::fabs(normal(rng)) * 2.0 * spreads.back());
    }
    const SpreadCalibration c = calibrateSpread(errors, spreads);
    EXPECT_EQ(c.faces, 20000u);
    EXPECT_NEAR(c.scale, 2.0, 0.05);
    // Before: |z| <= 1.2816 / 2 for a standard normal z, about 48%.
    EXPECT_NEAR(c.coverageBefore, 0.478, 0.015);
    std::vector<double> calibrated;
    for (double s : spreads)
        calibrated.push_back(s * c.scale);
    EXPECT_NEAR(coverage80(errors, calibrated), 0.80, 0.002);
    // On fresh faces from the same model the calibrated intervals still hold about 80%.
    std::vector<double> fresh, freshSpreads;
    for (int i = 0; i < 20000; ++i) {
        freshSpreads.push_back(width(rng) * c.scale);
        fresh.push_back(std::fabs(normal(rng)) * 2.0 * freshSpreads.back() / c.scale);
    }
    EXPECT_NEAR(coverage80(fresh, freshSpreads), 0.80, 0.015);
}

TEST(CalibrationTest, TooFewFacesNonFiniteValuesAndZeroSpreadsAreHandled)
{
    EXPECT_TRUE(std::isnan(calibrateSpread({1, 2, 3}, {1, 1, 1}).scale));
    EXPECT_TRUE(std::isnan(coverage80({}, {})));
    std::vector<double> errors(12, 1.0), spreads(12, 0.0);
    errors.push_back(NAN);
    spreads.push_back(1.0);
    const SpreadCalibration c = calibrateSpread(errors, spreads); // zero spreads count as 0.01 years
    EXPECT_EQ(c.faces, 12u);
    EXPECT_TRUE(std::isfinite(c.scale));
    EXPECT_NEAR(c.scale, 100.0 / kInterval80, 1e-6);
    EXPECT_DOUBLE_EQ(c.coverageBefore, 0.0);
    // Coverage skips faces without a spread (a model never calibrated).
    EXPECT_DOUBLE_EQ(coverage80({1.0, 5.0, 1.0}, {1.0, 1.0, NAN}), 0.5);
}

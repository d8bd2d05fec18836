#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * The MAE of a model that learnt nothing: each fold's faces predicted as the median age of the
 * other folds' faces (the training folds), over every face with an age, the same out-of-fold way
 * the audit's models are measured. NaN when no face has an age or a fold has no training ages.
 */
double medianBaselineMae(const std::vector<std::optional<int>>& ages, const std::vector<int>& foldOf, int folds);

/** How much lower than the baseline's an out-of-fold MAE must be to count as clearly better (10%). */
constexpr double kClearlyBetterFraction = 0.9;

/**
 * The warning an audit carries when its out-of-fold MAE is not at least 10% below the baseline's
 * (its suspects then say more about the model than about the labels); empty when it is, or when
 * either figure is missing.
 */
std::string baselineWarning(double mae, double baselineMae);

} // namespace faceatlas

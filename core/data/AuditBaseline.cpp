#include "data/AuditBaseline.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace faceatlas {

double medianBaselineMae(const std::vector<std::optional<int>>& ages, const std::vector<int>& foldOf, int folds)
{
    double absSum = 0;
    size_t aged = 0;
    std::vector<int> training;
    for (int fold = 0; fold < folds; ++fold) {
        training.clear();
        for (size_t i = 0; i < ages.size() && i < foldOf.size(); ++i)
            if (ages[i] && foldOf[i] != fold)
                training.push_back(*ages[i]);
        const auto middle = training.begin() + static_cast<std::ptrdiff_t>(training.size() / 2);
        std::nth_element(training.begin(), middle, training.end());
        for (size_t i = 0; i < ages.size() && i < foldOf.size(); ++i) {
            if (!ages[i] || foldOf[i] != fold)
                continue;
            if (training.empty())
                return std::nan("");
            absSum += std::abs(*ages[i] - *middle);
            ++aged;
        }
    }
    return aged ? absSum / static_cast<double>(aged) : std::nan("");
}

std::string baselineWarning(double mae, double baselineMae)
{
    if (!std::isfinite(mae) || !std::isfinite(baselineMae) || mae <= kClearlyBetterFraction * baselineMae)
        return {};
    char text[400];
    std::snprintf(text, sizeof text,
                  "the out-of-fold MAE (%.2f years) is not clearly better than always guessing the training "
                  "folds' median age (%.2f years): the models learnt little, so their age_outlier suspects "
                  "are not to be trusted; audit again with more epochs or more faces",
                  mae, baselineMae);
    return text;
}

} // namespace faceatlas

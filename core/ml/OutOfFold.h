#pragma once

#include "data/PreparedDataset.h"
#include "ml/Inference.h"
#include "ml/Models.h"
#include "ml/TrainJob.h"
#include "util/CancelToken.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * Folds for out-of-fold training: `groupOf[i]` names record i's group (duplicates share one, so
 * copies of a face never sit on both sides); groups are shuffled by the seed and dealt to folds
 * 0..folds-1 in turn. The same groups and seed give the same folds.
 */
std::vector<int> assignFolds(const std::vector<std::uint32_t>& groupOf, int folds, std::uint64_t seed);

struct OutOfFoldParams {
    ModelKind model = ModelKind::Age;
    std::filesystem::path data; // a prepared dataset folder
    std::filesystem::path dir;  // fold runs go to DIR/fold-1 ... DIR/fold-K (resumed when there)
    std::vector<int> foldOf;    // each record's fold, 0..folds-1 (see assignFolds)
    int folds = 5;
    int epochs = 10;
    std::uint64_t seed = 1;
    std::string device = "auto";
    int threads = 0;
};

struct OutOfFoldProgress {
    int fold = 0; // 1-based
    int folds = 0;
    TrainProgress train; // while training
    bool predicting = false;
};

struct OutOfFoldResult {
    AgeDistributions predictions; // one entry per record; NaN where the job was cancelled first
    std::vector<double> foldMae;  // held-out MAE of each fold (NaN where a fold has no ages)
    int foldsReused = 0;          // folds whose predictions an earlier run left complete
    bool cancelled = false;
    std::string device;
};

/**
 * Trains one model per fold on the records of the other folds that have an age and predicts the
 * held-out fold, so every face gets a prediction from a model that never saw it. Each fold is an
 * ordinary run folder (last.pt every epoch) plus `oof.bin` with its predictions once done: a rerun
 * reuses finished folds and resumes an interrupted one from its last epoch. Blocking; a cancel
 * returns `cancelled` with the checkpoints kept.
 */
OutOfFoldResult runOutOfFold(const OutOfFoldParams& params, const CancelToken& cancel = {},
                             const std::function<void(const OutOfFoldProgress&)>& onProgress = {});

} // namespace faceatlas

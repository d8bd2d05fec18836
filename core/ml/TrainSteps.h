#pragma once

#include "data/PreparedDataset.h"
#include "ml/Batches.h"
#include "ml/Calibration.h"
#include "ml/Distributed.h"
#include "ml/ModelKinds.h"
#include "ml/Models.h"
#include "util/CancelToken.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceatlas {

struct TrainParams;

/** Original faces on the top row, reconstructions below: the preview a person looks at. */
void writePreview(const std::filesystem::path& file, const torch::Tensor& originals,
                  const torch::Tensor& reconstructions);

/** An epoch's validation: loss, an age model's MAE (and the baseline's) and spread calibration, or PSNR. */
struct Validation {
    double loss = 0;
    double mae = std::nan("");
    double baselineMae = std::nan("");
    double psnr = std::nan("");
    SpreadCalibration calibration; // age models: the spread's calibration on these faces
};

/**
 * Validates `model` on the records `valIndices`. With a process group, each rank validates every
 * size()-th face from its rank on, and the sums and per-face errors are gathered, so every rank
 * returns the same Validation as one process would (up to the order of float sums).
 */
Validation validate(FaceModelImpl& model, const PreparedDataset& data, const std::vector<std::uint32_t>& valIndices,
                    const torch::Device& device, int batchSize, float medianAge, const CancelToken& cancel,
                    ProcessGroup* group = nullptr);

/** The training faces whose statistics the batch norms take after each epoch. */
constexpr size_t kBatchNormFaces = 1024;

/**
 * Recomputes the batch norms' running statistics of `model` as plain averages over the first
 * `faces` of `order` (training faces), unaugmented, in training mode without gradients ("precise
 * BN", Wu and Johnson 2021). The validation, the calibration and the checkpoints then use the
 * statistics of clean faces under the epoch's final weights, not a momentum average over the last
 * augmented batches under weights that were still moving: without it the `age` model's validation
 * MAE swung by up to 4 years between neighbouring epochs. A model without batch norms is left as
 * it is (false). Each norm's momentum is restored; a cancel stops early with the faces seen so far.
 */
bool refreshBatchNorms(FaceModelImpl& model, const PreparedDataset& data, std::vector<std::uint32_t> order,
                       size_t faces, int batchSize, const torch::Device& device, const CancelToken& cancel);

/** The run's description in run.json: what was trained, on what, and how. */
nlohmann::json runJson(const TrainParams& p, const PreparedDataset& data, const ModelDefaults& used,
                       const Augmentation& augmentation, const std::string& device, float medianAge,
                       const std::string& started, size_t trainCount, size_t valCount);

} // namespace faceatlas

#pragma once

#include "data/PreparedDataset.h"
#include "ml/Batches.h"
#include "ml/Calibration.h"
#include "ml/Distributed.h"
#include "ml/ModelKinds.h"
#include "ml/Models.h"
#include "ml/Runs.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/** Training settings; a negative learning rate, weight decay or batch means the model's default. */
struct TrainParams {
    ModelKind model = ModelKind::Age;
    std::filesystem::path data;   // a prepared dataset folder
    std::filesystem::path runDir; // the run folder (created)
    int epochs = 10;
    int batch = -1;
    double learningRate = -1;
    double weightDecay = -1;
    std::uint64_t seed = 1;
    std::string device = "auto"; // auto, cpu, cuda
    int threads = 0;             // 0 = all cores
    bool resume = false;
    int previewCount = 8; // autoencoder reconstructions saved per epoch
    // Out-of-fold training (the audit): records to train on and to validate on instead of the
    // dataset's split; each index is checked to be below the dataset's count.
    std::optional<std::vector<std::uint32_t>> trainIndices;
    std::optional<std::vector<std::uint32_t>> valIndices;
    double labelSigma = -1; // the DEX heads' label width in years; <= 0: the head's own (2 for age, 1 for age-mv)
    std::optional<Augmentation> augmentation; // absent: the kind's default (all for the age heads)
    std::filesystem::path initFrom;           // an autoencoder run whose encoder starts an age model
    bool listInWorkspace = true;              // remember the run in the workspace's run index
    std::filesystem::path workspace;          // whose run index; empty: workspaceDir() ($FACEATLAS_WORKSPACE, ...)
    // Data-parallel training: this process's rank among several (one process when worldSize is 1).
    // Every rank trains on its share of each batch; rank 0 alone writes the run folder.
    DistConfig dist;
};

/** The defaults that work for each model: its row of modelKinds(). */
ModelDefaults modelDefaults(ModelKind kind);

/** Per-batch progress, throttled to a few calls a second. */
struct TrainProgress {
    int epoch = 0;
    int epochs = 0;
    int batch = 0;
    int batches = 0;
    double loss = 0; // running mean of this epoch's training loss
    double imagesPerSecond = 0;
};

struct TrainResult {
    std::vector<EpochMetrics> history;
    std::vector<std::string> initialisedLayers; // --init-from: "conv1 <- enc1 (32x3x3x3)" per layer taken
    int bestEpoch = 0;
    bool cancelled = false;
    std::string device;
    // Several processes: what the gradient all-reduce cost this process.
    size_t steps = 0;                // optimisation steps taken
    double trainSeconds = 0;         // time in the training passes (without validation)
    double gradientWaitSeconds = 0;  // of which waiting for the all-reduce after backward()
    size_t gradientBytesPerStep = 0; // summed per step (each rank sends and receives about twice this)
};

/** Trains one model on a prepared dataset, writing a run folder. Blocking: run it on a worker thread. */
class TrainJob {
public:
    using ProgressFn = std::function<void(const TrainProgress&)>;
    using EpochFn = std::function<void(const EpochMetrics&)>;
    explicit TrainJob(TrainParams params);
    /** Throws Error on bad input or a device failure; a cancel returns cancelled with the last checkpoint kept. */
    TrainResult run(const CancelToken& cancel = {}, const ProgressFn& onProgress = {}, const EpochFn& onEpoch = {});

private:
    TrainParams m_params;
};

/** Resolves "auto" / "cpu" / "cuda" to a device; throws Error when CUDA is asked for and missing. */
torch::Device resolveDevice(const std::string& device);

/** The median age of the distinct training records: the honest baseline always predicts it. */
float trainingMedianAge(const PreparedDataset& data);

/**
 * The age an age run's baseline always predicts: its run.json's baseline_median_age (the median of
 * its training faces), else trainingMedianAge(data). Throws Error naming run.json when it lies.
 */
float runBaselineAge(const std::filesystem::path& runDir, const PreparedDataset& data);
/** The median age of the distinct records at `indices` (NaN when none has an age). */
float medianAge(const PreparedDataset& data, std::vector<std::uint32_t> indices);

} // namespace faceatlas

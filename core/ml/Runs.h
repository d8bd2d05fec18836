#pragma once

#include "ml/Models.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace faceatlas {

/** One epoch's figures; NaN where a figure does not apply to the model. */
struct EpochMetrics {
    int epoch = 0;
    double trainLoss = 0;
    double valLoss = 0;
    double valMae = std::numeric_limits<double>::quiet_NaN();
    double baselineMae = std::numeric_limits<double>::quiet_NaN();
    double valPsnr = std::numeric_limits<double>::quiet_NaN();
    double learningRate = 0;
    double seconds = 0;
};

/** metrics.csv text: a header and one row per epoch. */
std::string metricsCsv(const std::vector<EpochMetrics>& history);
/** Parses metricsCsv()'s output (for resuming and comparing runs). */
std::vector<EpochMetrics> parseMetricsCsv(const std::string& text);

/**
 * Writes a checkpoint atomically (temporary file, then rename): model parameters and buffers,
 * optimizer state, torch's RNG state and `metaJson` (epoch, metrics, settings).
 */
void saveCheckpoint(const std::filesystem::path& file, FaceModelImpl& model, torch::optim::Optimizer* optimizer,
                    const std::string& metaJson);

/** A model read back from a checkpoint, with the checkpoint's metadata. */
struct LoadedModel {
    FaceModel model;
    std::string metaJson;
};

/**
 * Loads a checkpoint written by saveCheckpoint().
 * Throws Error naming the file when it is missing or unreadable.
 */
LoadedModel loadCheckpoint(const std::filesystem::path& file);

/** Restores only the optimizer state of a checkpoint (resuming). */
void restoreOptimizer(const std::filesystem::path& file, torch::optim::Optimizer& optimizer);

/** The model of a run folder: its best checkpoint (else the last). */
LoadedModel loadRunModel(const std::filesystem::path& runDir);

/** A run folder's key facts, for `runs` and the Runs page. */
struct RunSummary {
    std::filesystem::path dir;
    std::string model;
    std::string data;
    std::string status; // running, finished, cancelled, failed
    int size = 0;
    int epochs = 0; // completed
    std::string started;
    std::optional<EpochMetrics> last;
    std::optional<EpochMetrics> best;
};

/** Reads DIR/run.json and DIR/metrics.csv; nullopt when DIR is not a run. */
std::optional<RunSummary> readRunSummary(const std::filesystem::path& dir);

/** The workspace: $FACEATLAS_WORKSPACE, else $XDG_DATA_HOME/faceatlas, else ~/.local/share/faceatlas. */
std::filesystem::path workspaceDir();
/** Remembers a run folder in the workspace's run index (once). */
void registerRun(const std::filesystem::path& runDir);
/** Runs in the workspace index (that still exist) and any run folders directly under `extraDir`. */
std::vector<RunSummary> listRuns(const std::optional<std::filesystem::path>& extraDir = std::nullopt);

} // namespace faceatlas

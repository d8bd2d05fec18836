#pragma once

#include "ml/Checkpoint.h"
#include "ml/Models.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/** The largest epoch number a metrics file, run.json or a checkpoint may hold (larger: damaged). */
constexpr std::int64_t kMaxEpoch = 1'000'000;

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
/**
 * Parses metricsCsv()'s output (for resuming and comparing runs). Throws Error naming `source` and the
 * line for anything else (another header, a field that is not a number, epochs out of order).
 */
std::vector<EpochMetrics> parseMetricsCsv(const std::string& text, const std::string& source = "metrics.csv");

/** The model of a run folder: its best checkpoint (else the last). */
LoadedModel loadRunModel(const std::filesystem::path& runDir);

/** A run folder's key facts, for `runs` and the Runs page. */
struct RunSummary {
    std::filesystem::path dir;
    std::string model;
    std::string data;
    std::string status;  // running, finished, cancelled, failed; "damaged" when its files do not parse
    std::string problem; // what is wrong with a damaged run
    int size = 0;
    int epochs = 0;        // completed
    int plannedEpochs = 0; // asked for (run.json's "epochs"); 0 when not recorded
    std::string started;
    std::optional<EpochMetrics> last;
    std::optional<EpochMetrics> best;
};

/**
 * Reads DIR/run.json and DIR/metrics.csv; nullopt when DIR is not a run (no run.json). A run whose
 * files do not parse is listed with status "damaged" and the problem, never hidden.
 */
std::optional<RunSummary> readRunSummary(const std::filesystem::path& dir);

/** The workspace: $FACEATLAS_WORKSPACE, else $XDG_DATA_HOME/faceatlas, else ~/.local/share/faceatlas. */
std::filesystem::path workspaceDir();
/** Remembers a run folder in the run index of `workspace` (empty: workspaceDir()), once. */
void registerRun(const std::filesystem::path& runDir, const std::filesystem::path& workspace = {});
/**
 * Runs in the index of `workspace` (empty: workspaceDir()) that still exist, and any run folders
 * directly under `extraDir`.
 */
std::vector<RunSummary> listRuns(const std::optional<std::filesystem::path>& extraDir = std::nullopt,
                                 const std::filesystem::path& workspace = {});

} // namespace faceatlas

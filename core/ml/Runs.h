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
/**
 * Parses metricsCsv()'s output (for resuming and comparing runs). Throws Error naming `source` and the
 * line for anything else (another header, a field that is not a number, epochs out of order).
 */
std::vector<EpochMetrics> parseMetricsCsv(const std::string& text, const std::string& source = "metrics.csv");

/**
 * Writes a checkpoint atomically and durably (streamed into a temporary file, fsync, rename, fsync of
 * the folder): model parameters and buffers, the AdamW state when `optimizer` is given, and `metaJson`
 * (epoch, metrics, settings). The file is data only, in the safetensors layout, with a checksum
 * (see Runs.cpp and the README); loading it never runs code from it.
 */
void saveCheckpoint(const std::filesystem::path& file, FaceModelImpl& model, torch::optim::Optimizer* optimizer,
                    const std::string& metaJson);

/** A model read back from a checkpoint, with the checkpoint's metadata. */
struct LoadedModel {
    FaceModel model;
    std::string metaJson;
};

/**
 * The framing word ("aligned", "centre-crop") of a checkpoint's metadata: how its training faces
 * were framed. Checkpoints from before framing was recorded were trained on whole images resized
 * square, which for square face crops is the centred square: "centre-crop".
 */
std::string checkpointFraming(const std::string& metaJson);
/**
 * The spread calibration in a checkpoint's metadata (FaceModelImpl::spreadScale()); NaN when it has
 * none. Throws Error naming `file` for a value that is no calibration.
 */
double checkpointSpreadScale(const std::string& metaJson, const std::filesystem::path& file);
/** The framing word of a prepared dataset's manifest text (settings.framing; "centre-crop" before it was recorded). */
std::string checkpointFramingOf(const std::string& manifestJson);

/**
 * Loads a checkpoint written by saveCheckpoint(). Every length is checked against the file before
 * anything is allocated, the checksum is verified, and the tensors must be exactly those of the model
 * its metadata names (kind and size), finite. Throws Error naming the file and the problem otherwise,
 * and for checkpoints of earlier FaceAtlas versions (TorchScript archives, which run code on load).
 */
LoadedModel loadCheckpoint(const std::filesystem::path& file);

/**
 * Converts a checkpoint of an earlier FaceAtlas (a TorchScript archive) into the current format, in
 * place, keeping the original as FILE.old. Reading the old format runs code stored in the file: call
 * it only for a file the user trusts and asked to convert (`faceatlas-cli convert-checkpoint`), never
 * on the way to loading one. The run's metrics.csv beside it, when it parses, becomes the history.
 */
void convertLegacyCheckpoint(const std::filesystem::path& file);

/** Restores only the optimizer state of a checkpoint (resuming). */
void restoreOptimizer(const std::filesystem::path& file, torch::optim::Optimizer& optimizer);

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

#pragma once
// The checkpoint format (ml/Checkpoint.cpp): FaceAtlas's safetensors files, written atomically and
// read as hostile input, and what their metadata says.

#include "ml/Models.h"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace faceatlas {

/**
 * Writes a checkpoint atomically and durably (streamed into a temporary file, fsync, rename, fsync of
 * the folder): model parameters and buffers, the AdamW state when `optimizer` is given, and `metaJson`
 * (epoch, metrics, settings). The file is data only, in the safetensors layout, with a checksum
 * (see Checkpoint.cpp and the README); loading it never runs code from it.
 */
void saveCheckpoint(const std::filesystem::path& file, FaceModelImpl& model, torch::optim::Optimizer* optimizer,
                    const std::string& metaJson);

/** The tensors a checkpoint holds for a model: "model.<name>" for every parameter and buffer. */
std::vector<std::pair<std::string, torch::Tensor>> modelTensors(FaceModelImpl& model);

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

} // namespace faceatlas

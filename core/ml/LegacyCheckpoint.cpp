// Checkpoints of earlier FaceAtlas versions (TorchScript archives, which run code when read),
// converted into the current format on the user's explicit request only ('faceatlas-cli
// convert-checkpoint'); loading never comes here.
#include "ml/Checkpoint.h"
#include "ml/Runs.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

void convertLegacyCheckpoint(const fs::path& file)
{
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        throw Error(displayPath(file) + ": checkpoint not found");
    {
        char magic[2] = {0, 0};
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        const bool ok = fd >= 0 && ::read(fd, magic, 2) == 2;
        if (fd >= 0)
            ::close(fd);
        if (!ok || magic[0] != 'P' || magic[1] != 'K')
            throw Error(displayPath(file)
                        + ": not a checkpoint of an earlier FaceAtlas (a TorchScript archive); nothing to convert");
    }
    const fs::path backup = file.string() + ".old";
    if (fs::exists(backup, ec))
        throw Error(displayPath(backup) + ": already exists; move it away to convert " + displayPath(file) + " again");
    FaceModel model;
    std::unique_ptr<torch::optim::AdamW> optimizer;
    json meta;
    try {
        // The TorchScript importer, on the user's explicit request only (see Checkpoint.h).
        torch::serialize::InputArchive archive;
        archive.load_from(file.string());
        c10::IValue kind, size, metaText;
        archive.read("kind", kind);
        archive.read("size", size);
        archive.read("meta", metaText);
        const int64_t imageSize = size.toInt();
        if (imageSize < 8 || imageSize > 1024)
            throw Error(displayPath(file) + ": image size " + std::to_string(imageSize)
                        + " is outside 8 to 1024 pixels");
        model = createModel(parseModelKind(kind.toStringRef()), static_cast<int>(imageSize));
        torch::serialize::InputArchive modelArchive;
        archive.read("model", modelArchive);
        model->load(modelArchive);
        torch::serialize::InputArchive optimizerArchive;
        if (archive.try_read("optimizer", optimizerArchive)) {
            optimizer = std::make_unique<torch::optim::AdamW>(model->parameters());
            optimizer->load(optimizerArchive);
        }
        meta = json::parse(metaText.toStringRef());
        if (!meta.is_object())
            throw Error(displayPath(file) + ": its metadata is not a JSON object");
    } catch (const Error&) {
        throw;
    } catch (const c10::Error& e) {
        throw Error(displayPath(file)
                    + ": cannot read the old checkpoint: " + std::string(e.what_without_backtrace()).substr(0, 300));
    } catch (const std::exception& e) {
        throw Error(displayPath(file) + ": cannot read the old checkpoint: " + std::string(e.what()).substr(0, 300));
    }
    for (const auto& [name, tensor] : modelTensors(*model))
        if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>())
            throw Error(displayPath(file) + ": tensor " + name + " holds NaN or infinite values; not converted");
    if (const auto it = meta.find("best_score"); it != meta.end() && !it->is_number())
        meta.erase(it); // +inf was written as null
    // The history a resume rewrites the records from: the run's metrics.csv, up to the checkpoint's epoch.
    const fs::path metrics = file.parent_path() / "metrics.csv";
    if (!meta.contains("history") && fs::is_regular_file(metrics, ec)) {
        try {
            auto history = parseMetricsCsv(readFile(metrics), displayPath(metrics));
            const auto epoch = jsonIntOr(meta, "epoch", 0, 0, kMaxEpoch, displayPath(file) + ": its metadata");
            history.erase(
                std::remove_if(history.begin(), history.end(), [&](const EpochMetrics& m) { return m.epoch > epoch; }),
                history.end());
            meta["history"] = metricsCsv(history);
        } catch (const std::exception&) {
            // Without a history the checkpoint still evaluates and encodes; a resume says what is missing.
        }
    }
    fs::copy_file(file, backup);
    syncFile(backup);
    saveCheckpoint(file, *model, optimizer.get(), jsonText(meta));
}

} // namespace faceatlas

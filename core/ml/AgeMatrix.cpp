#include "ml/AgeMatrix.h"

#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"

namespace faceatlas {

AgeMatrixCell measureAgeCell(const std::filesystem::path& runDir, LoadedModel& loaded, const PreparedDataset& data,
                             Split split, const std::string& device, const CancelToken& cancel)
{
    AgeMatrixCell cell;
    cell.run = runDir;
    cell.data = data.dir();
    cell.source = data.sourceSpec();
    cell.modelFraming = checkpointFraming(loaded.metaJson);
    cell.dataFraming = checkpointFramingOf(data.manifestJson());
    try {
        const auto [indices, truth] = labelledFaces(data, split);
        const auto predicted = predictAges(*loaded.model, data, indices, resolveDevice(device), cancel);
        if (predicted.size() != truth.size()) {
            // Cancelled part-way (or any short answer): not measured, and said, so the cell never
            // reads as a measured n = 0, MAE 0. After a cancel the caller drops it and stops.
            cell.error = cancel.isCancelled() ? std::string("cancelled before it was measured")
                                              : std::to_string(predicted.size()) + " predictions for "
                                                    + std::to_string(truth.size()) + " faces: not measured";
            return cell;
        }
        const EvalReport r = evaluateAges(predicted, truth, runBaselineAge(runDir, data));
        double bias = 0;
        for (size_t k = 0; k < predicted.size(); ++k)
            bias += static_cast<double>(predicted[k]) - truth[k];
        cell.n = r.n;
        cell.mae = r.mae;
        cell.bias = bias / static_cast<double>(predicted.size());
        cell.baselineMae = r.baselineMae;
    } catch (const Error& e) {
        cell.error = e.what(); // another image size, no ages: said in its cell, the others still run
    }
    return cell;
}

std::vector<AgeMatrixCell> evaluateAgeMatrix(const std::vector<std::filesystem::path>& runs,
                                             const std::vector<const PreparedDataset*>& datas, Split split,
                                             const std::string& device, const CancelToken& cancel,
                                             const std::function<void(const JobProgress&)>& onProgress, bool* cancelled)
{
    std::vector<AgeMatrixCell> cells;
    const long long total = static_cast<long long>(runs.size() * datas.size());
    if (cancelled)
        *cancelled = false;
    for (const auto& runDir : runs) {
        LoadedModel loaded = loadRunModel(runDir);
        if (!loaded.model->isAgeModel())
            throw Error(displayPath(runDir) + ": an autoencoder run makes no age predictions");
        for (const PreparedDataset* data : datas) {
            if (onProgress)
                onProgress({"measuring", static_cast<long long>(cells.size()), total});
            AgeMatrixCell cell = measureAgeCell(runDir, loaded, *data, split, device, cancel);
            if (cancel.isCancelled()) {
                if (cancelled)
                    *cancelled = true;
                return cells;
            }
            cells.push_back(std::move(cell));
        }
    }
    if (onProgress)
        onProgress({"measuring", total, total});
    return cells;
}

} // namespace faceatlas

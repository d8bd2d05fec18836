#include "ml/OutOfFold.h"

#include "ml/Batches.h"
#include "ml/ModelKinds.h"
#include "ml/Runs.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/SplitMix.h"

#include <cmath>
#include <cstring>
#include <map>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

constexpr char kOofMagic[8] = {'F', 'A', 'O', 'O', 'F', '0', '0', '1'};

/** oof.bin: magic, count, then per face its record index, mean and standard deviation. */
std::string serializeFold(const std::vector<std::uint32_t>& indices, const AgeDistributions& d)
{
    std::string bytes(kOofMagic, sizeof kOofMagic);
    const std::uint64_t count = indices.size();
    bytes.append(reinterpret_cast<const char*>(&count), sizeof count);
    for (size_t k = 0; k < indices.size(); ++k) {
        bytes.append(reinterpret_cast<const char*>(&indices[k]), 4);
        bytes.append(reinterpret_cast<const char*>(&d.mean[k]), 4);
        bytes.append(reinterpret_cast<const char*>(&d.sd[k]), 4);
    }
    return bytes;
}

/** A fold's predictions when the file holds exactly the fold's records in order; false otherwise. */
bool readFold(const fs::path& file, const std::vector<std::uint32_t>& indices, AgeDistributions& d)
{
    std::error_code ec;
    if (!fs::is_regular_file(file, ec))
        return false;
    const size_t expected = sizeof kOofMagic + 8 + indices.size() * 12;
    if (fs::file_size(file, ec) != expected) // checked before reading: never sized by the file's own count
        return false;
    const std::string bytes = readFile(file);
    std::uint64_t count = 0;
    if (bytes.size() != expected || std::memcmp(bytes.data(), kOofMagic, sizeof kOofMagic) != 0)
        return false;
    std::memcpy(&count, bytes.data() + sizeof kOofMagic, 8);
    if (count != indices.size())
        return false;
    d.mean.resize(indices.size());
    d.sd.resize(indices.size());
    const char* p = bytes.data() + sizeof kOofMagic + 8;
    for (size_t k = 0; k < indices.size(); ++k, p += 12) {
        std::uint32_t index = 0;
        std::memcpy(&index, p, 4);
        std::memcpy(&d.mean[k], p + 4, 4);
        std::memcpy(&d.sd[k], p + 8, 4);
        if (index != indices[k] || !std::isfinite(d.mean[k]))
            return false;
    }
    return true;
}

/** One fold's records: those it holds out (and of them, those with an age) and those trained on. */
struct FoldSplit {
    std::vector<std::uint32_t> heldOut, train, heldOutAged;
};

/** The records of fold `fold` held out, and those of the other folds that have an age to train on. */
FoldSplit splitFold(const PreparedDataset& data, const std::vector<int>& foldOf, int fold)
{
    FoldSplit s;
    for (size_t i = 0; i < data.count(); ++i) {
        const auto index = static_cast<std::uint32_t>(i);
        if (foldOf[i] == fold) {
            s.heldOut.push_back(index);
            if (data.records()[i].age)
                s.heldOutAged.push_back(index);
        } else if (data.records()[i].age) {
            s.train.push_back(index);
        }
    }
    return s;
}

/** The training run of fold `fold` (0-based) in `runDir`: resumed when a checkpoint is there. */
TrainParams foldTrainParams(const OutOfFoldParams& p, int fold, const fs::path& runDir, const FoldSplit& split)
{
    TrainParams t;
    t.model = p.model;
    t.data = p.data;
    t.runDir = runDir;
    t.epochs = p.epochs;
    t.seed = p.seed * 7919ULL + static_cast<std::uint64_t>(fold);
    t.device = p.device;
    t.threads = p.threads;
    t.resume = fs::is_regular_file(runDir / "last.pt");
    t.previewCount = 0;
    t.trainIndices = split.train;
    t.valIndices = split.heldOutAged;
    t.listInWorkspace = false;
    return t;
}

/**
 * Trains fold `fold`'s model in `runDir` and predicts its held-out records into `d`, reporting
 * progress as `progress`. False when cancelled (or the prediction came back incomplete).
 */
bool trainAndPredict(const OutOfFoldParams& p, const PreparedDataset& data, int fold, const fs::path& runDir,
                     const FoldSplit& split, OutOfFoldProgress& progress, const CancelToken& cancel,
                     const std::function<void(const OutOfFoldProgress&)>& onProgress, AgeDistributions& d)
{
    TrainJob job(foldTrainParams(p, fold, runDir, split));
    const TrainResult trained = job.run(cancel, [&](const TrainProgress& tp) {
        progress.train = tp;
        if (onProgress)
            onProgress(progress);
    });
    if (trained.cancelled)
        return false;
    progress.predicting = true;
    if (onProgress)
        onProgress(progress);
    const LoadedModel loaded = loadCheckpoint(runDir / "last.pt");
    d = predictAgeDistributions(*loaded.model, data, split.heldOut, resolveDevice(p.device), cancel);
    return !(cancel.isCancelled() || d.mean.size() != split.heldOut.size());
}

/** Stores a fold's predictions of its held-out records in `result`; returns their MAE (NaN with no ages). */
double storeFold(const PreparedDataset& data, const std::vector<std::uint32_t>& heldOut, const AgeDistributions& d,
                 OutOfFoldResult& result)
{
    double absSum = 0;
    size_t aged = 0;
    for (size_t k = 0; k < heldOut.size(); ++k) {
        result.predictions.mean[heldOut[k]] = d.mean[k];
        result.predictions.sd[heldOut[k]] = d.sd[k];
        if (const auto& age = data.records()[heldOut[k]].age) {
            absSum += std::fabs(d.mean[k] - static_cast<float>(*age));
            ++aged;
        }
    }
    return aged ? absSum / static_cast<double>(aged) : std::nan("");
}

} // namespace

std::vector<int> assignFolds(const std::vector<std::uint32_t>& groupOf, int folds, std::uint64_t seed)
{
    if (folds < 2)
        throw Error("--folds must be at least 2, got " + std::to_string(folds));
    std::map<std::uint32_t, int> fold;
    for (std::uint32_t g : groupOf)
        fold.emplace(g, 0);
    std::vector<std::uint32_t> groups;
    groups.reserve(fold.size());
    for (const auto& entry : fold)
        groups.push_back(entry.first);
    SplitMix rng(seed ^ 0x0F0F0F0F5EED5EEDULL);
    for (size_t i = groups.size(); i > 1; --i)
        std::swap(groups[i - 1], groups[rng.below(i)]);
    for (size_t k = 0; k < groups.size(); ++k)
        fold[groups[k]] = static_cast<int>(k % static_cast<size_t>(folds));
    std::vector<int> out(groupOf.size());
    for (size_t i = 0; i < groupOf.size(); ++i)
        out[i] = fold[groupOf[i]];
    return out;
}

OutOfFoldResult runOutOfFold(const OutOfFoldParams& p, const CancelToken& cancel,
                             const std::function<void(const OutOfFoldProgress&)>& onProgress)
{
    if (modelKindInfo(p.model).role != ModelRole::AgeModel)
        throw Error("the audit needs an age model, not the " + std::string(modelKindName(p.model)));
    if (p.folds < 2 || p.folds > 20)
        throw Error("--folds must be between 2 and 20, got " + std::to_string(p.folds));
    const PreparedDataset data = PreparedDataset::open(p.data);
    if (p.foldOf.size() != data.count())
        throw Error("internal: one fold per record is required");
    OutOfFoldResult result;
    result.device = resolveDevice(p.device).is_cuda() ? "cuda" : "cpu";
    result.predictions.mean.assign(data.count(), std::nanf(""));
    result.predictions.sd.assign(data.count(), std::nanf(""));
    for (int fold = 0; fold < p.folds && !cancel.isCancelled(); ++fold) {
        const FoldSplit split = splitFold(data, p.foldOf, fold);
        if (split.heldOut.empty())
            continue;
        const fs::path runDir = p.dir / ("fold-" + std::to_string(fold + 1));
        const fs::path oofPath = runDir / "oof.bin";
        AgeDistributions d;
        OutOfFoldProgress progress{fold + 1, p.folds, {}, false};
        if (readFold(oofPath, split.heldOut, d)) {
            ++result.foldsReused;
        } else {
            if (!trainAndPredict(p, data, fold, runDir, split, progress, cancel, onProgress, d)) {
                result.cancelled = true;
                break;
            }
            writeFileAtomic(oofPath, serializeFold(split.heldOut, d));
        }
        result.foldMae.push_back(storeFold(data, split.heldOut, d, result));
    }
    result.cancelled = result.cancelled || cancel.isCancelled();
    return result;
}

} // namespace faceatlas

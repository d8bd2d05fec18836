#include "ml/TrainJob.h"

#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "ml/Batches.h"
#include "ml/Runtime.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"
#include "util/PngWriter.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <torch/version.h>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

/** Learning rate for an epoch: constant, or one warm-up epoch then cosine decay to 2% of the peak. */
double learningRateAt(double peak, bool cosine, int epoch, int epochs, double progressInEpoch)
{
    if (!cosine)
        return peak;
    const double t = (epoch - 1) + progressInEpoch; // epochs are 1-based
    if (t < 1.0 && epochs > 2)
        return peak * std::max(0.05, t);
    const double span = std::max(1.0, static_cast<double>(epochs) - 1.0);
    const double c = std::min(1.0, std::max(0.0, (t - 1.0) / span));
    return peak * (0.02 + 0.98 * 0.5 * (1.0 + std::cos(M_PI * c)));
}

void setLearningRate(torch::optim::AdamW& optimizer, double lr)
{
    for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

/** Original faces on the top row, reconstructions below: the preview a person looks at. */
void writePreview(const fs::path& file, const torch::Tensor& originals, const torch::Tensor& reconstructions)
{
    const auto both = torch::cat({originals, reconstructions}, 0).to(torch::kCPU); // [2n,3,S,S]
    const int64_t n = originals.size(0), s = originals.size(2);
    auto grid = both.view({2, n, 3, s, s}).permute({0, 3, 1, 4, 2}).reshape({2 * s, n * s, 3});
    grid = grid.mul(255.0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
    writePngRgb(file, grid.data_ptr<std::uint8_t>(), static_cast<int>(n * s), static_cast<int>(2 * s));
}

struct Validation {
    double loss = 0;
    double mae = std::nan("");
    double baselineMae = std::nan("");
    double psnr = std::nan("");
};

Validation validate(FaceModelImpl& model, const PreparedDataset& data, const std::vector<std::uint32_t>& valIndices,
                    const torch::Device& device, int batchSize, float medianAge, const CancelToken& cancel)
{
    torch::NoGradGuard noGrad;
    model.eval();
    Validation v;
    double lossSum = 0, absSum = 0, baseSum = 0, sqSum = 0;
    size_t n = 0, aged = 0, pixels = 0;
    BatchPrefetcher batches(data, valIndices, batchSize);
    Batch b;
    while (batches.next(b) && !cancel.isCancelled()) {
        const auto images = b.images.to(device);
        const auto ages = b.ages.to(device);
        const auto out = model.run(images);
        const int64_t count = images.size(0);
        if (model.isAgeModel()) {
            const auto known = ~torch::isnan(ages);
            const int64_t k = known.sum().item<int64_t>();
            if (k > 0) {
                const auto pred = model.predictAges(images, &out).masked_select(known),
                           truth = ages.masked_select(known);
                lossSum += model.loss(out, images, ages.nan_to_num(medianAge)).item<double>() * count;
                absSum += (pred - truth).abs().sum().item<double>();
                baseSum += (truth - medianAge).abs().sum().item<double>();
                aged += static_cast<size_t>(k);
            }
        } else {
            lossSum += model.loss(out, images, ages).item<double>() * count;
            sqSum += (out.output - images).pow(2).sum().item<double>();
            pixels += static_cast<size_t>(images.numel());
        }
        n += static_cast<size_t>(count);
    }
    v.loss = n ? lossSum / n : std::nan("");
    if (aged) {
        v.mae = absSum / aged;
        v.baselineMae = baseSum / aged;
    }
    if (pixels)
        v.psnr = 10.0 * std::log10(1.0 / std::max(1e-12, sqSum / pixels));
    return v;
}

json runJson(const TrainParams& p, const PreparedDataset& data, const ModelDefaults& used, const std::string& device,
             float medianAge, const std::string& started, size_t trainCount, size_t valCount)
{
    json manifest = json::parse(data.manifestJson());
    return {{"format", "faceatlas-run"},
            {"version", 1},
            {"model", modelKindName(p.model)},
            {"size", data.imageSize()},
            {"data", data.dir().string()},
            {"data_fingerprint", datasetFingerprint(data)},
            {"source", data.sourceSpec()},
            {"cleaning", manifest.value("settings", json::object())},
            {"split", {{"train", trainCount}, {"val", valCount}}},
            {"seed", p.seed},
            {"epochs", p.epochs},
            {"batch", used.batch},
            {"learning_rate", used.learningRate},
            {"weight_decay", used.weightDecay},
            {"schedule", used.cosineSchedule ? "warmup+cosine" : "constant"},
            {"augmentation", used.augment},
            {"optimizer", "AdamW (decoupled weight decay; Adam when it is 0)"},
            {"device", device},
            {"threads", at::get_num_threads()},
            {"libtorch", TORCH_VERSION},
            {"faceatlas", FACEATLAS_VERSION},
            {"baseline_median_age", medianAge},
            {"started", started},
            {"status", "running"}};
}

} // namespace

ModelDefaults modelDefaults(ModelKind kind)
{
    switch (kind) {
    case ModelKind::AgeCapstone: return {32, 1e-4, 0.0, false, false};
    case ModelKind::Autoencoder: return {32, 1e-3, 0.0, false, false};
    case ModelKind::Age: return {64, 3e-3, 0.05, true, true};
    }
    return {32, 1e-3, 0.0, false, false};
}

torch::Device resolveDevice(const std::string& device)
{
    if (device == "cpu")
        return torch::kCPU;
    if (device == "cuda") {
        if (!cudaAvailable())
            throw Error("--device cuda: no CUDA GPU is available to this LibTorch build (use auto or cpu)");
        return torch::kCUDA;
    }
    if (device == "auto")
        return cudaAvailable() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    throw Error("unknown device '" + device + "' (use auto, cpu or cuda)");
}

float runBaselineAge(const std::filesystem::path& runDir, const PreparedDataset& data)
{
    const json run = json::parse(readFile(runDir / "run.json", kMaxManifestBytes));
    if (const auto it = run.find("baseline_median_age"); it != run.end() && !it->is_null()) {
        // Checked as a double: 1e300 converted to float would be undefined behaviour.
        if (!it->is_number() || !(std::fabs(it->get<double>()) <= kMaxRecordAge))
            throw Error(displayPath(runDir / "run.json") + ": 'baseline_median_age' is " + jsonText(*it).substr(0, 40)
                        + ", not an age");
        return static_cast<float>(it->get<double>());
    }
    return trainingMedianAge(data);
}

float trainingMedianAge(const PreparedDataset& data)
{
    return medianAge(data, data.trainIndices());
}

float medianAge(const PreparedDataset& data, std::vector<std::uint32_t> unique)
{
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    std::vector<float> ages;
    for (auto i : unique)
        if (data.records()[i].age)
            ages.push_back(static_cast<float>(*data.records()[i].age));
    if (ages.empty())
        return std::nanf("");
    std::sort(ages.begin(), ages.end());
    const size_t m = ages.size() / 2;
    return ages.size() % 2 ? ages[m] : 0.5f * (ages[m - 1] + ages[m]);
}

TrainJob::TrainJob(TrainParams params)
    : m_params(std::move(params))
{
}

TrainResult TrainJob::run(const CancelToken& cancel, const ProgressFn& onProgress, const EpochFn& onEpoch)
{
    const TrainParams& p = m_params;
    torch::AutoGradMode gradMode(true); // grad mode is thread-local: set it on the thread that trains
    configureTorchThreads(p.threads);
    if (p.epochs < 1)
        throw Error("--epochs must be at least 1");
    // A run folder is trained in place (checkpoints, resumed later): it must be new, empty or a run,
    // never replaced (so no --force).
    checkOutputFolder(p.runDir, OutputKind::Run, {false, {p.data}});
    const PreparedDataset data = PreparedDataset::open(p.data);
    const std::vector<std::uint32_t>& trainIndices = p.trainIndices ? *p.trainIndices : data.trainIndices();
    const std::vector<std::uint32_t>& valIndices = p.valIndices ? *p.valIndices : data.valIndices();
    for (const auto* list : {&trainIndices, &valIndices})
        for (std::uint32_t i : *list)
            if (i >= data.count())
                throw Error(displayPath(p.data) + ": record " + std::to_string(i) + " to train on is beyond its "
                            + std::to_string(data.count()) + " records");
    if (trainIndices.empty())
        throw Error(displayPath(p.data) + ": the training split is empty");
    const bool ageModel = p.model != ModelKind::Autoencoder;
    const float medianAge = faceatlas::medianAge(data, trainIndices);
    if (ageModel && std::isnan(medianAge))
        throw Error(displayPath(p.data)
                    + ": no training record has an age, so an age model cannot learn (train the autoencoder instead)");

    ModelDefaults used = modelDefaults(p.model);
    if (p.batch > 0)
        used.batch = p.batch;
    if (p.learningRate > 0)
        used.learningRate = p.learningRate;
    if (p.weightDecay >= 0)
        used.weightDecay = p.weightDecay;
    const torch::Device device = resolveDevice(p.device);
    const std::string deviceName = device.is_cuda() ? "cuda" : "cpu";

    fs::create_directories(p.runDir);
    // Checkpoints and records of a killed run's unfinished writes: only temporaries of the run's own files.
    removeStaleTemporaries(p.runDir, [](const std::string& name) {
        const auto& own = outputKindNames(OutputKind::Run);
        return std::find(own.begin(), own.end(), name) != own.end();
    });
    const fs::path lastPath = p.runDir / "last.pt", bestPath = p.runDir / "best.pt";
    torch::manual_seed(p.seed);
    FaceModel model = createModel(p.model, data.imageSize());
    {
        const auto& m = data.mean();
        const auto& s = data.stddev();
        model->setInputStats({m[0], m[1], m[2]}, {s[0], s[1], s[2]});
        if (ageModel) {
            double sum = 0, sq = 0;
            size_t n = 0;
            for (auto i : trainIndices)
                if (const auto& a = data.records()[i].age) {
                    sum += *a;
                    sq += double(*a) * *a;
                    ++n;
                }
            const double mean = sum / n;
            model->setAgeStats(static_cast<float>(mean),
                               static_cast<float>(std::sqrt(std::max(1.0, sq / n - mean * mean))));
        }
    }
    model->to(device);
    const auto makeOptimizer = [&] {
        return std::make_unique<torch::optim::AdamW>(
            model->parameters(), torch::optim::AdamWOptions(used.learningRate).weight_decay(used.weightDecay));
    };
    auto optimizer = makeOptimizer();

    TrainResult result;
    result.device = deviceName;
    int startEpoch = 1;
    double bestScore = std::numeric_limits<double>::infinity();
    std::string started = utcTimestamp();
    if (p.resume && fs::is_regular_file(lastPath)) {
        LoadedModel loaded = loadCheckpoint(lastPath);
        if (loaded.model->kind() != p.model || loaded.model->imageSize() != data.imageSize())
            throw Error(displayPath(lastPath) + ": the run holds a " + modelKindName(loaded.model->kind()) + " at "
                        + std::to_string(loaded.model->imageSize()) + " px, not this model and dataset");
        model = loaded.model;
        model->to(device);
        optimizer = makeOptimizer();
        restoreOptimizer(lastPath, *optimizer);
        // The checkpoint carries its own history: metrics.csv and run.json are written again from it, so a
        // kill between the checkpoint and those files is repaired here.
        try {
            const json meta = json::parse(loaded.metaJson);
            startEpoch = meta.at("epoch").get<int>() + 1;
            result.bestEpoch = meta.value("best_epoch", 0);
            if (const auto it = meta.find("best_score"); it != meta.end() && it->is_number())
                bestScore = it->get<double>(); // absent or null: no finite score yet (+inf)
            if (const auto it = meta.find("started"); it != meta.end() && it->is_string())
                started = it->get<std::string>();
            if (const auto it = meta.find("history"); it != meta.end() && it->is_string())
                result.history = parseMetricsCsv(it->get<std::string>(), displayPath(lastPath) + " (history)");
        } catch (const json::exception& e) {
            throw Error(displayPath(lastPath) + ": invalid run metadata: " + std::string(e.what()).substr(0, 200));
        }
        if (startEpoch < 1 || result.history.size() != static_cast<size_t>(startEpoch - 1)
            || (!result.history.empty() && result.history.back().epoch != startEpoch - 1))
            throw Error(displayPath(lastPath) + ": its history does not match its epoch "
                        + std::to_string(startEpoch - 1));
        writeFileAtomic(p.runDir / "metrics.csv", metricsCsv(result.history));
    } else if (p.resume) {
        throw Error(displayPath(p.runDir) + ": nothing to resume (no last.pt)");
    }

    json run = runJson(p, data, used, deviceName, medianAge, started, trainIndices.size(), valIndices.size());
    const auto writeRun = [&](const char* status) {
        run["status"] = status;
        run["epochs_done"] = result.history.size();
        run["best_epoch"] = result.bestEpoch;
        if (std::string(status) != "running")
            run["ended"] = utcTimestamp();
        writeFileAtomic(p.runDir / "run.json", jsonText(run, 2) + "\n");
    };
    // How the training faces were framed: `attention --image` and "drop a photo" frame a new picture the same way.
    const std::string framing = checkpointFramingOf(data.manifestJson());
    const auto checkpointMeta = [&](int epoch) {
        json meta{{"epoch", epoch},     {"best_epoch", result.bestEpoch},
                  {"started", started}, {"model", modelKindName(p.model)},
                  {"framing", framing}, {"history", metricsCsv(result.history)}};
        if (std::isfinite(bestScore)) // JSON has no infinity: no finite score yet is written as none
            meta["best_score"] = bestScore;
        return jsonText(meta);
    };
    // Per epoch, in this order: best.pt, last.pt (with the history), metrics.csv, run.json. A kill
    // between them leaves last.pt at most one epoch ahead of the records, which a resume rewrites.
    if (startEpoch == 1) { // a usable checkpoint exists from the start, so a cancel never leaves none
        saveCheckpoint(lastPath, *model, optimizer.get(), checkpointMeta(0));
        writeFileAtomic(p.runDir / "metrics.csv", metricsCsv(result.history));
    }
    writeRun("running");
    if (p.listInWorkspace)
        registerRun(p.runDir, p.workspace);

    // Fixed validation faces for the autoencoder's reconstructions.
    torch::Tensor previewImages;
    if (!ageModel && !valIndices.empty() && p.previewCount > 0) {
        const size_t n = std::min<size_t>(static_cast<size_t>(p.previewCount), valIndices.size());
        previewImages = makeBatch(data, valIndices.data(), n).images.to(device);
        fs::create_directories(p.runDir / "previews");
        removeStaleTemporaries(p.runDir / "previews", [](const std::string& name) {
            return name.size() == 13 && name.rfind("epoch-", 0) == 0 && name.compare(9, 4, ".png") == 0;
        });
    }

    try {
        for (int epoch = startEpoch; epoch <= p.epochs; ++epoch) {
            const auto epochStart = Clock::now();
            // Reseeding from (seed, epoch) makes a resumed run draw the same dropout and augmentation.
            torch::manual_seed(p.seed * 1000003ULL + static_cast<std::uint64_t>(epoch));
            model->train();
            BatchPrefetcher batches(data, epochOrder(trainIndices, p.seed, epoch), used.batch);
            const int batchCount = static_cast<int>(batches.batchCount());
            double lossSum = 0;
            size_t seen = 0;
            int batchIndex = 0;
            auto lastReport = Clock::now();
            Batch b;
            while (batches.next(b)) {
                if (cancel.isCancelled())
                    break;
                const double lr = learningRateAt(used.learningRate, used.cosineSchedule, epoch, p.epochs,
                                                 static_cast<double>(batchIndex) / batchCount);
                setLearningRate(*optimizer, lr);
                auto images = b.images.to(device);
                const auto ages = b.ages.to(device).nan_to_num(medianAge);
                if (used.augment)
                    images = augment(images);
                optimizer->zero_grad();
                const auto out = model->run(images);
                const auto loss = model->loss(out, images, ages);
                loss.backward();
                optimizer->step();
                const double l = loss.item<double>();
                if (!std::isfinite(l))
                    throw Error("training diverged (loss is " + std::to_string(l) + ") at epoch "
                                + std::to_string(epoch) + "; try a lower --lr");
                lossSum += l * images.size(0);
                seen += static_cast<size_t>(images.size(0));
                ++batchIndex;
                const auto now = Clock::now();
                if (onProgress && (now - lastReport > std::chrono::milliseconds(200) || batchIndex == batchCount)) {
                    lastReport = now;
                    const double elapsed = std::chrono::duration<double>(now - epochStart).count();
                    onProgress(
                        {epoch, p.epochs, batchIndex, batchCount, lossSum / seen, seen / std::max(1e-9, elapsed)});
                }
            }
            if (cancel.isCancelled()) {
                result.cancelled = true;
                break;
            }
            const Validation v =
                validate(*model, data, valIndices, device, std::max(used.batch, 64), medianAge, cancel);
            if (cancel.isCancelled()) {
                result.cancelled = true;
                break;
            }
            EpochMetrics m;
            m.epoch = epoch;
            m.trainLoss = lossSum / std::max<size_t>(1, seen);
            m.valLoss = v.loss;
            m.valMae = v.mae;
            m.baselineMae = v.baselineMae;
            m.valPsnr = v.psnr;
            m.learningRate = learningRateAt(used.learningRate, used.cosineSchedule, epoch, p.epochs, 0.0);
            if (previewImages.defined()) {
                torch::NoGradGuard noGrad;
                model->eval();
                char name[32];
                std::snprintf(name, sizeof name, "epoch-%03d.png", epoch);
                writePreview(p.runDir / "previews" / name, previewImages, model->run(previewImages).output);
            }
            m.seconds = std::chrono::duration<double>(Clock::now() - epochStart).count();
            result.history.push_back(m);
            // The best epoch: lowest validation MAE for age models, lowest validation loss otherwise.
            const double score = ageModel ? v.mae : v.loss;
            const bool best = std::isfinite(score) ? score < bestScore : result.bestEpoch == 0;
            if (best) {
                bestScore = std::isfinite(score) ? score : bestScore;
                result.bestEpoch = epoch;
            }
            if (best)
                saveCheckpoint(bestPath, *model, nullptr, checkpointMeta(epoch));
            saveCheckpoint(lastPath, *model, optimizer.get(), checkpointMeta(epoch));
            writeFileAtomic(p.runDir / "metrics.csv", metricsCsv(result.history));
            writeRun("running");
            if (onEpoch)
                onEpoch(m);
        }
    } catch (const c10::Error& e) {
        writeRun("failed");
        const std::string what = e.what_without_backtrace();
        if (what.find("out of memory") != std::string::npos || what.find("DefaultCPUAllocator") != std::string::npos)
            throw Error("out of memory on " + deviceName + " with batch " + std::to_string(used.batch)
                        + ": try a smaller --batch or a smaller --size (the last checkpoint is kept)");
        throw Error("training failed on " + deviceName + ": " + what.substr(0, 400));
    } catch (const std::bad_alloc&) {
        writeRun("failed");
        throw Error("out of memory with batch " + std::to_string(used.batch)
                    + ": try a smaller --batch (the last checkpoint is kept)");
    } catch (...) {
        writeRun("failed");
        throw;
    }
    writeRun(result.cancelled ? "cancelled" : "finished");
    return result;
}

} // namespace faceatlas

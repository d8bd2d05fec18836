#include "ml/TrainJob.h"

#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "ml/Batches.h"
#include "ml/GradientSync.h"
#include "ml/Runtime.h"
#include "ml/TrainSteps.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

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

/** The records to train and validate on: the dataset's split, or the caller's (the audit's folds). */
const std::vector<std::uint32_t>& chosen(const std::optional<std::vector<std::uint32_t>>& given,
                                         const std::vector<std::uint32_t>& split)
{
    return given ? *given : split;
}

/**
 * One training, in named steps. Order of the files written per epoch: best.pt, last.pt (with the
 * history), metrics.csv, run.json; a kill between them leaves last.pt at most one epoch ahead of
 * the records, which a resume rewrites. Lives on the worker thread that trains.
 */
class TrainSession {
public:
    TrainSession(const TrainParams& p, const CancelToken& cancel, const TrainJob::ProgressFn& onProgress,
                 const TrainJob::EpochFn& onEpoch)
        : m_p(p)
        , m_cancel(cancel)
        , m_onProgress(onProgress)
        , m_onEpoch(onEpoch)
        , m_group(p.dist.distributed() ? ProcessGroup::connect(p.dist) : nullptr)
        , m_data(openChecked(p))
        , m_train(chosen(p.trainIndices, m_data.trainIndices()))
        , m_val(chosen(p.valIndices, m_data.valIndices()))
        , m_device(resolveDevice(p.device))
    {
    }

    TrainResult run()
    {
        checkSplits();
        chooseSettings();
        if (writes())
            loadInitFrom(); // the other ranks take rank 0's weights
        buildModel();
        resumeOrStart();
        if (m_group)
            joinRanks();
        writeRun("running");
        if (m_p.listInWorkspace && writes())
            registerRun(m_p.runDir, m_p.workspace);
        pickPreviewFaces();
        try {
            for (int epoch = m_startEpoch; epoch <= m_p.epochs && !m_result.cancelled; ++epoch)
                runEpoch(epoch);
        } catch (const c10::Error& e) {
            writeRun("failed");
            throw deviceError(e);
        } catch (const std::bad_alloc&) {
            writeRun("failed");
            throw Error("out of memory with batch " + std::to_string(m_used.batch)
                        + ": try a smaller --batch (the last checkpoint is kept)");
        } catch (...) {
            writeRun("failed");
            throw;
        }
        writeRun(m_result.cancelled ? "cancelled" : "finished");
        return m_result;
    }

private:
    static PreparedDataset openChecked(const TrainParams& p)
    {
        if (p.epochs < 1)
            throw Error("--epochs must be at least 1");
        // A run folder is trained in place (checkpoints, resumed later): it must be new, empty or a
        // run, never replaced (so no --force). Only rank 0 writes it.
        if (p.dist.leader())
            checkOutputFolder(p.runDir, OutputKind::Run, {false, {p.data}});
        return PreparedDataset::open(p.data);
    }

    void checkSplits()
    {
        for (const auto* list : {&m_train, &m_val})
            for (std::uint32_t i : *list)
                if (i >= m_data.count())
                    throw Error(displayPath(m_p.data) + ": record " + std::to_string(i) + " to train on is beyond its "
                                + std::to_string(m_data.count()) + " records");
        if (m_train.empty())
            throw Error(displayPath(m_p.data) + ": the training split is empty");
        m_ageModel = modelKindInfo(m_p.model).role == ModelRole::AgeModel;
        m_medianAge = medianAge(m_data, m_train);
        if (m_ageModel && std::isnan(m_medianAge))
            throw Error(
                displayPath(m_p.data)
                + ": no training record has an age, so an age model cannot learn (train the autoencoder instead)");
    }

    /** The kind's defaults, overridden by what was asked for. */
    void chooseSettings()
    {
        m_used = modelDefaults(m_p.model);
        if (m_p.batch > 0)
            m_used.batch = m_p.batch;
        if (m_p.learningRate > 0)
            m_used.learningRate = m_p.learningRate;
        if (m_p.weightDecay >= 0)
            m_used.weightDecay = m_p.weightDecay;
        m_augmentation = m_p.augmentation ? *m_p.augmentation : m_used.augment ? Augmentation{} : Augmentation::none();
        if (m_augmentation.any() && !m_ageModel)
            throw Error("--augment: only the age models train with augmentation");
    }

    /** A new model: the data's statistics, and the autoencoder's first layers when asked. */
    void buildModel()
    {
        if (writes()) {
            fs::create_directories(m_p.runDir);
            // Checkpoints and records of a killed run's unfinished writes: only temporaries of the run's own files.
            removeStaleTemporaries(m_p.runDir, [](const std::string& name) {
                const auto& own = outputKindNames(OutputKind::Run);
                return std::find(own.begin(), own.end(), name) != own.end();
            });
        }
        torch::manual_seed(m_p.seed);
        m_model = createModel(m_p.model, m_data.imageSize());
        const auto& m = m_data.mean();
        const auto& s = m_data.stddev();
        m_model->setInputStats({m[0], m[1], m[2]}, {s[0], s[1], s[2]});
        if (m_ageModel) {
            double sum = 0, sq = 0;
            size_t n = 0;
            for (auto i : m_train)
                if (const auto& a = m_data.records()[i].age) {
                    sum += *a;
                    sq += double(*a) * *a;
                    ++n;
                }
            const double mean = sum / n;
            m_model->setAgeStats(static_cast<float>(mean),
                                 static_cast<float>(std::sqrt(std::max(1.0, sq / n - mean * mean))));
        }
        if (m_p.labelSigma > 0)
            m_model->setLabelSigma(m_p.labelSigma);
        if (m_initFrom)
            initFromAutoencoder();
        m_model->to(m_device);
        m_optimizer = makeOptimizer();
    }

    /** --init-from: the autoencoder run, checked before anything of the new run is written. */
    void loadInitFrom()
    {
        if (m_p.initFrom.empty())
            return;
        if (!m_ageModel)
            throw Error("--init-from starts an age model from an autoencoder; the "
                        + std::string(modelKindName(m_p.model)) + " is not an age model");
        m_initFrom = loadRunModel(m_p.initFrom).model;
        if (m_initFrom->kind() != ModelKind::Autoencoder)
            throw Error(displayPath(m_p.initFrom) + ": --init-from needs an autoencoder run, not a "
                        + modelKindName(m_initFrom->kind()) + " run");
    }

    void initFromAutoencoder()
    {
        m_result.initialisedLayers = m_model->initFromEncoder(*m_initFrom);
        if (m_result.initialisedLayers.empty())
            throw Error(displayPath(m_p.initFrom) + ": no layer of its encoder has the shape of the "
                        + modelKindName(m_p.model) + "'s first convolution, so nothing can be taken from it");
    }

    std::unique_ptr<torch::optim::AdamW> makeOptimizer()
    {
        return std::make_unique<torch::optim::AdamW>(
            m_model->parameters(), torch::optim::AdamWOptions(m_used.learningRate).weight_decay(m_used.weightDecay));
    }

    /** Continues from last.pt (model, optimiser, history, best epoch), or writes a first checkpoint. */
    void resumeOrStart()
    {
        m_started = utcTimestamp();
        m_labelSigma = m_p.labelSigma;
        if (!writes()) {
            m_result.device = m_device.is_cuda() ? "cuda" : "cpu";
            return; // rank 0 resumes and says where the run stands (joinRanks)
        }
        if (m_p.resume && fs::is_regular_file(lastPath())) {
            resume();
        } else if (m_p.resume) {
            throw Error(displayPath(m_p.runDir) + ": nothing to resume (no last.pt)");
        }
        m_run = runJson(m_p, m_data, m_used, m_augmentation, m_device.is_cuda() ? "cuda" : "cpu", m_medianAge,
                        m_started, m_train.size(), m_val.size());
        if (!m_result.initialisedLayers.empty())
            m_run["init_from"] = {{"run", m_p.initFrom.string()}, {"layers", m_result.initialisedLayers}};
        m_result.device = m_device.is_cuda() ? "cuda" : "cpu";
        if (m_startEpoch == 1) { // a usable checkpoint exists from the start, so a cancel never leaves none
            saveCheckpoint(lastPath(), *m_model, m_optimizer.get(), checkpointMeta(0, SpreadCalibration{}));
            writeFileAtomic(m_p.runDir / "metrics.csv", metricsCsv(m_result.history));
        }
    }

    void resume()
    {
        LoadedModel loaded = loadCheckpoint(lastPath());
        if (loaded.model->kind() != m_p.model || loaded.model->imageSize() != m_data.imageSize())
            throw Error(displayPath(lastPath()) + ": the run holds a " + modelKindName(loaded.model->kind()) + " at "
                        + std::to_string(loaded.model->imageSize()) + " px, not this model and dataset");
        m_model = loaded.model;
        m_model->setSpreadScale(std::nan("")); // calibrated again each epoch
        m_model->to(m_device);
        m_optimizer = makeOptimizer();
        restoreOptimizer(lastPath(), *m_optimizer);
        // The checkpoint carries its own history: metrics.csv and run.json are written again from it, so a
        // kill between the checkpoint and those files is repaired here.
        try {
            const json meta = json::parse(loaded.metaJson);
            m_startEpoch = meta.at("epoch").get<int>() + 1;
            m_result.bestEpoch = meta.value("best_epoch", 0);
            if (const auto it = meta.find("best_score"); it != meta.end() && it->is_number())
                m_bestScore = it->get<double>(); // absent or null: no finite score yet (+inf)
            if (const auto it = meta.find("started"); it != meta.end() && it->is_string())
                m_started = it->get<std::string>();
            if (const auto it = meta.find("history"); it != meta.end() && it->is_string())
                m_result.history = parseMetricsCsv(it->get<std::string>(), displayPath(lastPath()) + " (history)");
            if (const auto it = meta.find("label_sigma"); it != meta.end() && it->is_number())
                m_labelSigma = it->get<double>();
            if (const auto it = meta.find("best_calibration"); it != meta.end() && it->is_object())
                m_bestCalibration = *it;
        } catch (const json::exception& e) {
            throw Error(displayPath(lastPath()) + ": invalid run metadata: " + std::string(e.what()).substr(0, 200));
        }
        if (m_p.labelSigma > 0)
            m_labelSigma = m_p.labelSigma;
        if (m_labelSigma > 0)
            m_model->setLabelSigma(m_labelSigma);
        const auto& history = m_result.history;
        if (m_startEpoch < 1 || history.size() != static_cast<size_t>(m_startEpoch - 1)
            || (!history.empty() && history.back().epoch != m_startEpoch - 1))
            throw Error(displayPath(lastPath()) + ": its history does not match its epoch "
                        + std::to_string(m_startEpoch - 1));
        writeFileAtomic(m_p.runDir / "metrics.csv", metricsCsv(history));
    }

    /**
     * Several processes: every rank checks it runs the same job, then takes rank 0's place in the run
     * (its epoch and label width after a resume), weights and optimiser state, so all ranks start
     * alike and stay alike (the same summed gradients, the same steps).
     */
    void joinRanks()
    {
        const auto number = [](double v) { return jsonText(json(v)); };
        checkSameJob(*m_group, {{"model", modelKindName(m_p.model)},
                                {"image size", std::to_string(m_data.imageSize())},
                                {"dataset fingerprint", datasetFingerprint(m_data)},
                                {"training faces", std::to_string(m_train.size())},
                                {"validation faces", std::to_string(m_val.size())},
                                {"batch", std::to_string(m_used.batch)},
                                {"epochs", std::to_string(m_p.epochs)},
                                {"seed", std::to_string(m_p.seed)},
                                {"learning rate", number(m_used.learningRate)},
                                {"weight decay", number(m_used.weightDecay)},
                                {"augmentation", m_augmentation.text()},
                                {"device", m_device.is_cuda() ? "cuda" : "cpu"}});
        auto state = torch::tensor({static_cast<double>(m_startEpoch), m_labelSigma}, torch::kDouble);
        m_group->broadcast({state}, 0, "the broadcast of where the run stands");
        m_startEpoch = static_cast<int>(state[0].item<double>());
        if (state[1].item<double>() > 0)
            m_model->setLabelSigma(state[1].item<double>());
        broadcastModule(*m_group, *m_model);
        broadcastOptimizer(*m_group, *m_optimizer);
        m_sync = std::make_unique<GradientSync>(*m_group, m_model->parameters());
        m_result.gradientBytesPerStep = m_sync->bytesPerStep();
    }

    /** Fixed validation faces for the autoencoder's reconstructions. */
    void pickPreviewFaces()
    {
        if (m_ageModel || m_val.empty() || m_p.previewCount <= 0 || !writes())
            return;
        const size_t n = std::min<size_t>(static_cast<size_t>(m_p.previewCount), m_val.size());
        m_previewImages = makeBatch(m_data, m_val.data(), n).images.to(m_device);
        fs::create_directories(m_p.runDir / "previews");
        removeStaleTemporaries(m_p.runDir / "previews", [](const std::string& name) {
            return name.size() == 13 && name.rfind("epoch-", 0) == 0 && name.compare(9, 4, ".png") == 0;
        });
    }

    void runEpoch(int epoch)
    {
        const auto epochStart = Clock::now();
        const double trainLoss = trainOneEpoch(epoch);
        if (agreeToStop()) {
            m_result.cancelled = true;
            return;
        }
        // The batch norms' statistics are recomputed on clean training faces by rank 0 (the other
        // ranks take its weights and statistics below, so the run is one process's).
        if (writes())
            refreshBatchNorms(*m_model, m_data, epochOrder(m_train, m_p.seed, epoch), kBatchNormFaces, m_used.batch,
                              m_device, m_cancel);
        if (m_group)
            broadcastModule(*m_group, *m_model);
        const Validation v = validate(*m_model, m_data, m_val, m_device, std::max(m_used.batch, 64), m_medianAge,
                                      m_cancel, m_group.get());
        if (agreeToStop()) {
            m_result.cancelled = true;
            return;
        }
        EpochMetrics m;
        m.epoch = epoch;
        m.trainLoss = trainLoss;
        m.valLoss = v.loss;
        m.valMae = v.mae;
        m.baselineMae = v.baselineMae;
        m.valPsnr = v.psnr;
        m.learningRate = learningRateAt(m_used.learningRate, m_used.cosineSchedule, epoch, m_p.epochs, 0.0);
        writeEpochPreview(epoch);
        m.seconds = std::chrono::duration<double>(Clock::now() - epochStart).count();
        recordEpoch(m, v);
        if (m_onEpoch)
            m_onEpoch(m);
    }

    /** Whether to stop: this process's cancel or, with several processes, any rank's (all agree). */
    bool agreeToStop()
    {
        if (!m_group)
            return m_cancel.isCancelled();
        auto flag = torch::tensor({m_cancel.isCancelled() ? 1.0 : 0.0}, torch::kDouble);
        m_group->allreduceSum(flag, "the check for a cancel");
        return flag.item<double>() > 0;
    }

    /**
     * One pass over the shuffled training faces; the mean loss (of the batches done when cancelled).
     * With several processes each rank takes its slice of every batch of the same global order, and
     * the loss, the faces seen and a cancel are summed over the ranks after each step.
     */
    double trainOneEpoch(int epoch)
    {
        // Reseeding from (seed, epoch) makes a resumed run draw the same dropout and augmentation;
        // each rank draws its own (rank 0 as one process does).
        const std::uint64_t epochSeed = m_p.seed * 1000003ULL + static_cast<std::uint64_t>(epoch);
        const std::uint64_t rankSeed = epochSeed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(m_p.dist.rank);
        torch::manual_seed(rankSeed);
        m_model->train();
        BatchPrefetcher::Transform transform;
        at::Generator generator = at::detail::createCPUGenerator(rankSeed ^ 0x5DEECE66DULL);
        if (m_augmentation.any())
            transform = [this, &generator](Batch& b) { b.images = augment(b.images, m_augmentation, generator); };
        const RankShare share =
            rankShare(epochOrder(m_train, m_p.seed, epoch), m_used.batch, m_p.dist.rank, m_p.dist.worldSize);
        BatchPrefetcher batches(m_data, share.order, share.lengths, transform);
        const int batchCount = static_cast<int>(batches.batchCount());
        const auto epochStart = Clock::now();
        auto lastReport = epochStart;
        double lossSum = 0;
        size_t seen = 0;
        int batchIndex = 0;
        Batch b;
        while (batches.next(b) && (m_group || !m_cancel.isCancelled())) {
            setLearningRate(*m_optimizer, learningRateAt(m_used.learningRate, m_used.cosineSchedule, epoch, m_p.epochs,
                                                         static_cast<double>(batchIndex) / batchCount));
            const size_t global = share.globalLengths[static_cast<size_t>(batchIndex)];
            // [loss x faces, faces, cancel] over the ranks: the global batch's loss, as one process has it.
            auto summed = torch::tensor({step(b, static_cast<double>(b.indices.size()) / static_cast<double>(global))
                                             * static_cast<double>(b.indices.size()),
                                         static_cast<double>(b.indices.size()), m_cancel.isCancelled() ? 1.0 : 0.0},
                                        torch::kDouble);
            if (m_group)
                m_group->allreduceSum(summed, "the sum of the step's loss");
            const double l = summed[0].item<double>() / std::max(1.0, summed[1].item<double>());
            if (!std::isfinite(l))
                throw Error("training diverged (loss is " + std::to_string(l) + ") at epoch " + std::to_string(epoch)
                            + "; try a lower --lr");
            lossSum += summed[0].item<double>();
            seen += static_cast<size_t>(summed[1].item<double>());
            ++batchIndex;
            ++m_result.steps;
            const auto now = Clock::now();
            if (m_onProgress && (now - lastReport > std::chrono::milliseconds(200) || batchIndex == batchCount)) {
                lastReport = now;
                const double elapsed = std::chrono::duration<double>(now - epochStart).count();
                m_onProgress(
                    {epoch, m_p.epochs, batchIndex, batchCount, lossSum / seen, seen / std::max(1e-9, elapsed)});
            }
            if (summed[2].item<double>() > 0)
                break; // a rank was cancelled: every rank stops after the same step
        }
        m_result.trainSeconds += std::chrono::duration<double>(Clock::now() - epochStart).count();
        if (m_sync)
            m_result.gradientWaitSeconds = m_sync->waitSeconds();
        return lossSum / static_cast<double>(std::max<size_t>(1, seen));
    }

    /**
     * One optimisation step on a batch; its loss. With several processes the gradients are this
     * rank's `share` of the global batch, summed over the ranks before the step; a rank with no faces
     * in this batch (the last one, on more ranks than faces) adds none but steps with the others.
     */
    double step(const Batch& b, double share)
    {
        m_optimizer->zero_grad();
        if (m_sync)
            m_sync->beginStep(share);
        double value = 0;
        if (!b.indices.empty()) {
            const auto images = b.images.to(m_device);
            const auto ages = b.ages.to(m_device).nan_to_num(m_medianAge);
            const auto out = m_model->run(images);
            const auto loss = m_model->loss(out, images, ages);
            loss.backward();
            value = loss.item<double>();
        }
        if (m_sync)
            m_sync->finishStep();
        m_optimizer->step();
        return value;
    }

    void writeEpochPreview(int epoch)
    {
        if (!m_previewImages.defined() || !writes())
            return;
        torch::NoGradGuard noGrad;
        m_model->eval();
        char name[32];
        std::snprintf(name, sizeof name, "epoch-%03d.png", epoch);
        writePreview(m_p.runDir / "previews" / name, m_previewImages, m_model->run(m_previewImages).output);
    }

    /** The epoch's checkpoints and records. The best epoch: lowest validation MAE for age models, loss otherwise. */
    void recordEpoch(const EpochMetrics& m, const Validation& v)
    {
        m_result.history.push_back(m);
        const double score = m_ageModel ? v.mae : v.loss;
        const bool best = std::isfinite(score) ? score < m_bestScore : m_result.bestEpoch == 0;
        if (best) {
            m_bestScore = std::isfinite(score) ? score : m_bestScore;
            m_result.bestEpoch = m.epoch;
            if (m_ageModel)
                m_bestCalibration = calibrationJson(m.epoch, v.calibration);
        }
        if (!writes())
            return;
        if (best)
            saveCheckpoint(bestPath(), *m_model, nullptr, checkpointMeta(m.epoch, v.calibration));
        saveCheckpoint(lastPath(), *m_model, m_optimizer.get(), checkpointMeta(m.epoch, v.calibration));
        writeFileAtomic(m_p.runDir / "metrics.csv", metricsCsv(m_result.history));
        writeRun("running");
    }

    static json calibrationJson(int epoch, const SpreadCalibration& c)
    {
        json j{{"epoch", epoch}, {"faces", c.faces}};
        j["spread_scale"] = std::isfinite(c.scale) ? json(c.scale) : json(nullptr);
        j["coverage_80_before"] = std::isfinite(c.coverageBefore) ? json(c.coverageBefore) : json(nullptr);
        return j;
    }

    std::string checkpointMeta(int epoch, const SpreadCalibration& calibration) const
    {
        json meta{{"epoch", epoch},
                  {"best_epoch", m_result.bestEpoch},
                  {"started", m_started},
                  {"model", modelKindName(m_p.model)},
                  {"framing", checkpointFramingOf(m_data.manifestJson())},
                  {"history", metricsCsv(m_result.history)}};
        if (std::isfinite(m_bestScore)) // JSON has no infinity: no finite score yet is written as none
            meta["best_score"] = m_bestScore;
        if (std::isfinite(calibration.scale)) // this epoch's model: its spread's calibration
            meta["spread_scale"] = calibration.scale;
        if (!m_bestCalibration.is_null())
            meta["best_calibration"] = m_bestCalibration;
        if (m_p.labelSigma > 0)
            meta["label_sigma"] = m_p.labelSigma;
        return jsonText(meta);
    }

    void writeRun(const char* status)
    {
        if (!writes())
            return;
        if (m_sync) {
            m_run["processes"] = m_p.dist.worldSize;
            m_run["gradient_bytes_per_step"] = m_sync->bytesPerStep();
        }
        m_run["status"] = status;
        m_run["epochs_done"] = m_result.history.size();
        m_run["best_epoch"] = m_result.bestEpoch;
        if (!m_bestCalibration.is_null())
            m_run["calibration"] = m_bestCalibration;
        if (std::string(status) != "running")
            m_run["ended"] = utcTimestamp();
        writeFileAtomic(m_p.runDir / "run.json", jsonText(m_run, 2) + "\n");
    }

    Error deviceError(const c10::Error& e) const
    {
        const std::string device = m_device.is_cuda() ? "cuda" : "cpu";
        const std::string what = e.what_without_backtrace();
        if (what.find("out of memory") != std::string::npos || what.find("DefaultCPUAllocator") != std::string::npos)
            return Error("out of memory on " + device + " with batch " + std::to_string(m_used.batch)
                         + ": try a smaller --batch or a smaller --size (the last checkpoint is kept)");
        return Error("training failed on " + device + ": " + what.substr(0, 400));
    }

    /** Whether this process writes the run's files: one process, or rank 0 of several. */
    bool writes() const { return m_p.dist.leader(); }
    fs::path lastPath() const { return m_p.runDir / "last.pt"; }
    fs::path bestPath() const { return m_p.runDir / "best.pt"; }

    const TrainParams& m_p;
    const CancelToken& m_cancel;
    const TrainJob::ProgressFn& m_onProgress;
    const TrainJob::EpochFn& m_onEpoch;
    // Several processes: the job's connections (made first, so a missing peer is the first error)
    // and the gradients' all-reduce over them; destroyed after the training, in reverse order.
    std::unique_ptr<ProcessGroup> m_group;
    std::unique_ptr<GradientSync> m_sync;
    const PreparedDataset m_data;
    const std::vector<std::uint32_t>& m_train;
    const std::vector<std::uint32_t>& m_val;
    const torch::Device m_device;
    bool m_ageModel = false;
    float m_medianAge = std::nanf("");
    ModelDefaults m_used{};
    Augmentation m_augmentation;
    FaceModel m_initFrom; // --init-from's autoencoder, until the new model has taken its layers
    FaceModel m_model;
    std::unique_ptr<torch::optim::AdamW> m_optimizer;
    TrainResult m_result;
    int m_startEpoch = 1;
    double m_bestScore = std::numeric_limits<double>::infinity();
    double m_labelSigma = -1; // the DEX heads' label width (a resumed run's own); <= 0: the head's default
    json m_bestCalibration;   // null until an age model's best epoch was calibrated
    std::string m_started;
    json m_run;
    torch::Tensor m_previewImages;
};

} // namespace

TrainJob::TrainJob(TrainParams params)
    : m_params(std::move(params))
{
}

TrainResult TrainJob::run(const CancelToken& cancel, const ProgressFn& onProgress, const EpochFn& onEpoch)
{
    torch::AutoGradMode gradMode(true); // grad mode is thread-local: set it on the thread that trains
    configureTorchThreads(m_params.threads);
    TrainSession session(m_params, cancel, onProgress, onEpoch);
    return session.run();
}

} // namespace faceatlas

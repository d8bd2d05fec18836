// `train`: a model on a prepared dataset, on one process or several (data-parallel, c10d).
#include "cli/CliSupport.h"
#include "cli/Commands.h"
#include "cli/Launch.h"
#include "cli/ModelText.h"

#include "ml/Distributed.h"
#include "ml/ModelKinds.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

namespace faceatlas::cli {

namespace {

using nlohmann::json;

/** The best epoch's calibration from run.json, in words. */
void printCalibration(const std::filesystem::path& runDir)
{
    try {
        const json run = json::parse(readFile(runDir / "run.json", kMaxManifestBytes));
        const auto c = run.find("calibration");
        if (c == run.end() || !c->is_object() || !c->value("spread_scale", json()).is_number())
            return;
        std::printf("spread calibrated on %d validation faces: x%.2f (before it, 80%% intervals held %.0f%% of them)\n",
                    c->value("faces", 0), c->value("spread_scale", 1.0),
                    100.0 * c->value("coverage_80_before", std::nan("")));
    } catch (const std::exception&) {
        // run.json was just written by this process; a failure to read it back is not the training's
    }
}

/** The training settings of the command line (not yet the processes: see runTrain). */
TrainParams trainParams(const Args& args)
{
    TrainParams p;
    p.model = parseModelKind(args.required("model"));
    p.data = std::filesystem::u8path(args.required("data"));
    p.runDir = std::filesystem::u8path(args.required("out"));
    p.epochs = args.intValue("epochs");
    // Without these options the model kind's own values (p's -1) and all cores (0).
    if (args.has("batch"))
        p.batch = args.intValue("batch");
    if (args.has("lr"))
        p.learningRate = args.doubleValue("lr");
    if (args.has("weight-decay"))
        p.weightDecay = args.doubleValue("weight-decay");
    p.seed = static_cast<std::uint64_t>(args.longValue("seed"));
    p.device = *args.value("device");
    if (args.has("threads"))
        p.threads = args.intValue("threads");
    p.resume = args.has("resume");
    if (args.has("label-sigma"))
        p.labelSigma = args.doubleValue("label-sigma");
    if (const auto augment = args.value("augment"))
        p.augmentation = Augmentation::parse(*augment);
    if (const auto from = args.value("init-from"))
        p.initFrom = std::filesystem::u8path(*from);
    if (args.has("label-sigma") && !(p.labelSigma >= 0.25 && p.labelSigma <= 30))
        throw UsageError("--label-sigma must be between 0.25 and 30 years");
    p.dist = distConfig(args);
    return p;
}

void printEpoch(const EpochMetrics& m, bool ageModel, bool jsonOut)
{
    if (jsonOut)
        printLine(jsonText(epochJson(m, ageModel)));
    else if (ageModel)
        std::printf("epoch %3d  train loss %.4f  val loss %.4f  val MAE %.2f  (baseline %.2f)  %.0f s\n", m.epoch,
                    m.trainLoss, m.valLoss, m.valMae, m.baselineMae, m.seconds);
    else
        std::printf("epoch %3d  train loss %.5f  val loss %.5f  val PSNR %.2f dB  %.0f s\n", m.epoch, m.trainLoss,
                    m.valLoss, m.valPsnr, m.seconds);
    std::fflush(stdout);
}

/** The end of a training in words: where it went, its calibration, and what several processes cost. */
void printTrainResult(const TrainParams& p, const TrainResult& result)
{
    for (const std::string& layer : result.initialisedLayers)
        std::printf("started from %s: %s\n", displayPath(p.initFrom).c_str(), layer.c_str());
    std::printf("best epoch %d; run folder %s (device %s)\n", result.bestEpoch, p.runDir.c_str(),
                result.device.c_str());
    printCalibration(p.runDir);
    const double msPerStep = 1000.0 * result.trainSeconds / std::max<size_t>(1, result.steps);
    if (!p.dist.distributed()) {
        std::printf("training: %zu steps in %.1f s (%.1f ms a step)\n", result.steps, result.trainSeconds, msPerStep);
        return;
    }
    std::printf("%d processes: %zu steps in %.1f s of training (%.1f ms a step); the gradient all-reduce moved %.2f MB "
                "per step and rank 0 waited %.1f s for it after its backward passes (%.0f%%)\n",
                p.dist.worldSize, result.steps, result.trainSeconds, msPerStep, result.gradientBytesPerStep / 1e6,
                result.gradientWaitSeconds, 100.0 * result.gradientWaitSeconds / std::max(1e-9, result.trainSeconds));
}

} // namespace

int runTrain(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("train"));
    TrainParams p = trainParams(args);
    const bool jsonOut = args.has("json");
    const int processes = processCount(args, p.dist);
    args.rejectUnknown();
    if (p.batch == 0 || p.batch < -1)
        throw UsageError("--batch must be positive");
    if (processes > 1)
        return launchRanks("train", words, processes, args, p.dist, p.threads);

    const CancelToken cancel = installInterruptHandler();
    const bool speaks = p.dist.leader(); // of several processes, rank 0 alone prints progress and epochs
    ProgressBar bar(speaks);
    const bool ageModel = modelKindInfo(p.model).role == ModelRole::AgeModel;
    TrainResult result;
    try {
        result = TrainJob(p).run(
            cancel,
            [&](const TrainProgress& t) {
                char stage[96];
                std::snprintf(stage, sizeof stage, "epoch %d/%d loss %.4f %.0f img/s", t.epoch, t.epochs, t.loss,
                              t.imagesPerSecond);
                bar.update({stage, t.batch, t.batches});
            },
            [&](const EpochMetrics& m) {
                bar.finish();
                if (speaks)
                    printEpoch(m, ageModel, jsonOut);
            });
    } catch (const Error& e) {
        // Of several processes, each says which it is (the distributed failures say it already).
        if (!p.dist.distributed())
            throw;
        std::string what = e.what();
        if (what.rfind("rank ", 0) != 0)
            what = p.dist.who() + ": " + what;
        if (p.dist.leader() && std::filesystem::is_regular_file(p.runDir / "last.pt"))
            what += " (" + p.runDir.string()
                    + " keeps its last complete epoch: continue with --resume, on any number "
                      "of processes)";
        throw Error(what);
    }
    bar.finish();
    if (result.cancelled && speaks)
        std::fprintf(stderr, "train: cancelled; %s keeps the checkpoint of epoch %zu (continue with --resume)\n",
                     p.runDir.c_str(), result.history.size());
    if (result.cancelled)
        return 130;
    if (speaks && !jsonOut)
        printTrainResult(p, result);
    return 0;
}

} // namespace faceatlas::cli

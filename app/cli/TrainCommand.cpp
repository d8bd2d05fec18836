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

std::string trainHelp()
{
    return "usage: faceatlas-cli train --model MODEL --data PREPARED --out RUN [options]\n\n"
           "Trains a model on a prepared dataset. RUN becomes a run folder: run.json, metrics.csv, last.pt,\n"
           "best.pt and, for the autoencoder, previews/ with reconstructions of fixed validation faces.\n"
           "An age model's spread is calibrated on the validation faces each epoch (its 80% interval\n"
           "holds 80% of them) and kept in its checkpoints. MODEL is one of:\n\n"
           + modelKindLines() + R"(
  --epochs N          epochs (default 10)
  --batch B           batch size (default: 64 for the age heads, 32 for the capstone models)
  --lr X              peak learning rate (default: 3e-3 for the age heads, 1e-4 age-capstone,
                      1e-3 autoencoder)
  --weight-decay X    decoupled weight decay (default: 0.05 for the age heads, 0 for the capstone models)
  --label-sigma Y     age, age-mv: width in years of the label distribution (default 2 for age, 1 for age-mv)
  --augment LIST      age heads: flip,shift,rotate,jitter (default all), or none
  --init-from RUN     age heads: start the first convolutions from an autoencoder run's encoder where
                      their shapes match (says which layers were taken)
  --seed N            initialisation, shuffling and augmentation seed (default 1)
  --device D          auto (CUDA when available), cpu or cuda (default auto)
  --threads T         CPU threads (default: all cores)
  --resume            continue RUN from its last checkpoint, on the same curve
  --json              one JSON object per epoch on stdout

Several processes (data-parallel, on PyTorch's c10d with Gloo; see the README's "More than one machine"):
  --nproc N           start N processes on this machine, each with its share of every batch and of
                      the cores (the same global batch: the result is one process's, within float
                      rounding; the batch norms of the age heads see each process's share)
  --rank R, --world-size W, --master-addr HOST, --master-port P
                      this process's place in a job started by another launcher (torchrun, mpirun,
                      Slurm); default from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (29500)
  --dist-iface NAME   the network interface for the collectives (default: the one that reaches
                      the master address; GLOO_SOCKET_IFNAME also names it)
  --dist-timeout S    how long a process waits for the others before it fails (default 120)
Rank 0 writes the run; a checkpoint resumes with any number of processes.

Ctrl-C stops within one batch and keeps the last complete epoch's checkpoint.
)";
}

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
    p.epochs = args.intValue("epochs", p.epochs);
    p.batch = args.intValue("batch", -1);
    p.learningRate = args.doubleValue("lr", -1);
    p.weightDecay = args.doubleValue("weight-decay", -1);
    p.seed = static_cast<std::uint64_t>(args.longValue("seed", 1));
    p.device = args.value("device").value_or("auto");
    p.threads = args.intValue("threads", 0);
    p.resume = args.has("resume");
    p.labelSigma = args.doubleValue("label-sigma", -1);
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
    const Args args(words, {"json", "help", "resume"});
    if (args.has("help")) {
        std::fputs(trainHelp().c_str(), stdout);
        return 0;
    }
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

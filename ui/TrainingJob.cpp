// The Train page's job: one process, or rank 0 of several with faceatlas-cli running the others.
#include "TrainingJob.h"

#include "ml/Distributed.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/Json.h"
#include "util/RankProcess.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <QCoreApplication>
#include <QFileInfo>
#include <thread>

namespace faceatlas::ui {

QString shareAmongProcesses(TrainParams& p, const QString& model, int processes, std::vector<std::string>& helperWords)
{
    if (processes <= 1)
        return {};
    if (!distributedAvailable())
        return QObject::tr("This build trains on one process only (built without c10d's Gloo headers).");
    const QString cli = QCoreApplication::applicationDirPath() + "/faceatlas-cli";
    if (!QFileInfo(cli).isExecutable())
        return QObject::tr("Training on %1 processes needs faceatlas-cli beside the application, and %2 is not there.")
            .arg(processes)
            .arg(cli);
    p.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / processes);
    p.dist.worldSize = processes;
    p.dist.masterAddr = "127.0.0.1";
    p.dist.masterPort = freeLoopbackPort();
    p.dist.timeoutSeconds = 60;
    helperWords = {cli.toStdString(), "train",
                   "--model",         model.toStdString(),
                   "--data",          p.data.string(),
                   "--out",           p.runDir.string(),
                   "--epochs",        std::to_string(p.epochs),
                   "--device",        p.device,
                   "--threads",       std::to_string(p.threads),
                   "--dist-timeout",  "60"};
    if (p.batch > 0)
        helperWords.insert(helperWords.end(), {"--batch", std::to_string(p.batch)});
    if (p.learningRate > 0)
        helperWords.insert(helperWords.end(), {"--lr", jsonText(nlohmann::json(p.learningRate))});
    return {};
}

JobRunner::Job trainingJob(const TrainParams& p, const std::vector<std::string>& helperWords,
                           std::function<void(double, double)> onBatch,
                           std::function<void(const EpochMetrics&)> onEpoch)
{
    return [p, helperWords, onBatch, onEpoch](const CancelToken& cancel, const JobRunner::Report& report) {
        std::unique_ptr<HelperRanks> helpers;
        if (!helperWords.empty())
            helpers = std::make_unique<HelperRanks>(
                helperWords.front(), std::vector<std::string>(helperWords.begin() + 1, helperWords.end()),
                RankPlace{0, p.dist.worldSize, p.dist.masterAddr, p.dist.masterPort});
        try {
            const TrainResult result = TrainJob(p).run(
                cancel,
                [&](const TrainProgress& t) {
                    report(QObject::tr("epoch %1/%2, loss %3").arg(t.epoch).arg(t.epochs).arg(t.loss, 0, 'f', 4),
                           t.batch, t.batches);
                    onBatch(t.epoch - 1 + static_cast<double>(t.batch) / std::max(1, t.batches), t.loss);
                },
                onEpoch);
            return !result.cancelled;
        } catch (const std::exception& e) {
            const std::string failed = helpers ? helpers->failures() : std::string();
            throw Error(failed.empty() ? std::string(e.what()) : std::string(e.what()) + " (" + failed + ")");
        }
    };
}

} // namespace faceatlas::ui

#pragma once

#include "JobRunner.h"

#include <functional>
#include <QString>
#include <string>
#include <vector>

namespace faceatlas {
struct TrainParams;
struct EpochMetrics;
} // namespace faceatlas

namespace faceatlas::ui {

/**
 * Several processes (the Train page's Processes setting): `p` becomes rank 0 of `processes` on
 * 127.0.0.1, with its share of the cores, and `helperWords` (faceatlas-cli beside the application,
 * then its words) start the others. Returns an empty string, or why it cannot.
 */
QString shareAmongProcesses(TrainParams& p, const QString& model, int processes, std::vector<std::string>& helperWords);

/**
 * The job that trains `p` on the worker: progress to the runner's bar and `onBatch` (epoch position,
 * running loss), each epoch to `onEpoch`. With helper ranks, they run as long as the job and a
 * failure names the ones that ended badly.
 */
JobRunner::Job trainingJob(const TrainParams& p, const std::vector<std::string>& helperWords,
                           std::function<void(double, double)> onBatch,
                           std::function<void(const EpochMetrics&)> onEpoch);

} // namespace faceatlas::ui

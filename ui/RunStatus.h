#pragma once

#include <QString>

namespace faceatlas {
struct RunSummary;
}

namespace faceatlas::ui {

/**
 * A run's status as the Runs page says it: "finished", "cancelled at epoch 3 of 10", "not finished
 * (interrupted at epoch 3 of 10, or running elsewhere)" for a run marked running that this window
 * is not running (`active` false).
 */
QString runStatusText(const RunSummary& run, bool active);

/**
 * What the Train page says at start about the latest run of a model that stopped before its
 * planned epochs (cancelled, or interrupted by a crash or a close): where it stopped and that
 * Resume continues it. Empty when the run finished, failed, is running here, or has no epoch.
 */
QString interruptedRunNote(const RunSummary& run, bool active);

} // namespace faceatlas::ui

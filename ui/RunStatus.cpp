#include "RunStatus.h"

#include "ml/Runs.h"

#include <QCoreApplication>
#include <QFileInfo>

namespace faceatlas::ui {

namespace {

QString tr(const char* text)
{
    return QCoreApplication::translate("RunStatus", text);
}

/** "epoch 3 of 10", or "epoch 3" when the planned count is not recorded. */
QString stoppedAt(const RunSummary& run)
{
    return run.plannedEpochs > 0 ? tr("epoch %1 of %2").arg(run.epochs).arg(run.plannedEpochs)
                                 : tr("epoch %1").arg(run.epochs);
}

} // namespace

QString runStatusText(const RunSummary& run, bool active)
{
    const QString status = QString::fromStdString(run.status);
    if (status == "running" && !active)
        return tr("not finished (interrupted at %1, or running elsewhere)").arg(stoppedAt(run));
    if (status == "cancelled")
        return tr("cancelled at %1").arg(stoppedAt(run));
    return status;
}

QString interruptedRunNote(const RunSummary& run, bool active)
{
    const bool stopped = run.status == "cancelled" || (run.status == "running" && !active);
    if (!stopped || run.epochs < 1 || (run.plannedEpochs > 0 && run.epochs >= run.plannedEpochs))
        return {};
    return tr("The last %1 training (%2) was %3 at %4. Resume latest (Ctrl+R) continues it from that epoch.")
        .arg(QString::fromStdString(run.model), QFileInfo(QString::fromStdString(run.dir.string())).fileName(),
             run.status == "cancelled" ? tr("stopped") : tr("interrupted"), stoppedAt(run));
}

} // namespace faceatlas::ui

#pragma once

#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MainWindow.h"
#include "Session.h"

#include <QCoreApplication>
#include <QSignalSpy>

namespace faceatlas::test {

/** Waits for the window's running job to end; true when it ended well (false when none was running). */
inline bool waitForJob(faceatlas::ui::MainWindow& window, int seconds = 240)
{
    QSignalSpy spy(window.session()->jobs(), &faceatlas::ui::JobRunner::finished);
    if (!window.session()->jobs()->isRunning())
        return false;
    if (!spy.wait(seconds * 1000))
        return false;
    // The spy hears the signal on the worker thread; let the GUI thread's queued handlers run too.
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    // And what they handed to the lane (the Dataset page's step preview after a source opens).
    window.session()->lane()->waitIdle(seconds * 1000);
    return spy.takeFirst().at(1).toBool();
}

} // namespace faceatlas::test

#pragma once

#include <QApplication>
#include <QString>

namespace faceatlas::ui {

/**
 * The QApplication of FaceAtlas: no exception reaches the event loop. An exception thrown by a
 * slot, an event handler or a job's callback is caught at the event boundary, counted, written to
 * stderr and shown in a window that does not block; the event is dropped and the window goes on.
 */
class GuardedApplication : public QApplication {
    Q_OBJECT
public:
    GuardedApplication(int& argc, char** argv);
    bool notify(QObject* receiver, QEvent* event) override;
    /** Exceptions caught at the event boundary since the start (tests assert none). */
    static int caughtExceptions();
    static QString lastException();
    /** false: only count and log (tests, the tour); true (default): also show a message. */
    static void setShowMessages(bool show);
    /** Reports an error caught at another boundary (a job's callback, a lane result) the same way. */
    static void reportError(const QString& message);
};

} // namespace faceatlas::ui

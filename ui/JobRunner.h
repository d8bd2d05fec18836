#pragma once

#include <functional>
#include <QObject>
#include <QString>
#include <QThread>

#include "util/CancelToken.h"

namespace faceatlas::ui {

/**
 * Runs one core job at a time on a worker thread. The job reports progress through the function
 * it is given (from the worker thread; forwarded as a queued signal) and checks the CancelToken.
 * Destroying the runner cancels the job and waits for it, so closing the window keeps the last
 * checkpoint intact.
 */
class JobRunner : public QObject {
    Q_OBJECT
public:
    using Report = std::function<void(const QString& stage, qint64 done, qint64 total)>;
    using Job = std::function<void(const CancelToken& cancel, const Report& report)>;
    /** Called on the GUI thread when the job has ended: ok, cancelled, and the error when not ok. */
    using Done = std::function<void(bool ok, bool cancelled, const QString& error)>;

    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;

    /** Starts `job` named `title`; false when another job is still running. */
    bool start(const QString& title, Job job);
    /**
     * Calls `done` on the GUI thread when the running job ends (once). Safe right after start():
     * the end is delivered through the GUI thread's event loop, which is busy until we return.
     */
    void whenDone(Done done);
    bool isRunning() const;
    QString title() const { return m_title; }
    void cancel();
    /** Cancels and blocks until the worker has finished. */
    void cancelAndWait();

Q_SIGNALS:
    void started(const QString& title);
    void progress(const QString& stage, qint64 done, qint64 total);
    /** ok is false with a message when the job threw; cancelled when the user stopped it. */
    void finished(const QString& title, bool ok, bool cancelled, const QString& error);

private:
    QThread* m_thread = nullptr;
    CancelToken m_cancel;
    QString m_title;
    Done m_done;
};

} // namespace faceatlas::ui

#pragma once

#include <functional>
#include <map>
#include <QObject>
#include <QString>
#include <QThread>

#include "util/CancelToken.h"

namespace faceatlas::ui {

/**
 * Runs one long core job at a time (prepare, train, encode, cluster, predict) on a worker thread.
 *
 * Each job gets an id when it starts, and its `done` callback belongs to that id alone: a late end of
 * an earlier job can never call a later job's callback. A start while another job runs is refused
 * and changes nothing (the caller checks the id, `refused` tells the window why). A job reports
 * whether it ran to its end; a Cancel that arrives after that does not discard its result.
 * Destroying the runner cancels the job and waits for it, so closing the window keeps the last
 * checkpoint intact. Per-click work belongs on the InteractiveLane, not here.
 */
/**
 * Lowers the calling worker thread's scheduling priority (nice 10 on Linux; the thread pools its
 * work starts inherit it), so that on a machine with few cores the GUI thread is scheduled first.
 */
void lowerWorkerPriority();

class JobRunner : public QObject {
    Q_OBJECT
public:
    using Report = std::function<void(const QString& stage, qint64 done, qint64 total)>;
    /** The work, on the worker thread: true when it ran to its end, false when a cancel stopped it early. */
    using Job = std::function<bool(const CancelToken& cancel, const Report& report)>;
    /** Called on the GUI thread when the job has ended: ok, cancelled, and the error when not ok. */
    using Done = std::function<void(bool ok, bool cancelled, const QString& error)>;

    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;

    /**
     * Starts `job` named `title` and returns its id (> 0); `done` runs on the GUI thread when it ends.
     * Returns 0 when another job is still running: nothing is started, `refused` is emitted.
     */
    quint64 start(const QString& title, Job job, Done done = {});
    bool isRunning() const { return m_runningId != 0; }
    /** The id of the running job, 0 when none. */
    quint64 runningId() const { return m_runningId; }
    QString title() const { return m_title; }
    /** Why a new job cannot start now ("Training age is running: ..."), empty when one can. */
    QString busyReason() const;
    /** Cancels the running job (nothing when none runs). */
    void cancel();
    /** Cancels job `id` if it is the one running. */
    void cancelJob(quint64 id);
    /** Cancels and blocks until the worker has finished (closing the window). */
    void cancelAndWait();
    /**
     * Starts again, under a new id, the job that failed last (its title, work and `done`): what a
     * Retry button does after the user freed disk space. Returns 0 when no job failed since the
     * last start, or when another job runs.
     */
    quint64 retryFailed();
    /** Whether a job failed since the last start, so that retryFailed() can start it again. */
    bool canRetry() const { return static_cast<bool>(m_failedJob); }
    /**
     * From a job's `done`: what it did instead of its work, when it ended well without doing it
     * (Prepare stopped for a confirmation). The status bar shows it in place of "done"; it is
     * cleared before each job's `done` runs.
     */
    void setOutcome(const QString& outcome) { m_outcome = outcome; }
    /** The ending job's outcome (setOutcome), read by `finished`'s receivers; empty when it did its work. */
    QString outcome() const { return m_outcome; }

Q_SIGNALS:
    void started(const QString& title);
    void progress(const QString& stage, qint64 done, qint64 total);
    /** After the job's own `done`; ok is false with a message when the job threw. */
    void finished(const QString& title, bool ok, bool cancelled, const QString& error);
    /** A start was refused because `reason` (another job runs). */
    void refused(const QString& title, const QString& reason);

private:
    Q_SIGNAL void workerEnded(quint64 id, bool ok, bool cancelled, const QString& error);
    void onWorkerEnded(quint64 id, bool ok, bool cancelled, const QString& error);
    QThread* m_thread = nullptr;
    CancelToken m_cancel;
    QString m_title;
    quint64 m_nextId = 1;
    quint64 m_runningId = 0;
    std::map<quint64, Done> m_done;
    Job m_job; // the running job's work and `done`, kept for a retry when it fails
    Done m_jobDone;
    QString m_outcome;     // setOutcome(): the ending job's, until the next job ends
    QString m_failedTitle; // the job that failed last, until the next start
    Job m_failedJob;
    Done m_failedDone;
};

} // namespace faceatlas::ui

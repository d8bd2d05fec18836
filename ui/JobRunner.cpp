#include "JobRunner.h"

#include "GuardedApplication.h"

#include <exception>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>

namespace faceatlas::ui {

void lowerWorkerPriority()
{
#ifdef __linux__
    // On Linux a nice value belongs to a thread; threads it creates later (OpenMP teams) inherit it.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
}

JobRunner::JobRunner(QObject* parent)
    : QObject(parent)
{
    // workerEnded is emitted on the worker thread; the queued connection runs the end on the GUI thread.
    connect(this, &JobRunner::workerEnded, this, &JobRunner::onWorkerEnded, Qt::QueuedConnection);
}

JobRunner::~JobRunner()
{
    cancelAndWait();
}

QString JobRunner::busyReason() const
{
    if (!isRunning())
        return {};
    return tr("%1 is still running: wait for it to finish or press Cancel in the status bar.").arg(m_title);
}

quint64 JobRunner::start(const QString& title, Job job, Done done)
{
    if (isRunning()) {
        Q_EMIT refused(title, busyReason());
        return 0;
    }
    if (m_thread) { // the previous worker has ended (its end was delivered); reap it
        m_thread->wait();
        delete m_thread;
        m_thread = nullptr;
    }
    const quint64 id = m_nextId++;
    m_cancel = CancelToken();
    m_title = title;
    m_runningId = id;
    m_job = job;
    m_jobDone = done;
    m_failedJob = nullptr;
    m_failedDone = nullptr;
    if (done)
        m_done.emplace(id, std::move(done));
    const CancelToken cancel = m_cancel;
    m_thread = QThread::create([this, id, job = std::move(job), cancel] {
        lowerWorkerPriority();
        bool ok = true, completed = false;
        QString error;
        try {
            completed =
                job(cancel, [this](const QString& stage, qint64 d, qint64 total) { Q_EMIT progress(stage, d, total); });
        } catch (const std::exception& e) {
            ok = false;
            error = QString::fromUtf8(e.what());
        } catch (...) {
            ok = false;
            error = QStringLiteral("unknown error");
        }
        Q_EMIT workerEnded(id, ok, ok && !completed, error);
    });
    Q_EMIT started(title);
    m_thread->start();
    return id;
}

void JobRunner::onWorkerEnded(quint64 id, bool ok, bool cancelled, const QString& error)
{
    if (id == m_runningId) {
        m_runningId = 0;
        if (!ok) { // kept for retryFailed(): the same work and the same `done`
            m_failedTitle = m_title;
            m_failedJob = m_job;
            m_failedDone = m_jobDone;
        }
        m_job = nullptr;
        m_jobDone = nullptr;
    }
    const QString title = m_title;
    m_outcome.clear();
    const auto it = m_done.find(id);
    if (it != m_done.end()) {
        const Done done = std::move(it->second);
        m_done.erase(it);
        try {
            done(ok, cancelled, error);
        } catch (const std::exception& e) {
            GuardedApplication::reportError(QString::fromUtf8(e.what()));
        }
    }
    Q_EMIT finished(title, ok, cancelled, error);
}

quint64 JobRunner::retryFailed()
{
    if (!m_failedJob || isRunning())
        return 0;
    const Job job = m_failedJob;
    const Done done = m_failedDone;
    return start(m_failedTitle, job, done);
}

void JobRunner::cancel()
{
    if (isRunning())
        m_cancel.requestCancel();
}

void JobRunner::cancelJob(quint64 id)
{
    if (id != 0 && id == m_runningId)
        m_cancel.requestCancel();
}

void JobRunner::cancelAndWait()
{
    if (!m_thread)
        return;
    m_cancel.requestCancel();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    // The end was queued to a loop that will not run it now: forget the callbacks, nothing runs them.
    m_runningId = 0;
    m_done.clear();
}

} // namespace faceatlas::ui

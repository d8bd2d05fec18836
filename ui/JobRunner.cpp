#include "JobRunner.h"

#include <exception>
#include <utility>

namespace faceatlas::ui {

JobRunner::JobRunner(QObject* parent)
    : QObject(parent)
{
    // finished is emitted on the worker thread; this connection delivers it on the GUI thread.
    connect(this, &JobRunner::finished, this, [this](const QString&, bool ok, bool cancelled, const QString& error) {
        const Done done = std::exchange(m_done, Done());
        if (done)
            done(ok, cancelled, error);
    });
}

JobRunner::~JobRunner()
{
    cancelAndWait();
}

bool JobRunner::isRunning() const
{
    return m_thread && m_thread->isRunning();
}

bool JobRunner::start(const QString& title, Job job)
{
    if (isRunning())
        return false;
    if (m_thread) {
        m_thread->wait();
        delete m_thread;
    }
    m_cancel = CancelToken();
    m_title = title;
    m_done = nullptr;
    const CancelToken cancel = m_cancel;
    m_thread = QThread::create([this, job = std::move(job), cancel, title] {
        bool ok = true;
        QString error;
        try {
            job(cancel,
                [this](const QString& stage, qint64 done, qint64 total) { Q_EMIT progress(stage, done, total); });
        } catch (const std::exception& e) {
            ok = false;
            error = QString::fromUtf8(e.what());
        } catch (...) {
            ok = false;
            error = QStringLiteral("unknown error");
        }
        Q_EMIT finished(title, ok, cancel.isCancelled(), error);
    });
    Q_EMIT started(title);
    m_thread->start();
    return true;
}

void JobRunner::whenDone(Done done)
{
    m_done = std::move(done);
}

void JobRunner::cancel()
{
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
}

} // namespace faceatlas::ui

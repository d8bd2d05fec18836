#include "JobRunner.h"

#include <exception>

namespace faceatlas::ui {

JobRunner::JobRunner(QObject* parent)
    : QObject(parent)
{
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

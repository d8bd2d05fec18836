#include "InteractiveLane.h"

#include "GuardedApplication.h"
#include "JobRunner.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QThread>

#include <chrono>

namespace faceatlas::ui {

InteractiveLane::InteractiveLane(QObject* parent)
    : QObject(parent)
    , m_thread([this] { loop(); })
{
}

InteractiveLane::~InteractiveLane()
{
    shutDown(0);
    m_thread.join();
}

void InteractiveLane::submitTask(const QString& channel, QObject* context, Task task)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_stop)
        return; // the window is closing
    const quint64 generation = ++m_latest[channel];
    ++m_outstanding;
    for (auto it = m_queue.begin(); it != m_queue.end(); ++it)
        if (it->channel == channel) { // not started yet: the newer request takes its place
            m_queue.erase(it);
            --m_outstanding;
            break;
        }
    if (m_running && m_runningChannel == channel) // started: it stops at its next check
        m_runningCancel.requestCancel();
    m_contexts[channel] = context;
    m_queue.push_back({channel, generation, std::move(task), CancelToken()});
    m_wake.notify_one();
}

void InteractiveLane::invalidateAll()
{
    for (auto& [channel, generation] : m_latest)
        ++generation;
    std::lock_guard<std::mutex> lock(m_mutex);
    m_outstanding -= static_cast<int>(m_queue.size());
    m_queue.clear();
    if (m_running)
        m_runningCancel.requestCancel();
}

bool InteractiveLane::shutDown(int timeoutMs)
{
    invalidateAll();
    std::unique_lock<std::mutex> lock(m_mutex);
    m_stop = true;
    m_wake.notify_all();
    return m_idle.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] { return !m_running; });
}

void InteractiveLane::loop()
{
    lowerWorkerPriority();
    for (;;) {
        Pending next;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            if (m_stop)
                return;
            next = std::move(m_queue.front());
            m_queue.pop_front();
            m_running = true;
            m_runningChannel = next.channel;
            m_runningCancel = next.cancel;
        }
        std::function<void()> apply = next.task(next.cancel); // never throws: submit() wraps the work
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_running = false;
            m_runningChannel.clear();
        }
        m_idle.notify_all();
        // A cancelled request's result is partial: it is dropped, but still delivered so that the
        // count of outstanding requests comes down.
        QMetaObject::invokeMethod(
            this,
            [this, channel = next.channel, generation = next.generation, cancelled = next.cancel.isCancelled(),
             apply = std::move(apply)] { deliver(channel, generation, m_contexts[channel], cancelled, apply); },
            Qt::QueuedConnection);
    }
}

void InteractiveLane::deliver(const QString& channel, quint64 generation, QPointer<QObject> context, bool cancelled,
                              std::function<void()> apply)
{
    --m_outstanding;
    if (cancelled || m_latest[channel] != generation || !context)
        return; // stale: a newer request (or a new dataset) came since
    try {
        apply();
    } catch (const std::exception& e) {
        GuardedApplication::reportError(QString::fromUtf8(e.what()));
    }
}

bool InteractiveLane::waitIdle(int timeoutMs)
{
    QElapsedTimer clock;
    clock.start();
    while (m_outstanding > 0 && clock.elapsed() < timeoutMs) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(2);
    }
    return m_outstanding == 0;
}

} // namespace faceatlas::ui

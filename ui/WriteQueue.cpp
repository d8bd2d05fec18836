#include "WriteQueue.h"

#include "data/ReviewFile.h"
#include "GuardedApplication.h"

#include <chrono>

namespace faceatlas::ui {

WriteQueue::WriteQueue(QObject* parent)
    : QObject(parent)
    , m_thread([this] { loop(); })
{
}

WriteQueue::~WriteQueue()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true; // the loop ends only once the queue is empty
    }
    m_wake.notify_all();
    m_thread.join();
}

void WriteQueue::submitTask(QObject* context, Task task)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_pending;
    m_queue.push_back({context, std::move(task)});
    m_wake.notify_one();
}

int WriteQueue::pending() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_pending;
}

bool WriteQueue::waitWritten(int timeoutMs)
{
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_written.wait_for(lock, std::chrono::milliseconds(timeoutMs), [this] { return m_pending == 0; });
}

ReviewFile& WriteQueue::reviewFile(const std::string& path)
{
    auto& review = m_reviews[path];
    if (!review) // read once, keeping none of its rows: appending needs only the checks load() makes
        review = std::make_unique<ReviewFile>(ReviewFile::load(path, [](const std::string&) { return false; }));
    return *review;
}

void WriteQueue::loop()
{
    for (;;) {
        Pending next;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            if (m_queue.empty())
                return; // stopping, and nothing is left to write
            next = std::move(m_queue.front());
            m_queue.pop_front();
        }
        std::function<void()> deliver = next.task(); // never throws: submit() wraps the write
        {
            // The delivery is posted before the write stops counting as pending, under the lock the
            // delivery's pending() takes: whoever waitWritten() releases finds it already posted
            // (sendPostedEvents() runs it), and the delivery sees its own write counted as done.
            std::lock_guard<std::mutex> lock(m_mutex);
            QMetaObject::invokeMethod(
                this,
                [this, context = next.context, deliver = std::move(deliver)] {
                    if (context) {
                        try {
                            deliver();
                        } catch (const std::exception& e) {
                            GuardedApplication::reportError(QString::fromUtf8(e.what()));
                        }
                    }
                    if (pending() == 0)
                        Q_EMIT drained();
                },
                Qt::QueuedConnection);
            --m_pending;
        }
        m_written.notify_all();
    }
}

} // namespace faceatlas::ui

#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <QObject>
#include <QPointer>
#include <QString>
#include <string>
#include <thread>

namespace faceatlas {
class ReviewFile;
}

namespace faceatlas::ui {

/**
 * The durable path for what the user made (review decisions, map exclusions, subset saves, exports):
 * writes run one after another, in the order they were submitted, on a thread of their own.
 *
 * Unlike the InteractiveLane's reads, a write is never replaced by a newer one, never dropped when
 * the dataset changes, and the queue is drained, never cleared, when the writer is destroyed (the
 * window waits for it when it closes). `done(result)` or `fail(message)` runs afterwards on the GUI
 * thread unless its context object is gone; the write happened either way. Writes must own (or
 * share) everything they read.
 */
class WriteQueue : public QObject {
    Q_OBJECT
public:
    explicit WriteQueue(QObject* parent = nullptr);
    /** Runs every write still queued, then stops the thread. */
    ~WriteQueue() override;

    /** Queues `write`; then `done(result)` on the GUI thread, or `fail(message)` when it threw. */
    template <typename T>
    void submit(QObject* context, std::function<T()> write, std::function<void(T)> done,
                std::function<void(const QString&)> fail)
    {
        submitTask(context, [write = std::move(write), done = std::move(done), fail = std::move(fail)]() {
            std::function<void()> deliver;
            try {
                auto result = std::make_shared<T>(write());
                deliver = [done, result] { done(std::move(*result)); };
            } catch (const std::exception& e) {
                deliver = [fail, message = QString::fromUtf8(e.what())] { fail(message); };
            } catch (...) {
                deliver = [fail] { fail(QStringLiteral("unknown error")); };
            }
            return deliver;
        });
    }

    /** Writes submitted that have not finished yet (any thread). */
    int pending() const;
    /**
     * Blocks until every write submitted so far has finished or `timeoutMs` passed (no events are
     * processed meanwhile); true when none is left. A finished write's done() or fail() is already
     * posted to the GUI thread by then: QCoreApplication::sendPostedEvents() delivers it.
     */
    bool waitWritten(int timeoutMs);

    /**
     * The review file at `path`, read once and then appended to (call it from writes only): each
     * decision is one synced line, and the file is not read again for the next one.
     */
    ReviewFile& reviewFile(const std::string& path);

Q_SIGNALS:
    /** Every write submitted so far has finished (emitted on the GUI thread, with a write's delivery). */
    void drained();

private:
    using Task = std::function<std::function<void()>()>;
    struct Pending {
        QPointer<QObject> context;
        Task task;
    };
    void submitTask(QObject* context, Task task);
    void loop();

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;    // the writer: a write was queued, or stop
    std::condition_variable m_written; // waitWritten(): a write finished
    std::deque<Pending> m_queue;
    int m_pending = 0; // queued + running
    bool m_stop = false;
    std::thread m_thread;
    // Writer thread only.
    std::map<std::string, std::unique_ptr<ReviewFile>> m_reviews;
};

} // namespace faceatlas::ui

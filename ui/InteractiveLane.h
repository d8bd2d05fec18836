#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <QObject>
#include <QPointer>
#include <QString>
#include <thread>

namespace faceatlas {
struct LoadedModel;
}

namespace faceatlas::ui {

/**
 * The interactive lane: per-click work (a Grad-CAM, feature maps, the predicted-vs-true scatter, a
 * decoded centroid path) on one worker thread of its own, so the GUI thread only paints and
 * dispatches, and it runs while a long job holds the JobRunner.
 *
 * Requests go by channel ("face-gradcam", "attention", ...): newest wins. A request that has not
 * started is replaced by a newer one on its channel; a result whose channel has had a newer request
 * since is dropped, as is one whose context object has been destroyed. Results and errors are
 * applied on the GUI thread. Work must own (or share) everything it reads: it may outlive the
 * widget that asked for it.
 */
class InteractiveLane : public QObject {
    Q_OBJECT
public:
    explicit InteractiveLane(QObject* parent = nullptr);
    /** Drops what waits, lets the running task end, then stops the thread. */
    ~InteractiveLane() override;

    /**
     * Runs `work` on the lane; then `apply(result)` on the GUI thread, or `fail(message)` when `work`
     * threw, unless the request went stale (see the class comment).
     */
    template <typename T>
    void submit(const QString& channel, QObject* context, std::function<T()> work, std::function<void(T)> apply,
                std::function<void(const QString&)> fail)
    {
        submitTask(channel, context, [work = std::move(work), apply = std::move(apply), fail = std::move(fail)]() {
            std::function<void()> deliver;
            try {
                auto result = std::make_shared<T>(work());
                deliver = [apply, result] { apply(std::move(*result)); };
            } catch (const std::exception& e) {
                deliver = [fail, message = QString::fromUtf8(e.what())] { fail(message); };
            } catch (...) {
                deliver = [fail] { fail(QStringLiteral("unknown error")); };
            }
            return deliver;
        });
    }
    /** Makes every request made so far stale (the dataset changed): nothing of them is applied. */
    void invalidateAll();
    /** Requests submitted whose delivery has not run yet (tests wait for 0). */
    int outstanding() const { return m_outstanding; }
    /** Processes events until nothing is outstanding or `timeoutMs` passed; true when idle. */
    bool waitIdle(int timeoutMs);

    /**
     * The lane's model cache (call it from work on the lane only): the run's checkpoint, loaded once
     * and again when the file changes; three runs at most stay loaded.
     */
    std::shared_ptr<LoadedModel> model(const QString& runDir);

private:
    using Task = std::function<std::function<void()>()>;
    struct Pending {
        QString channel;
        quint64 generation;
        Task task;
    };
    void submitTask(const QString& channel, QObject* context, Task task);
    void loop();
    void deliver(const QString& channel, quint64 generation, QPointer<QObject> context, std::function<void()> apply);

    // GUI thread only.
    std::map<QString, quint64> m_latest;
    std::map<QString, QPointer<QObject>> m_contexts;
    int m_outstanding = 0;
    // Shared with the worker, under m_mutex.
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Pending> m_queue;
    bool m_stop = false;
    std::thread m_thread;
    // The model cache (lane thread; the mutex guards the map for model()).
    std::mutex m_modelMutex;
    struct CachedModel {
        QString stamp;
        std::shared_ptr<LoadedModel> model;
    };
    std::map<QString, CachedModel> m_models;
};

} // namespace faceatlas::ui

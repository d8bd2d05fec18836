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
#include <type_traits>

#include "util/CancelToken.h"

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
 * started is replaced by a newer one on its channel, and a running one is cancelled: its work gets a
 * CancelToken and checks it between batches. A dataset switch (invalidateAll) and the window's close
 * (shutDown) cancel the running request too. A result whose channel has had a newer request since is
 * dropped, as is a cancelled one and one whose context object has been destroyed. Results and errors
 * are applied on the GUI thread. Work must own (or share) everything it reads: it may outlive the
 * widget that asked for it. Only reads belong here: what the user made is written through the
 * WriteQueue, which never drops anything.
 */
class InteractiveLane : public QObject {
    Q_OBJECT
public:
    explicit InteractiveLane(QObject* parent = nullptr);
    /** Drops what waits, cancels the running task and waits for it to return, then stops the thread. */
    ~InteractiveLane() override;

    /**
     * Runs `work` on the lane; then `apply(result)` on the GUI thread, or `fail(message)` when `work`
     * threw, unless the request went stale or was cancelled (see the class comment). `work` is called
     * as work(const CancelToken&) when it takes the token (model work over many faces checks it
     * between batches), else as work().
     */
    template <typename T, typename Work>
    void submit(const QString& channel, QObject* context, Work work, std::function<void(T)> apply,
                std::function<void(const QString&)> fail)
    {
        submitTask(
            channel, context,
            [work = std::move(work), apply = std::move(apply), fail = std::move(fail)](const CancelToken& cancel) {
                std::function<void()> deliver;
                try {
                    std::shared_ptr<T> result;
                    if constexpr (std::is_invocable_v<Work&, const CancelToken&>)
                        result = std::make_shared<T>(work(cancel));
                    else
                        result = std::make_shared<T>(work());
                    deliver = [apply, result] { apply(std::move(*result)); };
                } catch (const std::exception& e) {
                    deliver = [fail, message = QString::fromUtf8(e.what())] { fail(message); };
                } catch (...) {
                    deliver = [fail] { fail(QStringLiteral("unknown error")); };
                }
                return deliver;
            });
    }
    /**
     * Makes every request made so far stale (the dataset changed): what waits is dropped, the running
     * one is cancelled, and nothing of them is applied.
     */
    void invalidateAll();
    /**
     * The window closes: like invalidateAll(), and later requests are ignored. Waits up to `timeoutMs`
     * for the running request to return; true when none runs any more.
     */
    bool shutDown(int timeoutMs);
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
    using Task = std::function<std::function<void()>(const CancelToken&)>;
    struct Pending {
        QString channel;
        quint64 generation = 0;
        Task task;
        CancelToken cancel;
    };
    void submitTask(const QString& channel, QObject* context, Task task);
    void loop();
    void deliver(const QString& channel, quint64 generation, QPointer<QObject> context, bool cancelled,
                 std::function<void()> apply);

    // GUI thread only.
    std::map<QString, quint64> m_latest;
    std::map<QString, QPointer<QObject>> m_contexts;
    int m_outstanding = 0;
    // Shared with the worker, under m_mutex.
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_idle; // shutDown(): the running request returned
    std::deque<Pending> m_queue;
    QString m_runningChannel; // the request running now: its channel and token
    CancelToken m_runningCancel;
    bool m_running = false;
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

// The threaded code of core and of the window's lanes, driven hard from several threads: parallelFor,
// the job runner, the interactive lane, the write queue, the preparation's thread pools and the batch
// prefetcher. The normal build runs these as plain tests; tests/tsan.sh builds this program alone
// under ThreadSanitizer, which turns any data race they reach into a failure.
#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "ml/Batches.h"
#include "util/Parallel.h"
#include "WriteQueue.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>
#include <numeric>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QThread>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace faceatlas {
namespace {

namespace fs = std::filesystem;

/** A fresh folder under the system's temporary folder, removed with everything in it at the end. */
class ScratchDir {
public:
    ScratchDir()
    {
        std::random_device random;
        m_path = fs::temp_directory_path() / ("faceatlas-threads-" + std::to_string(random()));
        fs::create_directories(m_path);
    }
    ~ScratchDir()
    {
        std::error_code ignored;
        fs::remove_all(m_path, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
};

/** Delivers queued events until `done()` holds or `timeoutMs` passed; returns done(). */
template <typename Done>
bool processEventsUntil(Done done, int timeoutMs = 60000)
{
    QElapsedTimer clock;
    clock.start();
    while (!done() && clock.elapsed() < timeoutMs) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        QThread::msleep(1);
    }
    return done();
}

TEST(ThreadsTest, ParallelForVisitsEachIndexOnceAndRethrowsTheFirstError)
{
    std::vector<int> visits(100000, 0);
    std::atomic<long long> sum{0};
    parallelFor(visits.size(), 8, [&](size_t i) {
        ++visits[i]; // each index belongs to one thread
        sum += static_cast<long long>(i);
    });
    EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), static_cast<long>(visits.size()));
    EXPECT_EQ(sum.load(), static_cast<long long>(visits.size()) * (static_cast<long long>(visits.size()) - 1) / 2);

    std::atomic<int> after{0};
    EXPECT_THROW(parallelFor(visits.size(), 8,
                             [&](size_t i) {
                                 if (i == 5000)
                                     throw std::runtime_error("index 5000");
                                 ++after;
                             }),
                 std::runtime_error);
    EXPECT_LT(after.load(), static_cast<int>(visits.size())); // the others stopped early
}

TEST(ThreadsTest, TheJobRunnerReportsProgressAndStopsOnCancel)
{
    ui::JobRunner runner;
    std::atomic<qint64> reported{0};
    QObject::connect(&runner, &ui::JobRunner::progress, [&](const QString&, qint64 done, qint64) { reported = done; });
    bool ended = false, cancelled = false;
    const quint64 id = runner.start(
        QStringLiteral("spin"),
        [](const CancelToken& cancel, const ui::JobRunner::Report& report) {
            for (qint64 i = 0; i < 1000000; ++i) {
                if (cancel.isCancelled())
                    return false;
                report(QStringLiteral("spinning"), i, 1000000);
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
            return true;
        },
        [&](bool ok, bool wasCancelled, const QString&) {
            ended = ok;
            cancelled = wasCancelled;
        });
    ASSERT_GT(id, 0u);
    EXPECT_EQ(
        runner.start(QStringLiteral("second"), [](const CancelToken&, const ui::JobRunner::Report&) { return true; }),
        0u); // refused while the first runs
    ASSERT_TRUE(processEventsUntil([&] { return reported.load() > 10; }));
    runner.cancel();
    ASSERT_TRUE(processEventsUntil([&] { return !runner.isRunning(); }));
    EXPECT_TRUE(ended);
    EXPECT_TRUE(cancelled);

    // A job still running when the runner goes (the window closes) is cancelled and waited for.
    std::atomic<bool> stopped{false};
    runner.start(QStringLiteral("left running"), [&](const CancelToken& cancel, const ui::JobRunner::Report&) {
        while (!cancel.isCancelled())
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        stopped = true;
        return false;
    });
    runner.cancelAndWait();
    EXPECT_TRUE(stopped.load());
}

TEST(ThreadsTest, TheInteractiveLaneAppliesOnlyTheNewestRequestOfAChannel)
{
    ui::InteractiveLane lane;
    QObject context;
    std::vector<int> applied; // GUI thread only
    std::atomic<int> started{0};
    for (int i = 0; i < 200; ++i)
        lane.submit<int>(
            QStringLiteral("read"), &context,
            [i, &started](const CancelToken& cancel) {
                ++started;
                for (int step = 0; step < 20 && !cancel.isCancelled(); ++step)
                    std::this_thread::sleep_for(std::chrono::microseconds(100));
                return i;
            },
            [&applied](int value) { applied.push_back(value); }, [](const QString&) {});
    ASSERT_TRUE(lane.waitIdle(60000));
    ASSERT_FALSE(applied.empty());
    EXPECT_EQ(applied.back(), 199);
    EXPECT_LT(started.load(), 200); // waiting requests were replaced, not all run

    // A dataset switch while one runs: it is cancelled and nothing of it is applied.
    std::atomic<bool> running{false};
    bool appliedStale = false;
    lane.submit<int>(
        QStringLiteral("long"), &context,
        [&running](const CancelToken& cancel) {
            running = true;
            while (!cancel.isCancelled())
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            return 1;
        },
        [&appliedStale](int) { appliedStale = true; }, [](const QString&) {});
    ASSERT_TRUE(processEventsUntil([&] { return running.load(); }));
    lane.invalidateAll();
    ASSERT_TRUE(lane.waitIdle(60000));
    EXPECT_FALSE(appliedStale);

    // An error on the lane reaches `fail` on this thread.
    QString error;
    lane.submit<int>(
        QStringLiteral("failing"), &context, []() -> int { throw std::runtime_error("unreadable"); }, [](int) {},
        [&error](const QString& message) { error = message; });
    ASSERT_TRUE(lane.waitIdle(60000));
    EXPECT_EQ(error, QStringLiteral("unreadable"));
    EXPECT_TRUE(lane.shutDown(10000));
}

TEST(ThreadsTest, TheWriteQueueRunsEveryWriteInOrderAndDrainsWhenDestroyed)
{
    auto written = std::make_shared<std::vector<int>>(); // the writer thread's only
    std::vector<int> done;                               // GUI thread only
    QObject context;
    {
        ui::WriteQueue queue;
        for (int i = 0; i < 300; ++i)
            queue.submit<int>(
                &context, std::function<int()>([written, i] {
                    written->push_back(i);
                    return i;
                }),
                [&done](int value) { done.push_back(value); }, [](const QString&) {});
        ASSERT_TRUE(queue.waitWritten(60000));
        QCoreApplication::sendPostedEvents();
        EXPECT_EQ(queue.pending(), 0);
        // Writes left queued when the queue goes are still written.
        for (int i = 300; i < 400; ++i)
            queue.submit<int>(
                &context, std::function<int()>([written, i] {
                    written->push_back(i);
                    return i;
                }),
                [](int) {}, [](const QString&) {});
    }
    std::vector<int> expected(400);
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(*written, expected);
    expected.resize(300);
    EXPECT_EQ(done, expected);
}

/** Prepares the built-in demo on four threads; cancelled mid-way when `cancelAtDone` > 0. */
PrepareResult prepareDemo(const fs::path& dir, int size, size_t cancelAtDone)
{
    PrepareParams params;
    params.source = "demo:120";
    params.outDir = dir;
    params.size = size;
    params.threads = 4;
    // A quality step that keeps every face: its measurements run on the pool too.
    const QualityStep& step = qualitySteps()[0];
    params.quality.threshold[0] = step.isMinimum ? -1e30 : 1e30;
    CancelToken cancel;
    return PrepareJob(params).run(cancel, [&](const JobProgress& progress) {
        if (cancelAtDone > 0 && progress.done >= static_cast<long long>(cancelAtDone))
            cancel.requestCancel();
    });
}

TEST(ThreadsTest, APreparationOnFourThreadsFinishesOrCancelsCleanly)
{
    ScratchDir dir;
    EXPECT_TRUE(prepareDemo(dir.path() / "cancelled", 32, 30).cancelled);
    const PrepareResult result = prepareDemo(dir.path() / "prepared", 32, 0);
    ASSERT_FALSE(result.cancelled);
    EXPECT_GT(PreparedDataset::open(dir.path() / "prepared").count(), 50u);
}

TEST(ThreadsTest, ThePrefetcherHandsOutEveryBatchAndStopsWhenLeftEarly)
{
    ScratchDir dir;
    ASSERT_FALSE(prepareDemo(dir.path(), 16, 0).cancelled);
    const PreparedDataset data = PreparedDataset::open(dir.path());
    std::vector<std::uint32_t> order(data.count());
    std::iota(order.begin(), order.end(), 0u);
    std::atomic<int> transformed{0};
    const BatchPrefetcher::Transform flip = [&transformed](Batch& batch) {
        batch.images = batch.images.flip({3});
        ++transformed;
    };
    size_t seen = 0;
    {
        BatchPrefetcher prefetcher(data, order, 8, flip);
        Batch batch;
        while (prefetcher.next(batch))
            seen += batch.indices.size();
    }
    EXPECT_EQ(seen, order.size());
    // Left after two batches: the destructor stops the producer mid-pass.
    {
        BatchPrefetcher prefetcher(data, order, 4, flip);
        Batch batch;
        ASSERT_TRUE(prefetcher.next(batch));
        ASSERT_TRUE(prefetcher.next(batch));
    }
    EXPECT_GE(transformed.load(), 2);
}

} // namespace
} // namespace faceatlas

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}

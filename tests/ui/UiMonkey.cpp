// faceatlas_ui_monkey: a seeded random walk of what people do in the window, offscreen.
//
//   faceatlas_ui_monkey [--seed S] [--actions N] [--data DIR]
//
// Opens every kind of dataset (the demo, a CSV of real UTKFace faces and the real wiki.mat when
// DIR, default ../shared/data, has them, an empty folder, a folder of non-images, a CSV with bad
// rows), changes thresholds, prepares and re-prepares, switches datasets, trains, stops and resumes,
// encodes, clusters, clicks faces, moves sliders, asks for attention maps, uses the Runs page,
// switches workspace, closes and opens the window again. After every action it checks that the
// window does not contradict itself; it fails (exit 1) on any exception that reached the event
// loop or any contradiction, and a crash fails it anyway. At the end it prints the GUI thread's
// stalls over the whole walk (how late a 20 ms timer fired): p99 and max.
#include "AttentionPage.h"
#include "ClustersPage.h"
#include "data/PreparedDataset.h"
#include "data/Record.h"
#include "DatasetPage.h"
#include "GuardedApplication.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MainWindow.h"
#include "MapColoring.h"
#include "MapPage.h"
#include "PointMapView.h"
#include "ReviewPage.h"
#include "ReviewRows.h"
#include "RunsPage.h"
#include "Session.h"
#include "StallProbe.h"
#include "TrainPage.h"
#include "util/Csv.h"
#include "WriteQueue.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <QAbstractItemModel>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QListView>
#include <QListWidget>
#include <QSlider>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace faceatlas::ui;

namespace {

struct Options {
    std::uint64_t seed = 1;
    int actions = 500;
    QString data;
    bool verbose = false;
};

/** Waits while processing events, `ms` at most. */
void pump(int ms)
{
    QElapsedTimer clock;
    clock.start();
    do {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
        QThread::msleep(1);
    } while (clock.elapsed() < ms);
}

class Monkey {
public:
    Monkey(const Options& options, const QString& root)
        : m_options(options)
        , m_rng(options.seed)
        , m_root(root)
    {
        makeSources();
        m_workspaces = {QDir(root).filePath("workspace-a"), QDir(root).filePath("workspace-b")};
        openWindow();
    }

    int run()
    {
        struct Action {
            const char* name;
            int weight;
            std::function<void()> act;
        };
        const std::vector<Action> actions = {
            {"open a source", 10, [this] { openSource(); }},
            {"change a threshold", 8, [this] { changeThreshold(); }},
            {"prepare", 8, [this] { window().datasetPage()->prepare(); }},
            {"train", 6, [this] { train(false); }},
            {"resume", 3, [this] { train(true); }},
            {"cancel the job", 4, [this] { window().session()->jobs()->cancel(); }},
            {"encode", 3, [this] { window().clustersPage()->encode(); }},
            {"cluster", 3, [this] { cluster(); }},
            {"click a face", 10, [this] { clickFace(); }},
            {"move the opacity slider", 5, [this] { slide(); }},
            {"attention", 5, [this] { attention(); }},
            {"decoded path", 3, [this] { path(); }},
            {"filter and sort the grid", 5, [this] { filterGrid(); }},
            {"predict ages", 3, [this] { window().datasetPage()->predictAll(); }},
            {"runs page", 3, [this] { runsPage(); }},
            {"switch page", 5, [this] { window().showPage(pick(0, MainWindow::SlicesIndex)); }},
            {"compute a map", 3, [this] { window().mapPage()->computeMap(pick(0, 1) ? "pca" : "neighbors"); }},
            {"use the map", 8, [this] { useMap(); }},
            {"audit the labels", 1, [this] { audit(); }},
            {"review a face", 5, [this] { review(); }},
            {"choose a workspace", 1, [this] { workspace(); }},
            {"close and start again", 1, [this] { reopen(); }},
            {"a burst of decisions and excludes, then close", 2, [this] { burstThenClose(); }},
            {"wait for the job", 6, [this] { waitForJob(); }},
            {"wait a moment", 5, [this] { pump(pick(20, 600)); }},
            {"the whole pipeline on the demo", 3, [this] { pipeline(); }},
        };
        int total = 0;
        for (const auto& a : actions)
            total += a.weight;
        for (int step = 0; step < m_options.actions; ++step) {
            int r = pick(0, total - 1);
            const Action* chosen = &actions.front();
            for (const auto& a : actions) {
                if (r < a.weight) {
                    chosen = &a;
                    break;
                }
                r -= a.weight;
            }
            if (m_options.verbose)
                std::printf("%4d %s\n", step, chosen->name);
            MainWindow* before = m_window.get();
            const std::uint64_t mark = before->stallProbe()->taken();
            chosen->act();
            pump(pick(5, 40));
            if (m_window.get() == before) // the worst stall seen during this action, by kind of action
                for (const double late : m_window->stallProbe()->since(mark))
                    m_worstByAction[chosen->name] = std::max(m_worstByAction[chosen->name], late);
            const QString problem = contradiction();
            if (!problem.isEmpty()) {
                std::printf("monkey: after action %d (%s): %s\n", step, chosen->name, qPrintable(problem));
                collectLateness();
                return 1;
            }
        }
        window().session()->jobs()->cancel();
        waitForJob();
        window().session()->lane()->waitIdle(60000);
        pump(50);
        const QString problem = contradiction();
        collectLateness();
        m_window.reset();
        if (!problem.isEmpty()) {
            std::printf("monkey: at the end: %s\n", qPrintable(problem));
            return 1;
        }
        return 0;
    }

    void printStalls() const
    {
        std::printf("monkey: jobs that ended:");
        for (const auto& [title, count] : m_ended)
            std::printf(" %s %d;", qPrintable(title), count);
        std::printf(
            "\nmonkey: %d bursts of decisions and excludes then a close: %zu rows, every one in review.csv; %zu "
            "writes were still queued at the closes",
            m_bursts, m_burstRows, m_burstQueued);
        std::printf("\nmonkey: the longest stall seen during each kind of action (ms):");
        for (const auto& [name, worst] : m_worstByAction)
            std::printf(" %s %.0f;", name.c_str(), worst);
        std::printf("\n");
        std::vector<double> sorted(m_lateness);
        std::sort(sorted.begin(), sorted.end());
        const auto at = [&](double q) {
            return sorted.empty() ? 0.0 : sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
        };
        size_t over250 = 0;
        for (double v : sorted)
            over250 += v > 250;
        std::printf("monkey: seed %llu, %d actions: GUI thread lateness over the whole walk: median %.1f ms, p99 %.1f "
                    "ms, max %.0f ms, %zu stalls over 250 ms, %zu samples; %d exceptions reached the event loop\n",
                    static_cast<unsigned long long>(m_options.seed), m_options.actions, at(0.5), at(0.99),
                    sorted.empty() ? 0.0 : sorted.back(), over250, sorted.size(),
                    GuardedApplication::caughtExceptions());
    }

private:
    MainWindow& window() { return *m_window; }

    int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(m_rng); }

    void openWindow()
    {
        m_window = std::make_unique<MainWindow>();
        m_window->setConfirmClose(false);
        m_window->stallProbe()->start(); // the monkey reports the worst stall of each kind of action
        m_window->session()->setWorkspace(m_workspaces[static_cast<size_t>(m_workspace)]);
        m_window->show();
        QObject::connect(m_window->session()->jobs(), &JobRunner::finished,
                         [this](const QString& title, bool ok, bool cancelled, const QString& error) {
                             const QString what = title.section(' ', 0, 0);
                             if (!ok) // a clear message is the right end for some walks; show which
                                 std::printf("monkey: %s failed: %s\n", qPrintable(title), qPrintable(error.left(200)));
                             ++m_ended[what + (ok ? (cancelled ? " (cancelled)" : "") : " (failed)")];
                         });
        pump(20);
    }

    /** Open, prepare, train both models, encode and cluster, waiting for each: later stages get exercised. */
    void pipeline()
    {
        window().session()->jobs()->cancel();
        waitForJob();
        window().datasetPage()->findChild<QSpinBox*>("imageSize")->setValue(pick(16, 32));
        window().openPath(pick(0, 1) ? "demo:150" : "demo:240");
        waitForJob();
        window().datasetPage()->prepare();
        waitForJob();
        for (const char* model : {"age", "autoencoder"}) {
            window().trainPage()->setModel(model);
            window().trainPage()->setEpochs(1);
            window().trainPage()->start(false);
            waitForJob();
        }
        window().clustersPage()->encode();
        waitForJob();
        cluster();
        waitForJob();
    }

    void collectLateness()
    {
        const std::vector<double> samples = m_window->stallProbe()->since(0);
        m_lateness.insert(m_lateness.end(), samples.begin(), samples.end());
    }

    void reopen()
    {
        collectLateness();
        m_window->close();
        m_window.reset();
        openWindow();
    }

    void makeSources()
    {
        const QDir root(m_root);
        m_sources = {"demo:150", "demo:240"};
        // An empty folder, a folder of files that are not images, a CSV with bad rows.
        root.mkpath("empty");
        m_sources << "folder:" + root.filePath("empty");
        root.mkpath("not-images");
        for (int i = 0; i < 5; ++i)
            std::ofstream(root.filePath(QStringLiteral("not-images/face%1.jpg").arg(i)).toStdString())
                << "not a picture " << i;
        m_sources << "folder:" + root.filePath("not-images");
        {
            std::ofstream csv(root.filePath("bad.csv").toStdString());
            csv << "path,age,gender\n"
                << root.filePath("not-images/face0.jpg").toStdString() << ",nan,M\n"
                << root.filePath("missing.jpg").toStdString() << ",30,F\n"
                << root.filePath("not-images/face1.jpg").toStdString() << ",-5,F\n"
                << root.filePath("not-images/face2.jpg").toStdString() << ",200,M\n"
                << "\"unterminated,4\n";
        }
        m_sources << "csv:" + root.filePath("bad.csv");
        // Real faces and the real IMDB-WIKI metadata (whose images are absent), when they are here.
        const QDir data(m_options.data);
        const QString utk = data.filePath("utkface/labels.csv");
        if (QFileInfo::exists(utk)) {
            std::ifstream in(utk.toStdString());
            std::ofstream out(root.filePath("utk.csv").toStdString());
            std::string header, line;
            std::getline(in, header);
            out << "path,age,gender\n";
            // labels.csv: file,age,gender,... sorted by age; every 31st face (160 of 5,000) keeps the walk quick.
            for (int n = 0; std::getline(in, line); ++n) {
                if (n % 31 != 0)
                    continue;
                const auto comma = line.find(',');
                const auto comma2 = line.find(',', comma + 1);
                const auto comma3 = line.find(',', comma2 + 1);
                if (comma == std::string::npos || comma2 == std::string::npos)
                    continue;
                out << data.filePath("utkface/images/").toStdString() << line.substr(0, comma) << ","
                    << line.substr(comma + 1, comma2 - comma - 1) << ","
                    << line.substr(comma2 + 1, comma3 == std::string::npos ? std::string::npos : comma3 - comma2 - 1)
                    << "\n";
            }
            m_sources << "csv:" + root.filePath("utk.csv");
        } else {
            std::printf("monkey: %s is absent: walking without the real UTKFace sample\n", qPrintable(utk));
        }
        const QString wiki = data.filePath("imdb-wiki-meta/wiki.mat");
        if (QFileInfo::exists(wiki))
            m_sources << "imdb-wiki:" + wiki;
        else
            std::printf("monkey: %s is absent: walking without the real wiki.mat\n", qPrintable(wiki));
    }

    void openSource() { window().openPath(m_sources[pick(0, static_cast<int>(m_sources.size()) - 1)]); }

    void changeThreshold()
    {
        DatasetPage* page = window().datasetPage();
        switch (pick(0, 5)) {
        case 0: page->findChild<QSpinBox*>("imageSize")->setValue(pick(16, 32)); break;
        case 1: page->findChild<QDoubleSpinBox*>("minFaceScore")->setValue(pick(-2, 4) * 0.5); break;
        case 2: page->findChild<QSpinBox*>("ageMin")->setValue(pick(0, 40)); break;
        case 3: page->findChild<QSpinBox*>("ageMax")->setValue(pick(30, 120)); break;
        case 4: page->findChild<QSpinBox*>("minImageSide")->setValue(pick(0, 100)); break;
        default: page->findChild<QDoubleSpinBox*>("validationShare")->setValue(pick(0, 5) * 0.1); break;
        }
    }

    void train(bool resume)
    {
        static const char* const models[] = {"age", "autoencoder", "age-capstone"};
        TrainPage* page = window().trainPage();
        page->setModel(models[pick(0, 2)]);
        page->setEpochs(pick(1, 2));
        page->start(resume);
    }

    void cluster()
    {
        window().clustersPage()->setK(pick(2, 5));
        window().clustersPage()->cluster();
    }

    void clickFace()
    {
        QListView* grid = window().datasetPage()->grid();
        QAbstractItemModel* model = grid->model();
        if (!model || model->rowCount() == 0)
            return;
        window().showPage(0);
        // Persistent: the model may be reset while events run (a job ends), as under a person's pointer.
        const QPersistentModelIndex index(model->index(pick(0, model->rowCount() - 1), 0));
        grid->scrollTo(index);
        pump(5);
        if (!index.isValid())
            return;
        const QRect rect = grid->visualRect(index);
        if (rect.isValid())
            QTest::mouseClick(grid->viewport(), Qt::LeftButton, {}, rect.center());
    }

    /** A gesture on the map as a person makes it: a lasso, a rectangle, a pan, a zoom, a click, a colour. */
    void useMap()
    {
        MapPage* page = window().mapPage();
        PointMapView* view = page->view();
        window().showPage(MainWindow::MapIndex);
        pump(5);
        const QPoint a(pick(0, view->width() - 1), pick(0, view->height() - 1));
        const QPoint b(pick(0, view->width() - 1), pick(0, view->height() - 1));
        const auto drag = [&](Qt::MouseButton button, Qt::KeyboardModifiers modifiers) {
            QMouseEvent press(QEvent::MouseButtonPress, a, view->mapToGlobal(a), button, button, modifiers);
            QCoreApplication::sendEvent(view, &press);
            for (int i = 1; i <= 6; ++i) {
                const QPoint at = a + (b - a) * i / 6 + QPoint(pick(-20, 20), pick(-20, 20));
                QMouseEvent move(QEvent::MouseMove, at, view->mapToGlobal(at), Qt::NoButton, button, modifiers);
                QCoreApplication::sendEvent(view, &move);
            }
            QMouseEvent release(QEvent::MouseButtonRelease, b, view->mapToGlobal(b), button, Qt::NoButton, modifiers);
            QCoreApplication::sendEvent(view, &release);
        };
        switch (pick(0, 8)) {
        case 0:
            view->setTool(PointMapView::Tool::Lasso);
            drag(Qt::LeftButton, {});
            break;
        case 1:
            view->setTool(PointMapView::Tool::Rectangle);
            drag(Qt::LeftButton, Qt::ShiftModifier);
            break;
        case 2: drag(Qt::MiddleButton, {}); break;
        case 3: {
            QWheelEvent wheel(a, view->mapToGlobal(a), {}, QPoint(0, 120 * pick(-3, 3)), Qt::NoButton, {},
                              Qt::NoScrollPhase, false);
            QCoreApplication::sendEvent(view, &wheel);
            break;
        }
        case 4: QTest::mouseClick(view, Qt::LeftButton, {}, a); break;
        case 5: page->setColorBy(mapColumnNames().at(pick(0, static_cast<int>(mapColumnNames().size()) - 1))); break;
        case 6: page->similarTo(pick(0, 400)); break;
        case 7: page->clusterSelection(); break;
        default: QTest::keyClick(view, pick(0, 1) ? Qt::Key_Escape : Qt::Key_0); break;
        }
    }

    /** A short audit (2 folds of 1 epoch): what the Review page needs. */
    void audit()
    {
        ReviewPage* page = window().reviewPage();
        window().showPage(MainWindow::ReviewIndex);
        page->findChild<QSpinBox*>("folds")->setValue(2);
        page->findChild<QSpinBox*>("epochs")->setValue(1);
        page->audit();
    }

    /** A decision on the Review page, from the keyboard or the mouse, or another reason to filter by. */
    void review()
    {
        ReviewPage* page = window().reviewPage();
        window().showPage(MainWindow::ReviewIndex);
        if (page->queueCount() > 0)
            page->selectItem(pick(0, page->queueCount() - 1));
        switch (pick(0, 6)) {
        case 0: QTest::keyClick(page, Qt::Key_K); break;
        case 1: QTest::keyClick(page, Qt::Key_X); break;
        case 2: page->correctAge(pick(0, 116)); break;
        case 3: page->correctGender(pick(0, 1) == 1); break;
        case 4: page->keepOnlyThisCopy(); break;
        case 5: {
            auto* reasons = page->findChild<QComboBox*>("reasonFilter");
            if (reasons->count() > 0)
                reasons->setCurrentIndex(pick(0, reasons->count() - 1));
            break;
        }
        default: window().mapPage()->excludeSelection(); break;
        }
    }

    using ReviewRow = faceatlas::test::ReviewRow;
    static std::vector<ReviewRow> reviewRows(const QString& file) { return faceatlas::test::reviewRows(file); }

    /**
     * Decisions and map Excludes as fast as the events are delivered, then the window is closed at
     * once (writes still queued) and a new one opened: review.csv must end with exactly what was
     * decided, in order.
     */
    void burstThenClose()
    {
        ReviewPage* page = window().reviewPage();
        MapPage* map = window().mapPage();
        if (page->queueCount() == 0) { // a short audit first: the queue the decisions are made in
            window().session()->jobs()->cancel();
            waitForJob();
            if (!window().session()->dataset() || window().session()->dataset()->count() < 40) {
                window().openPath("demo:150");
                waitForJob();
                window().datasetPage()->prepare();
                waitForJob();
            }
            audit();
            waitForJob();
            window().session()->lane()->waitIdle(30000);
        }
        const auto* data = window().session()->dataset();
        if (!data || page->queueCount() == 0)
            return;
        window().showPage(MainWindow::ReviewIndex);
        window().session()->writer()->waitWritten(60000); // what earlier actions wrote comes first
        const QString file = page->reviewFile();
        const size_t before = reviewRows(file).size();
        std::vector<ReviewRow> expected;
        const int decisions = pick(20, 200);
        auto* queue = page->findChild<QListWidget*>("queue");
        QApplication::setActiveWindow(m_window.get());
        for (int i = 0; i < decisions; ++i) {
            if (map->hasMap() && map->view()->pointCount() == static_cast<qint64>(data->count()) && pick(0, 9) == 0) {
                std::vector<char> mask(data->count(), 0);
                const int first = pick(0, static_cast<int>(data->count()) - 1);
                for (int r = first; r < first + pick(1, 30) && r < static_cast<int>(data->count()); ++r)
                    mask[static_cast<size_t>(r)] = 1;
                map->view()->setSelection(mask);
                for (const qint64 row : map->selectedRows())
                    expected.emplace_back(faceatlas::recordKey(data->records()[static_cast<size_t>(row)]), "exclude",
                                          "");
                map->excludeSelection();
            }
            const qint64 face = page->currentFace();
            if (face < 0 || face >= static_cast<qint64>(data->count()))
                break;
            const std::string path = faceatlas::recordKey(data->records()[static_cast<size_t>(face)]);
            queue->setFocus();
            switch (pick(0, 4)) {
            case 0:
                QTest::keyClick(queue, Qt::Key_K);
                expected.emplace_back(path, "keep", "");
                break;
            case 1:
                QTest::keyClick(queue, Qt::Key_X);
                expected.emplace_back(path, "exclude", "");
                break;
            case 2:
                QTest::keyClick(queue, Qt::Key_M);
                expected.emplace_back(path, "gender", "M");
                break;
            case 3:
                QTest::keyClick(queue, Qt::Key_F);
                expected.emplace_back(path, "gender", "F");
                break;
            default: {
                const int age = pick(0, 116);
                page->correctAge(age);
                expected.emplace_back(path, "age", std::to_string(age));
                break;
            }
            }
        }
        const int queued = window().session()->writer()->pending();
        collectLateness();
        m_window->close();
        m_window.reset(); // as the application ends after its window closed
        const std::vector<ReviewRow> rows = reviewRows(file);
        const std::vector<ReviewRow> written(rows.begin() + static_cast<std::ptrdiff_t>(std::min(before, rows.size())),
                                             rows.end());
        ++m_bursts;
        m_burstRows += expected.size();
        m_burstQueued += static_cast<size_t>(queued);
        if (written != expected) {
            std::printf("monkey: a burst of %zu decisions (%d still queued at the close) left %zu rows in %s\n",
                        expected.size(), queued, written.size(), qPrintable(file));
            m_lostWrites = true;
        } else if (m_options.verbose) {
            std::printf("     %zu decisions written, %d of them were queued at the close\n", expected.size(), queued);
        }
        openWindow();
    }

    void slide()
    {
        window().showPage(MainWindow::AttentionIndex);
        auto* slider = window().attentionPage()->findChild<QSlider*>();
        for (int i = 0; i < 10; ++i) { // a drag: many values in a row
            slider->setValue(pick(0, 100));
            QCoreApplication::processEvents();
        }
    }

    void attention()
    {
        AttentionPage* page = window().attentionPage();
        window().showPage(MainWindow::AttentionIndex);
        page->setCluster(pick(0, 3) == 0 ? pick(0, 3) : -1);
        auto combos = page->findChildren<QComboBox*>();
        if (!combos.isEmpty()) {
            QComboBox* combo = combos[pick(0, static_cast<int>(combos.size()) - 1)];
            if (combo->count() > 0)
                combo->setCurrentIndex(pick(0, combo->count() - 1));
        }
        page->setFace(pick(0, 400));
    }

    void path() { window().clustersPage()->setInterpolation(pick(0, 4), pick(0, 4)); }

    void filterGrid()
    {
        DatasetPage* page = window().datasetPage();
        switch (pick(0, 3)) {
        case 0: page->findChild<QSpinBox*>("filterAgeLow")->setValue(pick(0, 50)); break;
        case 1: page->findChild<QSpinBox*>("filterAgeHigh")->setValue(pick(20, 120)); break;
        case 2: page->findChild<QComboBox*>("filterGender")->setCurrentIndex(pick(0, 2)); break;
        default: page->findChild<QComboBox*>("sortBy")->setCurrentIndex(pick(0, 3)); break;
        }
    }

    void runsPage()
    {
        window().showPage(MainWindow::RunsIndex);
        window().runsPage()->refresh();
        if (pick(0, 1))
            window().runsPage()->selectAll();
    }

    void workspace()
    {
        m_workspace = 1 - m_workspace;
        window().session()->setWorkspace(m_workspaces[static_cast<size_t>(m_workspace)]);
    }

    void waitForJob()
    {
        QElapsedTimer clock;
        clock.start();
        while (window().session()->jobs()->isRunning() && clock.elapsed() < 120000)
            pump(20);
    }

    /** What the window shows against what it has open; empty when they agree. */
    QString contradiction()
    {
        if (m_lostWrites)
            return QStringLiteral("review.csv does not hold exactly the decisions made before the close");
        if (GuardedApplication::caughtExceptions() > 0)
            return QStringLiteral("an exception reached the event loop: %1").arg(GuardedApplication::lastException());
        Session* session = window().session();
        const auto* data = session->dataset();
        DatasetPage* page = window().datasetPage();
        if (page->gridDataset() != data)
            return QStringLiteral("the grid shows another dataset than the one open");
        const size_t count = data ? data->count() : 0;
        if (static_cast<size_t>(page->faceCount()) != count)
            return QStringLiteral("the grid has %1 rows, the open dataset %2 faces").arg(page->faceCount()).arg(count);
        if (page->shownFace() >= static_cast<qint64>(count))
            return QStringLiteral("the face panel shows face %1 of a dataset of %2").arg(page->shownFace()).arg(count);
        // A clustering shown as the open dataset's must have been made from this very preparation.
        if (!session->clusterLabels().empty()) {
            QFile metrics(QDir(session->clustersDir()).filePath("metrics.json"));
            if (!metrics.open(QIODevice::ReadOnly))
                return QStringLiteral("cluster labels without a readable clustering");
            const auto json = nlohmann::json::parse(metrics.readAll().toStdString(), nullptr, false);
            if (json.is_discarded()
                || json.value("data_fingerprint", std::string()) != session->datasetFingerprint().toStdString())
                return QStringLiteral("the cluster labels shown are of another preparation");
        }
        if (!session->predictions().empty() && session->predictions().size() != count)
            return QStringLiteral("%1 predictions for %2 faces").arg(session->predictions().size()).arg(count);
        if (!session->clusterLabels().empty() && session->clusterLabels().size() != count)
            return QStringLiteral("%1 cluster labels for %2 faces").arg(session->clusterLabels().size()).arg(count);
        if (data && session->datasetDir().isEmpty())
            return QStringLiteral("a dataset is open without a folder");
        return {};
    }

    Options m_options;
    std::mt19937_64 m_rng;
    QString m_root;
    QStringList m_sources;
    std::vector<QString> m_workspaces;
    int m_workspace = 0;
    std::unique_ptr<MainWindow> m_window;
    std::vector<double> m_lateness;
    std::map<QString, int> m_ended;
    std::map<std::string, double> m_worstByAction;
    bool m_lostWrites = false;
    int m_bursts = 0; // bursts of decisions checked against review.csv, their rows, and writes queued at each close
    size_t m_burstRows = 0, m_burstQueued = 0;
};

} // namespace

int main(int argc, char** argv)
{
    Options options;
    options.data = QStringLiteral(FACEATLAS_SHARED_DATA);
    if (const char* env = std::getenv("FACEATLAS_SHARED_DATA"))
        options.data = QString::fromLocal8Bit(env);
    for (int i = 1; i < argc; ++i) {
        const auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "faceatlas_ui_monkey: %s needs a value\n", argv[i]);
                std::exit(2);
            }
            return argv[++i];
        };
        if (!std::strcmp(argv[i], "--seed"))
            options.seed = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(argv[i], "--actions"))
            options.actions = std::atoi(value());
        else if (!std::strcmp(argv[i], "--data"))
            options.data = QString::fromLocal8Bit(value());
        else if (!std::strcmp(argv[i], "--verbose"))
            options.verbose = true;
        else {
            std::fprintf(stderr, "usage: faceatlas_ui_monkey [--seed S] [--actions N] [--data DIR] [--verbose]\n");
            return 2;
        }
    }
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QTemporaryDir root;
    if (!root.isValid())
        return 2;
    // Everything the walk writes stays in the temporary folder: settings, cache, workspaces.
    qputenv("XDG_CONFIG_HOME", root.filePath("config").toLocal8Bit());
    qputenv("FACEATLAS_CACHE_DIR", root.filePath("cache").toLocal8Bit());
    GuardedApplication app(argc, argv);
    GuardedApplication::setShowMessages(false);
    QCoreApplication::setOrganizationName("FaceAtlasMonkey");
    QCoreApplication::setApplicationName("FaceAtlasMonkey");
    int rc = 0;
    {
        Monkey monkey(options, root.path());
        rc = monkey.run();
        monkey.printStalls();
    }
    std::printf("monkey: %s\n", rc == 0 ? "passed" : "FAILED");
    return rc;
}

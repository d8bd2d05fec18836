// Drives the real window under QT_QPA_PLATFORM=offscreen: what a person would click, what they would see.
#include "MainWindow.h"
#include "analysis/ReviewOrder.h"
#include "analysis/SliceJob.h"
#include "AttentionPage.h"
#include "ClustersPage.h"
#include "CrossDatasetTable.h"
#include "data/ClusterSummaries.h"
#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "data/Readers.h"
#include "data/Record.h"
#include "data/ReviewFile.h"
#include "DatasetPage.h"
#include "ForestPlot.h"
#include "GuardedApplication.h"
#include "HistoryPanel.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MapColoring.h"
#include "MapPage.h"
#include "ml/AgeMatrix.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "PointMapView.h"
#include "ReviewPage.h"
#include "ReviewRows.h"
#include "RunsPage.h"
#include "RunStatus.h"
#include "Session.h"
#include "SlicesPage.h"
#include "StallProbe.h"
#include "ThumbnailModel.h"
#include "TrainPage.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "WaitForJob.h"
#include "WorkspaceDialog.h"
#include "WriteQueue.h"

#include "Charts.h"
#include <map>
#include <nlohmann/json.hpp>
#include <QApplication>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QListView>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScatterSeries>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QtTest>
#include <QValueAxis>
#include <random>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <tuple>

using namespace faceatlas::ui;

class MainWindowTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;

    /** Waits for the running job to end; true when it ended well. */
    bool waitForJob(int seconds = 240) { return faceatlas::test::waitForJob(*m_window, seconds); }

    /** Waits for the write queue to be empty, then runs what the writes delivered to the GUI thread. */
    bool waitWritten()
    {
        if (!m_window->session()->writer()->waitWritten(60000))
            return false;
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
        return true;
    }

    static QSet<QString> asSet(const QStringList& list) { return QSet<QString>(list.begin(), list.end()); }

    /**
     * Empty when every adjacent pair of the grid's rows is in order by `role` (largest first when
     * `descending`), the faces without the value (an invalid QVariant) all last; else the first pair that is not.
     */
    static QString unsortedPair(const QAbstractItemModel* grid, int role, bool descending)
    {
        for (int row = 0; row + 1 < grid->rowCount(); ++row) {
            const QVariant a = grid->index(row, 0).data(role), b = grid->index(row + 1, 0).data(role);
            const bool inOrder = !b.isValid()   ? true
                                 : !a.isValid() ? false
                                 : descending   ? a.toDouble() >= b.toDouble()
                                                : a.toDouble() <= b.toDouble();
            if (!inOrder)
                return QStringLiteral("rows %1 and %2 of %3: %4 then %5 (%6)")
                    .arg(row)
                    .arg(row + 1)
                    .arg(grid->rowCount())
                    .arg(a.isValid() ? a.toString() : QStringLiteral("none"), b.isValid() ? b.toString() : "none",
                         descending ? "descending" : "ascending");
        }
        return {};
    }

    using ReviewRow = faceatlas::test::ReviewRow;
    static std::vector<ReviewRow> reviewRows(const QString& file) { return faceatlas::test::reviewRows(file); }

    /** A prepared dataset in m_window (the demo), whatever ran before. */
    void ensureDataset()
    {
        if (m_window->session()->dataset() && m_window->session()->dataset()->count() > 100)
            return;
        m_window->openPath("demo:300");
        QVERIFY(waitForJob());
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset());
    }

    /** An age run that fits the open dataset. */
    void ensureAgeRun()
    {
        ensureDataset();
        const QString run = m_window->session()->latestRun("age");
        if (!run.isEmpty() && m_window->session()->runMismatch(run).isEmpty())
            return;
        m_window->trainPage()->setModel("age");
        m_window->trainPage()->setEpochs(1);
        m_window->trainPage()->start();
        QVERIFY(waitForJob());
    }

    /** An audit (the review queue) and a map of the open preparation. */
    void ensureAuditAndMap()
    {
        ensureDataset();
        InteractiveLane* lane = m_window->session()->lane();
        QVERIFY(lane->waitIdle(60000));
        ReviewPage* review = m_window->reviewPage();
        if (review->queueCount() == 0) {
            review->findChild<QSpinBox*>("folds")->setValue(2);
            review->findChild<QSpinBox*>("epochs")->setValue(1);
            review->audit();
            QVERIFY(waitForJob(600));
            QVERIFY(lane->waitIdle(60000));
            QVERIFY2(review->queueCount() > 0, qPrintable(review->statusText()));
        }
        MapPage* map = m_window->mapPage();
        if (!map->hasMap()) {
            const QString run = m_window->session()->latestRun("autoencoder");
            if (run.isEmpty() || !m_window->session()->runMismatch(run).isEmpty()) {
                m_window->trainPage()->setModel("autoencoder");
                m_window->trainPage()->setEpochs(1);
                m_window->trainPage()->start();
                QVERIFY(waitForJob());
            }
            m_window->clustersPage()->encode();
            QVERIFY(waitForJob());
            map->computeMap("pca");
            QVERIFY(waitForJob());
            QVERIFY(lane->waitIdle(60000));
            QVERIFY2(map->hasMap(), qPrintable(map->statusText()));
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        qputenv("FACEATLAS_CACHE_DIR", m_dir.filePath("cache").toLocal8Bit());
        qputenv("XDG_CONFIG_HOME", m_dir.filePath("config").toLocal8Bit());
        QCoreApplication::setOrganizationName("FaceAtlasTest");
        QCoreApplication::setApplicationName("FaceAtlasTest");
        m_window = std::make_unique<MainWindow>();
        m_window->session()->setWorkspace(m_dir.filePath("workspace"));
        m_window->show();
    }

    void fileMenuOpensEveryKindOfSource()
    {
        QMenu* file = m_window->menuBar()->actions().constFirst()->menu();
        QVERIFY(file);
        QStringList texts;
        for (const QAction* action : file->actions())
            texts << action->text();
        for (const char* text : {"Open the &demo dataset", "Open IMDB-WIKI &.mat...", "Open &UTKFace folder...",
                                 "Open &CSV...", "Open a &folder of images...", "&Recent", "Choose &workspace..."})
            QVERIFY2(texts.contains(QString::fromLatin1(text)), text);
        // The common actions from the keyboard.
        QMap<QString, QString> shortcuts;
        for (QAction* menu : m_window->menuBar()->actions())
            if (menu->menu())
                for (const QAction* action : menu->menu()->actions())
                    if (!action->shortcut().isEmpty())
                        shortcuts[action->shortcut().toString()] = action->text();
        for (const char* key : {"Ctrl+O", "Ctrl+D", "Ctrl+P", "Ctrl+T", "Ctrl+.", "Ctrl+F", "Ctrl+PgDown", "Ctrl+PgUp"})
            QVERIFY2(shortcuts.contains(QString::fromLatin1(key)), key);
    }

    void openDemoFillsTheGrid()
    {
        m_window->openPath("demo:300");
        QVERIFY(waitForJob());
        auto* steps = m_window->datasetPage()->findChild<QTableWidget*>();
        QVERIFY(steps);
        QCOMPARE(steps->rowCount(), 7); // the capstone's five, then the turned and the small faces
        // A stricter face-score threshold removes more at that step, live.
        const int before = steps->item(2, 1)->text().toInt();
        // By name: the page has other spin boxes (the quality steps' thresholds, the grid's quality range).
        auto* minScore = m_window->datasetPage()->findChild<QDoubleSpinBox*>("minFaceScore");
        QVERIFY(minScore);
        minScore->setValue(3.0);
        QVERIFY(m_window->session()->lane()->waitIdle(30000)); // counted on the lane (previewSteps)
        QVERIFY(steps->item(2, 1)->text().toInt() > before);
        minScore->setValue(1.0);
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset() != nullptr);
        QCOMPARE(static_cast<size_t>(m_window->datasetPage()->faceCount()), m_window->session()->dataset()->count());
        QVERIFY(m_window->datasetPage()->faceCount() > 100);
    }

    void qualityColumnsSortFilterAndColourTheGrid()
    {
        // Issue 29: the quality columns Prepare measured on each stored face sort and filter the grid
        // and colour the map; a preparation without them says how to get them.
        ensureDataset();
        DatasetPage* page = m_window->datasetPage();
        QVERIFY(m_window->session()->lane()->waitIdle(30000)); // quality.f32 is read on the lane
        const auto data = m_window->session()->sharedDataset();
        const faceatlas::FaceQuality quality = faceatlas::readPreparedQuality(*data);
        QCOMPARE(quality.rows, data->count());
        const QAbstractItemModel* grid = page->grid()->model();
        const int count = grid->rowCount();
        QCOMPARE(static_cast<size_t>(count), data->count());
        const auto valueAt = [&](int row, size_t column) {
            const auto face = static_cast<size_t>(grid->index(row, 0).data(ThumbnailModel::IndexRole).toLongLong());
            return quality.at(face, column);
        };

        // Sorted by sharpness: the least sharp first (its natural order), then the sharpest first.
        auto* sortBy = page->findChild<QComboBox*>("sortBy");
        auto* descending = page->findChild<QCheckBox*>("descending");
        sortBy->setCurrentIndex(sortBy->findText("Sort by sharpness"));
        QVERIFY(sortBy->currentIndex() > 0);
        QVERIFY(!descending->isChecked());
        for (int row = 0; row + 1 < count; ++row)
            QVERIFY2(valueAt(row, 0) <= valueAt(row + 1, 0), qPrintable(QString::number(row)));
        QVERIFY(valueAt(0, 0) < valueAt(count - 1, 0));
        descending->setChecked(true);
        for (int row = 0; row + 1 < count; ++row)
            QVERIFY2(valueAt(row, 0) >= valueAt(row + 1, 0), qPrintable(QString::number(row)));
        // BRISQUE's natural order is the worst (highest) first.
        sortBy->setCurrentIndex(sortBy->findText("Sort by brisque"));
        QVERIFY(descending->isChecked());
        QVERIFY(valueAt(0, 4) >= valueAt(count - 1, 4));

        // A range of one column: exactly the faces whose value lies in it.
        auto* filterQuality = page->findChild<QComboBox*>("filterQuality");
        auto* low = page->findChild<QDoubleSpinBox*>("qualityLow");
        auto* high = page->findChild<QDoubleSpinBox*>("qualityHigh");
        QVERIFY(filterQuality && low && high);
        QVERIFY(filterQuality->isVisibleTo(page));
        filterQuality->setCurrentIndex(filterQuality->findText("contrast"));
        QVERIFY(low->isVisibleTo(page) && high->isVisibleTo(page));
        QCOMPARE(grid->rowCount(), count); // the boxes start at the column's whole range
        std::vector<float> contrast = quality.column(2);
        std::sort(contrast.begin(), contrast.end());
        low->setValue(contrast[contrast.size() / 4]);
        high->setValue(contrast[contrast.size() * 3 / 4]);
        int expected = 0;
        for (size_t i = 0; i < quality.rows; ++i)
            expected += quality.at(i, 2) >= low->value() && quality.at(i, 2) <= high->value();
        QVERIFY(expected > 0 && expected < count);
        QCOMPARE(grid->rowCount(), expected);
        for (int row = 0; row < grid->rowCount(); ++row)
            QVERIFY(valueAt(row, 2) >= low->value() && valueAt(row, 2) <= high->value());
        filterQuality->setCurrentIndex(0);
        QCOMPARE(grid->rowCount(), count);
        sortBy->setCurrentIndex(0);

        // The map coloured by sharpness: a continuous colouring of every face, the blurred apart from the sharp.
        MapColumns columns;
        columns.data = data;
        columns.quality = qualityOf(data);
        const QString bySharpness = qualityColumnPrefix() + QStringLiteral("sharpness");
        QVERIFY(mapColumnNames().contains(bySharpness));
        const MapColoring coloring = colorPoints(bySharpness, columns);
        QVERIFY2(coloring.missing.isEmpty(), qPrintable(coloring.missing));
        QCOMPARE(coloring.colors.size(), data->count());
        const std::vector<float> sharpness = quality.column(0);
        const auto [least, most] = std::minmax_element(sharpness.begin(), sharpness.end());
        QVERIFY(coloring.colors[static_cast<size_t>(least - sharpness.begin())]
                != coloring.colors[static_cast<size_t>(most - sharpness.begin())]);
        // A preparation from before the quality columns: no colours, and a message that says why.
        columns.quality = std::make_shared<const faceatlas::FaceQuality>();
        const MapColoring none = colorPoints(bySharpness, columns);
        QVERIFY2(none.missing.contains("prepare it again"), qPrintable(none.missing));
    }

    void trainingDrawsTheChartAndListsTheRun()
    {
        TrainPage* train = m_window->trainPage();
        train->setModel("age");
        train->setEpochs(1);
        train->start();
        QVERIFY(waitForJob());
        QCOMPARE(train->epochPoints(), 1);
        m_window->runsPage()->refresh();
        QVERIFY(m_window->runsPage()->runCount() >= 1);
    }

    void clusteringShowsGalleriesAndCentroids()
    {
        TrainPage* train = m_window->trainPage();
        train->setModel("autoencoder");
        train->setEpochs(1);
        train->start();
        QVERIFY(waitForJob());
        m_window->clustersPage()->encode();
        QVERIFY(waitForJob());
        m_window->clustersPage()->setK(3);
        m_window->clustersPage()->cluster();
        QVERIFY(waitForJob());
        QCOMPARE(m_window->clustersPage()->clusterCount(), 3);
        // The summary names the codes and the autoencoder run the clustering shows.
        const QString run = QFileInfo(m_window->session()->latestRun("autoencoder")).fileName();
        QVERIFY2(m_window->clustersPage()->summaryText().contains("encoded with autoencoder run " + run),
                 qPrintable(m_window->clustersPage()->summaryText()));
        const QDir dir(m_window->session()->clustersDir());
        QVERIFY(!QPixmap(dir.filePath("galleries/0.png")).isNull());
        // The selected cluster's faces are there to click: one opens on the Attention page.
        m_window->clustersPage()->selectCluster(0);
        QVERIFY(m_window->clustersPage()->memberCount() > 0);
        auto* members = m_window->clustersPage()->findChild<QListWidget*>("members");
        QSignalSpy chosen(m_window->clustersPage(), &ClustersPage::faceChosen);
        Q_EMIT members->itemClicked(members->item(0));
        QCOMPARE(chosen.count(), 1);
        QVERIFY(!QPixmap(dir.filePath("centroids/0.png")).isNull());
        // The path between any two clusters is drawn from the saved centres, and changes with them.
        QVERIFY(m_window->session()->lane()->waitIdle(60000)); // the centres are opened on the lane
        m_window->clustersPage()->setInterpolation(0, 1);
        QVERIFY(m_window->session()->lane()->waitIdle(60000));
        const QImage first = m_window->clustersPage()->interpolationPixmap().toImage();
        QVERIFY(!first.isNull());
        m_window->clustersPage()->setInterpolation(0, 2);
        QVERIFY(m_window->session()->lane()->waitIdle(60000));
        const QImage second = m_window->clustersPage()->interpolationPixmap().toImage();
        QVERIFY(!second.isNull());
        QVERIFY(first != second);
    }

    void clusterNamesAreEditedKeptAndShownEverywhere()
    {
        // The clustering of clusteringShowsGalleriesAndCentroids (k = 3) wrote its names file.
        ClustersPage* clusters = m_window->clustersPage();
        Session* session = m_window->session();
        const QString dir = session->clustersDir();
        QVERIFY(QFileInfo::exists(dir + "/cluster_names.json"));
        QVERIFY(session->clusterSummaries());
        QCOMPARE(static_cast<int>(session->clusterSummaries()->clusters.size()), clusters->clusterCount());
        // Each cluster's line shows its automatic label; the selected one's summary its figures.
        const QString label = QString::fromStdString(session->clusterSummaries()->clusters[1].label);
        QVERIFY2(clusters->clusterText(1).contains(label), qPrintable(clusters->clusterText(1)));
        clusters->selectCluster(1);
        QVERIFY2(clusters->clusterSummaryText().contains("faces")
                     && clusters->clusterSummaryText().contains(label.toHtmlEscaped()),
                 qPrintable(clusters->clusterSummaryText()));
        // Named in its field: at once in the list, the grid's filter and the map's legend; then written.
        auto* name = clusters->findChild<QLineEdit*>("clusterName");
        QVERIFY(name && name->isEnabled());
        name->setText("  Grey & smiling ");
        Q_EMIT name->editingFinished();
        QVERIFY2(clusters->clusterText(1).contains("Grey & smiling"), qPrintable(clusters->clusterText(1)));
        auto* filter = m_window->datasetPage()->findChild<QComboBox*>("filterCluster");
        QVERIFY(filter);
        QCOMPARE(filter->itemText(filter->findData(1)), QStringLiteral("Cluster 1 · Grey & smiling"));
        MapColumns columns;
        columns.data = session->sharedDataset();
        columns.clusters = session->sharedClusterLabels();
        columns.clusterNames = session->clusterSummaries();
        const MapColoring coloring = colorPoints("cluster", columns);
        QCOMPARE(coloring.legend.entries.size(), size_t(3));
        QCOMPARE(coloring.legend.entries[1].second, QStringLiteral("1 · Grey & smiling"));
        QCOMPARE(coloring.legend.entries[0].second,
                 QStringLiteral("0 · %1").arg(QString::fromStdString(session->clusterSummaries()->clusters[0].label)));
        QVERIFY(session->writer()->waitWritten(30000));
        QCoreApplication::sendPostedEvents();
        QCOMPARE(faceatlas::readClusterNames(dir.toStdString(), 3).clusters[1].name, std::string("Grey & smiling"));
        // Exported: assignments.csv and its JSON companion with the name.
        const QString exported = m_dir.filePath("exported-assignments.csv");
        clusters->exportAssignments(exported);
        QVERIFY(session->writer()->waitWritten(30000));
        QCoreApplication::sendPostedEvents();
        QVERIFY(QFileInfo::exists(exported));
        const auto companion =
            nlohmann::json::parse(faceatlas::readFile(m_dir.filePath("exported-assignments.json").toStdString()));
        QCOMPARE(companion.at("clusters").at(1).at("name").get<std::string>(), std::string("Grey & smiling"));
        // A name with a line break is refused, and said so; the saved one stays.
        name->setText("two\nlines");
        Q_EMIT name->editingFinished();
        QVERIFY(clusters->findChild<QLabel*>("nameStatus")->text().contains("control characters"));
        QCOMPARE(QString::fromStdString(session->clusterSummaries()->clusters[1].name),
                 QStringLiteral("Grey & smiling"));

        // Closed and opened again: the name is still there, in the list and in its field.
        QSettings().setValue("session/running", false);
        {
            MainWindow again;
            QVERIFY(faceatlas::test::waitForJob(again));
            QCOMPARE(again.session()->clustersDir(), dir);
            QVERIFY2(again.clustersPage()->clusterText(1).contains("Grey & smiling"),
                     qPrintable(again.clustersPage()->clusterText(1)));
            again.clustersPage()->selectCluster(1);
            QCOMPARE(again.clustersPage()->findChild<QLineEdit*>("clusterName")->text(),
                     QStringLiteral("Grey & smiling"));
        }
        // A hostile names file: the window opens, says what is wrong naming the file, shows no names,
        // and writes nothing over it.
        const QString file = dir + "/cluster_names.json";
        const std::string good = faceatlas::readFile(file.toStdString());
        faceatlas::writeFileAtomic(file.toStdString(), "{\"format\": \"faceatlas-cluster-names 1\", \"clusters\": []}");
        {
            MainWindow again;
            QVERIFY(faceatlas::test::waitForJob(again));
            QVERIFY(!again.session()->clusterSummaries());
            QVERIFY2(again.session()->clusterNamesNote().contains(file + ": holds 0 clusters; the clustering has 3"),
                     qPrintable(again.session()->clusterNamesNote()));
            again.clustersPage()->selectCluster(1);
            QVERIFY(again.clustersPage()->findChild<QLabel*>("nameStatus")->text().contains("cluster_names.json"));
            QVERIFY(!again.clustersPage()->findChild<QLineEdit*>("clusterName")->isEnabled());
            QVERIFY(!again.session()->renameCluster(1, "x").isEmpty());
            QVERIFY(again.session()->writer()->waitWritten(30000));
            QVERIFY(again.clustersPage()->clusterText(1).startsWith("#1  ")); // the figures, by number
        }
        QCOMPARE(faceatlas::readFile(file.toStdString()),
                 std::string("{\"format\": \"faceatlas-cluster-names 1\", \"clusters\": []}"));
        faceatlas::writeFileAtomic(file.toStdString(), good);
        QSettings().setValue("session/running", true);
    }

    void theSweepMarksItsKAndAClickShowsAnother()
    {
        ClustersPage* clusters = m_window->clustersPage();
        clusters->sweep(2, 4);
        QVERIFY(waitForJob());
        QChart* chart = clusters->sweepView()->chart();
        QVERIFY(clusters->sweepView()->isVisibleTo(clusters));
        QScatterSeries* chosen = nullptr;
        QXYSeries* silhouette = nullptr;
        for (QAbstractSeries* series : chart->series()) {
            if (series->name().startsWith("chosen k"))
                chosen = qobject_cast<QScatterSeries*>(series);
            if (series->name() == "silhouette")
                silhouette = qobject_cast<QXYSeries*>(series);
        }
        QVERIFY(chosen && silhouette);
        QCOMPARE(chosen->count(), 1);
        const int k = static_cast<int>(chosen->at(0).x());
        QCOMPARE(clusters->clusterCount(), k);
        const int other = k == 2 ? 3 : 2;
        Q_EMIT silhouette->clicked(QPointF(other, 0.1));
        QVERIFY(waitForJob());
        QCOMPARE(clusters->clusterCount(), other);
        clusters->setK(3);
        clusters->cluster();
        QVERIFY(waitForJob());
    }

    /** Mouse events with the button held, as a person drags (QTest's moves carry no buttons). */
    static void drag(QWidget* w, const QPolygon& path, Qt::KeyboardModifiers modifiers = {})
    {
        QMouseEvent press(QEvent::MouseButtonPress, path.first(), w->mapToGlobal(path.first()), Qt::LeftButton,
                          Qt::LeftButton, modifiers);
        QCoreApplication::sendEvent(w, &press);
        for (const QPoint& p : path) {
            QMouseEvent move(QEvent::MouseMove, p, w->mapToGlobal(p), Qt::NoButton, Qt::LeftButton, modifiers);
            QCoreApplication::sendEvent(w, &move);
        }
        QMouseEvent release(QEvent::MouseButtonRelease, path.last(), w->mapToGlobal(path.last()), Qt::LeftButton,
                            Qt::NoButton, modifiers);
        QCoreApplication::sendEvent(w, &release);
    }

    void theMapsLassoFiltersTheGridAndExports()
    {
        MapPage* map = m_window->mapPage();
        InteractiveLane* lane = m_window->session()->lane();
        m_window->showPage(MainWindow::MapIndex);
        map->computeMap("pca");
        QVERIFY(waitForJob());
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(map->hasMap(), qPrintable(map->statusText()));
        const auto* data = m_window->session()->dataset();
        PointMapView* view = map->view();
        QCOMPARE(view->pointCount(), static_cast<qint64>(data->count()));
        QVERIFY2(map->statusText().contains("PCA map of"), qPrintable(map->statusText()));
        QVERIFY(view->legend().title.contains("true age")); // coloured by true age, with its colour bar
        QApplication::processEvents();
        view->grab(); // a real paint: the raster and the pick buffer

        // A lasso drawn with the mouse around the left half of the map.
        view->setTool(PointMapView::Tool::Lasso);
        const int w = view->width(), h = view->height();
        QPolygon lasso;
        lasso << QPoint(2, 2) << QPoint(w / 2, 2) << QPoint(w / 2, h / 2) << QPoint(w / 2, h - 2) << QPoint(2, h - 2);
        drag(view, lasso);
        std::vector<qint64> inside;
        const QPolygonF shape(lasso);
        for (qint64 i = 0; i < view->pointCount(); ++i) {
            const QPointF p = view->screenPosition(i);
            if (shape.containsPoint(QPointF(std::floor(p.x()) + 0.5, std::floor(p.y()) + 0.5), Qt::OddEvenFill))
                inside.push_back(i);
        }
        QVERIFY(!inside.empty());
        QVERIFY(static_cast<qint64>(inside.size()) < view->pointCount());
        // The mask counts a point on the lasso's edge either way: allow those few.
        QVERIFY2(std::abs(view->selectedCount() - static_cast<qint64>(inside.size())) <= 2,
                 qPrintable(QString("%1 selected, %2 inside").arg(view->selectedCount()).arg(inside.size())));
        QVERIFY(map->selectionText().contains(
            QString("%1 of %2 faces selected").arg(view->selectedCount()).arg(view->pointCount())));

        // The grid shows exactly the selection (no other filter is on).
        DatasetPage* page = m_window->datasetPage();
        QVERIFY(page->showsSubset());
        QAbstractItemModel* grid = page->grid()->model();
        QCOMPARE(static_cast<qint64>(grid->rowCount()), view->selectedCount());
        for (int r = 0; r < grid->rowCount(); ++r)
            QVERIFY(
                view->selection()[static_cast<size_t>(grid->index(r, 0).data(ThumbnailModel::IndexRole).toLongLong())]);
        QVERIFY(page->findChild<QLabel*>("subsetLabel")->text().contains(QString::number(view->selectedCount())));
        // The grid's selection marks the map.
        const QModelIndex second = grid->index(1, 0);
        QTest::mouseClick(page->grid()->viewport(), Qt::LeftButton, {}, page->grid()->visualRect(second).center());
        QCOMPARE(view->highlighted().size(), size_t(1));
        QCOMPARE(view->highlighted().front(), second.data(ThumbnailModel::IndexRole).toLongLong());

        // The selection's decoded mean face beside everyone's.
        QVERIFY(lane->waitIdle(60000));
        QVERIFY(!map->selectionMeanFace().isNull());
        QVERIFY(!map->allMeanFace().isNull());

        // Exported as a csv: dataset that reads back row for row.
        const QString file = m_dir.filePath("lasso.csv");
        map->exportSelection(file);
        QVERIFY(waitWritten());
        QVERIFY2(map->statusText().contains("Exported"), qPrintable(map->statusText()));
        const auto back = faceatlas::readCsv(file.toStdString());
        const std::vector<qint64> rows = map->selectedRows();
        QCOMPARE(back.records.size(), rows.size());
        for (size_t i = 0; i < rows.size(); ++i)
            QCOMPARE(back.records[i].path, data->records()[static_cast<size_t>(rows[i])].path);

        // Saved as a named subset, cleared with Escape (the grid shows everyone), and selected again.
        map->saveSubset("left half");
        QVERIFY(waitWritten());
        QVERIFY(map->subsets().contains("left half"));
        QTest::keyClick(view, Qt::Key_Escape);
        QCOMPARE(view->selectedCount(), 0);
        QVERIFY(!page->showsSubset());
        QCOMPARE(static_cast<size_t>(grid->rowCount()), data->count());
        QVERIFY(map->loadSubset("left half"));
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(map->selectedRows(), rows);

        // Shift adds a rectangle to the selection.
        view->setTool(PointMapView::Tool::Rectangle);
        drag(view, QPolygon() << QPoint(w / 2, 2) << QPoint(w - 2, h / 3), Qt::ShiftModifier);
        QVERIFY(view->selectedCount() >= static_cast<qint64>(rows.size()));

        // More like this: the nearest faces in code space, never the face itself, nearest first.
        map->similarTo(rows.front());
        QVERIFY(lane->waitIdle(60000));
        const std::vector<qint64> similar = map->similarFaces();
        QCOMPARE(similar.size(), size_t(24));
        QVERIFY(std::find(similar.begin(), similar.end(), rows.front()) == similar.end());
        QCOMPARE(view->ringed(), similar); // ringed on the map
        // By the age model's features: computed once (a job over every face), then searched like the codes.
        auto* space = map->findChild<QComboBox*>("similarSpace");
        space->setCurrentIndex(1);
        map->similarTo(rows.front());
        QVERIFY(waitForJob());
        QVERIFY(lane->waitIdle(60000));
        const std::vector<qint64> byFeatures = map->similarFaces();
        QCOMPARE(byFeatures.size(), size_t(24));
        QVERIFY(byFeatures != similar);
        QVERIFY(std::find(byFeatures.begin(), byFeatures.end(), rows.front()) == byFeatures.end());
        space->setCurrentIndex(0);
        // An image file (a face's own file, framed as prepare frames it) finds that face first.
        map->similarToImage(QString::fromStdString(data->records()[5].path));
        QVERIFY(lane->waitIdle(60000));
        QVERIFY(!map->similarFaces().empty());
        QCOMPARE(map->similarFaces().front(), qint64(5));

        // Colour by gender: a legend with both; by predicted age before predicting: says so.
        map->setColorBy(mapColumnNames().at(4));
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(view->legend().entries.size(), size_t(2));

        // Zoomed in on one face, the points become faces.
        view->focusPoint(rows.front());
        view->grab();
        QVERIFY(view->showingThumbnails());
        view->fitAll();

        // Cluster only the selection: the Clusters page says so; the others belong to no cluster.
        map->clusterSelection();
        QVERIFY(waitForJob());
        QVERIFY2(m_window->clustersPage()->summaryText().contains("Only a selection of"),
                 qPrintable(m_window->clustersPage()->summaryText()));
        const auto& labels = m_window->session()->clusterLabels();
        QCOMPARE(labels.size(), data->count());
        const auto selected = view->selection();
        for (size_t i = 0; i < labels.size(); ++i)
            QCOMPARE(labels[i] >= 0, selected[i] != 0);
        // Back to a clustering of everyone for the tests that follow.
        QTest::keyClick(view, Qt::Key_Escape);
        m_window->clustersPage()->setK(3);
        m_window->clustersPage()->cluster();
        QVERIFY(waitForJob());
    }

    void theReviewQueueSavesDecisionsThatPrepareApplies()
    {
        ReviewPage* review = m_window->reviewPage();
        InteractiveLane* lane = m_window->session()->lane();
        m_window->showPage(MainWindow::ReviewIndex);
        review->findChild<QSpinBox*>("folds")->setValue(2);
        review->findChild<QSpinBox*>("epochs")->setValue(1);
        review->audit();
        QVERIFY(waitForJob(600));
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(review->statusText().contains("out-of-fold MAE"), qPrintable(review->statusText()));
        QVERIFY2(review->queueCount() > 3, qPrintable(review->statusText()));
        // The audit's scores colour the map.
        m_window->mapPage()->setColorBy(mapColumnNames().at(7));
        QVERIFY(lane->waitIdle(60000));
        QVERIFY(m_window->mapPage()->view()->legend().title.contains("suspicion"));

        // Three decisions from the keyboard and the buttons, each saved at once.
        const auto* data = m_window->session()->dataset();
        const size_t before = data->count();
        review->selectItem(0);
        const qint64 excluded = review->currentFace();
        QApplication::setActiveWindow(m_window.get());
        auto* queue = review->findChild<QListWidget*>("queue");
        queue->setFocus();
        QTest::keyClick(queue, Qt::Key_X);
        const qint64 corrected = review->currentFace();
        QVERIFY(corrected != excluded);
        review->correctAge(33);
        const qint64 kept = review->currentFace();
        review->keep();
        QVERIFY(waitWritten());
        const auto decisions = faceatlas::ReviewFile::load(review->reviewFile().toStdString()).latest();
        QCOMPARE(decisions.size(), size_t(3));
        QCOMPARE(decisions[0].path, data->records()[static_cast<size_t>(excluded)].path);
        QCOMPARE(decisions[0].action, faceatlas::ReviewAction::Exclude);
        QCOMPARE(decisions[1].path, data->records()[static_cast<size_t>(corrected)].path);
        QCOMPARE(decisions[1].newLabel, std::string("33"));
        QCOMPARE(decisions[2].path, data->records()[static_cast<size_t>(kept)].path);
        const std::string excludedPath = decisions[0].path, correctedPath = decisions[1].path;

        // Prepare applies them: one face fewer, the corrected age used.
        auto* apply = m_window->datasetPage()->findChild<QCheckBox*>("applyReview");
        QVERIFY(apply->isEnabled() && apply->isChecked());
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        const auto* cleaned = m_window->session()->dataset();
        QVERIFY(cleaned->count() < before);
        bool sawCorrected = false;
        for (const auto& r : cleaned->records()) {
            QVERIFY(r.path != excludedPath);
            if (r.path == correctedPath) {
                QCOMPARE(r.age.value_or(-1), 33);
                sawCorrected = true;
            }
        }
        QVERIFY(sawCorrected);

        // Back to the dataset the tests that follow expect: no review, encoded and clustered.
        QVERIFY(QFile::remove(review->reviewFile()));
        m_window->datasetPage()->refreshReview();
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QCOMPARE(m_window->session()->dataset()->count(), before);
        m_window->clustersPage()->encode();
        QVERIFY(waitForJob());
        m_window->clustersPage()->setK(3);
        m_window->clustersPage()->cluster();
        QVERIFY(waitForJob());
    }

    void theDatasetPageShowsTheHistoryAndTheDiffOfTwoVersions()
    {
        // Prepare with a review between two versions: History lists both, Compare says the excluded
        // face was removed by the review and the corrected age relabelled by it; a click shows a face.
        ensureDataset();
        if (QTest::currentTestFailed())
            return;
        DatasetPage* page = m_window->datasetPage();
        InteractiveLane* lane = m_window->session()->lane();
        const QString file = m_window->reviewPage()->reviewFile();
        QFile::remove(file);
        const auto* data = m_window->session()->dataset();
        const std::string excluded = data->records()[2].path, corrected = data->records()[3].path;
        const int newAge = data->records()[3].age.value_or(30) == 40 ? 41 : 40;
        {
            faceatlas::ReviewFile review = faceatlas::ReviewFile::load(file.toStdString());
            review.append({excluded, faceatlas::ReviewAction::Exclude, "", "", "not a face", ""});
            review.append({corrected, faceatlas::ReviewAction::Age, "", std::to_string(newAge), "older", ""});
        }
        page->refreshReview();
        page->prepare();
        QVERIFY(waitForJob());
        const QString open = m_window->session()->datasetDir();

        auto* button = page->findChild<QPushButton*>("history");
        QVERIFY(button);
        button->click();
        auto* panel = page->findChild<HistoryPanel*>("historyPanel");
        QVERIFY(panel && panel->isVisible());
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(panel->versionCount() >= 2, qPrintable(panel->statusText()));
        const int last = panel->versionCount() - 1;
        QCOMPARE(QFileInfo(panel->versionDir(last)).absoluteFilePath(), QFileInfo(open).absoluteFilePath());
        QVERIFY2(panel->versionDir(last - 1).contains("/versions/"), qPrintable(panel->versionDir(last - 1)));
        auto* table = panel->findChild<QTableWidget*>("versions");
        QVERIFY(table->item(last, 3)->text().contains("1 excluded, 1 relabelled"));

        panel->findChild<QPushButton*>("compareVersions")->click(); // the newest two are selected
        QVERIFY(lane->waitIdle(60000));
        QListWidget* removed = panel->changeList(0);
        QListWidget* relabelled = panel->changeList(2);
        QCOMPARE(removed->count(), 1);
        const QString removedText = removed->item(0)->text();
        QVERIFY2(removedText.startsWith(QString::fromStdString(excluded)), qPrintable(removedText));
        QVERIFY2(removedText.contains("by review: excluded in review"), qPrintable(removedText));
        QVERIFY(!removed->item(0)->icon().isNull());
        QCOMPARE(panel->changeList(1)->count(), 0);
        QCOMPARE(relabelled->count(), 1);
        QVERIFY2(relabelled->item(0)->text().contains(QStringLiteral("\u2192 %1").arg(newAge)),
                 qPrintable(relabelled->item(0)->text()));
        QVERIFY(relabelled->item(0)->text().contains("by review"));
        relabelled->setCurrentRow(0);
        QVERIFY2(panel->shownFaceText().contains(QString::fromStdString(corrected).toHtmlEscaped()),
                 qPrintable(panel->shownFaceText()));

        // The open version is not removed; a kept one is.
        const int before = panel->versionCount();
        panel->removeVersion(last);
        QVERIFY(waitWritten());
        QVERIFY2(panel->statusText().contains("Not removed") && panel->statusText().contains("open"),
                 qPrintable(panel->statusText()));
        QVERIFY(QFileInfo::exists(open + "/prepared.json"));
        const QString kept = panel->versionDir(last - 1);
        panel->removeVersion(last - 1);
        QVERIFY(waitWritten());
        QVERIFY(lane->waitIdle(60000));
        QVERIFY(!QFileInfo::exists(kept));
        QCOMPARE(panel->versionCount(), before - 1);
        panel->close();

        // Back to the dataset the tests that follow expect: no review.
        QVERIFY(QFile::remove(file));
        page->refreshReview();
        page->prepare();
        QVERIFY(waitForJob());
    }

    void theDecidedViewListsEveryDecisionAndUndoBringsTheFacesBack()
    {
        // Decisions from the queue, the Map's Exclude and a script all show in the Decided view;
        // Prepare stops at a warning when they remove over a tenth of the faces; Undo brings them back.
        ensureAuditAndMap();
        if (QTest::currentTestFailed())
            return;
        ReviewPage* review = m_window->reviewPage();
        MapPage* map = m_window->mapPage();
        DatasetPage* page = m_window->datasetPage();
        InteractiveLane* lane = m_window->session()->lane();
        const QString file = review->reviewFile();
        QFile::remove(file);
        page->refreshReview();
        const auto* data = m_window->session()->dataset();
        const size_t before = data->count();
        m_window->showPage(MainWindow::ReviewIndex);
        review->showQueue();
        review->refreshDecisions();
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(review->statusText().contains("(0 so far)"), qPrintable(review->statusText()));

        // A script's decisions: one about a face of this dataset, one about another dataset's.
        review->selectItem(0);
        const qint64 reviewed = review->currentFace();
        const qint64 scripted = (reviewed + 1) % static_cast<qint64>(before);
        const std::string reviewedKey = faceatlas::recordKey(data->records()[static_cast<size_t>(reviewed)]);
        const std::string scriptedKey = faceatlas::recordKey(data->records()[static_cast<size_t>(scripted)]);
        {
            faceatlas::ReviewFile script = faceatlas::ReviewFile::load(file.toStdString());
            script.append({scriptedKey, faceatlas::ReviewAction::Exclude, "", "", "from a script", ""});
            script.append({"/another/dataset/face.jpg", faceatlas::ReviewAction::Exclude, "", "", "elsewhere", ""});
        }
        review->refreshDecisions();
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(review->statusText().contains("(1 so far)"), qPrintable(review->statusText()));
        // "(N so far)" follows each decision as it is written.
        review->exclude();
        QVERIFY(waitWritten());
        QVERIFY2(review->statusText().contains("(2 so far)"), qPrintable(review->statusText()));

        // The map excludes 40% of the faces.
        std::vector<char> mask(before, 0);
        for (size_t r = 0; r < before; ++r)
            mask[r] = r % 5 < 2 && r != static_cast<size_t>(reviewed) && r != static_cast<size_t>(scripted);
        map->view()->setSelection(mask);
        const auto mapped = static_cast<size_t>(std::count(mask.begin(), mask.end(), 1));
        QCOMPARE(map->selectedRows().size(), mapped);
        map->excludeSelection();
        QVERIFY(waitWritten());
        QVERIFY(lane->waitIdle(60000));
        const size_t decided = mapped + 2;
        QVERIFY2(review->statusText().contains(QString("(%1 so far)").arg(decided)), qPrintable(review->statusText()));

        // The Decided view lists them all, with who decided, and counts them by action.
        review->showDecisions();
        QVERIFY(lane->waitIdle(60000));
        QVERIFY(review->showsDecisions());
        auto* table = review->findChild<QTableView*>("decisions");
        QVERIFY(table && table->isVisible());
        QCOMPARE(review->decisionCount(), static_cast<int>(decided));
        QVERIFY2(review->decisionCountsText().contains(QLocale().toString(qulonglong(decided)) + " exclude"),
                 qPrintable(review->decisionCountsText()));
        const auto rowOf = [table](const std::string& key) {
            for (int row = 0; row < table->model()->rowCount(); ++row)
                if (table->model()
                        ->index(row, 0)
                        .data(Qt::ToolTipRole)
                        .toString()
                        .startsWith(QString::fromStdString(key) + "\n"))
                    return row;
            return -1;
        };
        const int reviewedRow = rowOf(reviewedKey), scriptedRow = rowOf(scriptedKey);
        QVERIFY(reviewedRow >= 0 && scriptedRow >= 0);
        QCOMPARE(table->model()->index(reviewedRow, 1).data().toString(), QString("exclude"));
        QCOMPARE(table->model()->index(scriptedRow, 3).data().toString(), QString("from a script"));
        std::vector<int> mapRows;
        for (int row = 0; row < table->model()->rowCount(); ++row)
            if (table->model()->index(row, 3).data().toString() == "excluded on the map")
                mapRows.push_back(row);
        QCOMPARE(mapRows.size(), mapped);
        QVERIFY(!table->model()->index(mapRows[0], 0).data(Qt::DecorationRole).value<QPixmap>().isNull());

        // Prepare stops at a warning: 40% of the faces would go.
        page->prepare();
        QVERIFY(waitForJob());
        QVERIFY2(page->prepareWarning().contains(
                     QString("remove %1 of %2 faces")
                         .arg(QLocale().toString(qulonglong(decided)), QLocale().toString(qulonglong(before)))),
                 qPrintable(page->prepareWarning()));
        QCOMPARE(m_window->session()->dataset()->count(), before); // nothing prepared yet
        // The status bar says the job stopped for the confirmation, not that it is done.
        {
            auto* jobStatus = m_window->findChild<QLabel*>("jobStatus");
            QVERIFY(jobStatus);
            QVERIFY2(jobStatus->text().contains("waits for your confirmation") && !jobStatus->text().endsWith("done"),
                     qPrintable(jobStatus->text()));
        }
        // "Review decisions" leads to the Decided view; Prepare warns again; "Prepare anyway" goes on.
        review->showQueue();
        page->findChild<QPushButton*>("reviewDecisions")->click();
        QVERIFY(review->showsDecisions());
        QVERIFY(page->prepareWarning().isEmpty());
        page->prepare();
        QVERIFY(waitForJob());
        QVERIFY(!page->prepareWarning().isEmpty());
        page->findChild<QPushButton*>("prepareAnyway")->click();
        QVERIFY(waitForJob());
        QVERIFY(page->prepareWarning().isEmpty());
        QCOMPARE(m_window->session()->dataset()->count(), before - decided);
        // The step table shows the preparation's counts while the review file holds what it applied.
        QVERIFY(lane->waitIdle(60000));
        const auto excludedInReview = [&] {
            for (const QString& row : stepRows(page))
                if (row.startsWith("excluded in review|"))
                    return row;
            return QString();
        };
        QCOMPARE(excludedInReview(), QString("excluded in review|%1|%2").arg(decided).arg(before - decided));
        QVERIFY2(m_window->findChild<QLabel*>("jobStatus")->text().endsWith("done"),
                 qPrintable(m_window->findChild<QLabel*>("jobStatus")->text()));

        // The faces Prepare left out are still listed; Ctrl+Z takes back the map's and the queue's.
        m_window->showPage(MainWindow::ReviewIndex);
        review->showDecisions();
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(review->decisionCount(), static_cast<int>(decided));
        const size_t rowsBefore = reviewRows(file).size();
        table->clearSelection();
        for (int row = 0; row < table->model()->rowCount(); ++row)
            if (row != rowOf(scriptedKey))
                table->selectionModel()->select(table->model()->index(row, 0),
                                                QItemSelectionModel::Select | QItemSelectionModel::Rows);
        QApplication::setActiveWindow(m_window.get());
        table->setFocus();
        QTest::keyClick(table, Qt::Key_Z, Qt::ControlModifier);
        QVERIFY(waitWritten());
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(review->decisionCount(), 1);
        const std::vector<ReviewRow> rows = reviewRows(file); // appended, never rewritten
        QCOMPARE(rows.size(), rowsBefore + decided - 1);
        QCOMPARE(std::get<1>(rows.back()), std::string("undo"));
        // The undos change what Prepare removes: the step table counts again (it no longer shows
        // the open preparation's counts), and Prepare is the one that removes only the script's face.
        m_window->showPage(MainWindow::DatasetIndex);
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(excludedInReview(), QString("excluded in review|1|%1").arg(before - 1));
        m_window->showPage(MainWindow::ReviewIndex);

        // An Undo takes back the decision it shows, not a newer one: a script decides again about
        // the face after the list was read, and Undo of the row shown leaves that decision alone.
        QVERIFY(lane->waitIdle(60000));
        const int shownRow = rowOf(scriptedKey);
        QVERIFY(shownRow >= 0);
        QCOMPARE(table->model()->index(shownRow, 1).data().toString(), QString("exclude"));
        {
            faceatlas::ReviewFile script = faceatlas::ReviewFile::load(file.toStdString());
            script.append({scriptedKey, faceatlas::ReviewAction::Age, "", "44", "a newer script", ""});
        }
        table->clearSelection();
        table->selectionModel()->select(table->model()->index(shownRow, 0),
                                        QItemSelectionModel::Select | QItemSelectionModel::Rows);
        review->undoSelected();
        QVERIFY(waitWritten());
        QVERIFY(lane->waitIdle(60000));
        const std::vector<ReviewRow> afterUndo = reviewRows(file);
        QCOMPARE(afterUndo.size(), rows.size() + 1); // the script's row only: no undo written
        QCOMPARE(afterUndo.back(), ReviewRow(scriptedKey, "age", "44"));
        const QString saved = review->findChild<QLabel*>("reviewSaved")->text();
        QVERIFY2(saved.contains("1 not undone") && saved.contains("changed since the list was read"),
                 qPrintable(saved));
        QCOMPARE(table->model()->index(rowOf(scriptedKey), 1).data().toString(), QString("age"));
        { // the script's exclusion again, as the rest of this test expects
            faceatlas::ReviewFile script = faceatlas::ReviewFile::load(file.toStdString());
            script.append({scriptedKey, faceatlas::ReviewAction::Exclude, "", "", "from a script", ""});
        }
        review->refreshDecisions();
        QVERIFY(lane->waitIdle(60000));

        // The next Prepare brings them back; only the script's exclusion stays.
        page->prepare();
        QVERIFY(waitForJob());
        QVERIFY2(page->prepareWarning().isEmpty(), qPrintable(page->prepareWarning()));
        QCOMPARE(m_window->session()->dataset()->count(), before - 1);
        bool back = false;
        for (const auto& r : m_window->session()->dataset()->records()) {
            QVERIFY(faceatlas::recordKey(r) != scriptedKey);
            back = back || faceatlas::recordKey(r) == reviewedKey;
        }
        QVERIFY(back);

        // Back to the dataset the tests that follow expect: no review, encoded and clustered, the queue shown.
        review->showQueue();
        QVERIFY(QFile::remove(file));
        page->refreshReview();
        page->prepare();
        QVERIFY(waitForJob());
        QCOMPARE(m_window->session()->dataset()->count(), before);
        m_window->clustersPage()->encode();
        QVERIFY(waitForJob());
        m_window->clustersPage()->setK(3);
        m_window->clustersPage()->cluster();
        QVERIFY(waitForJob());
    }

    void theReviewOrderReordersTheQueueAndSaysWhichOrderItIs()
    {
        // The queue by the audit's score, by uncertainty (largest spread first) and most informative
        // (with the codes of the preparation); without readable codes it falls back and says so; a
        // decision and Reorder leave the decided face for later.
        ensureAuditAndMap();
        if (QTest::currentTestFailed())
            return;
        ReviewPage* review = m_window->reviewPage();
        InteractiveLane* lane = m_window->session()->lane();
        const QString file = review->reviewFile();
        QFile::remove(file);
        review->refreshDecisions();
        m_window->showPage(MainWindow::ReviewIndex);
        review->showQueue();
        review->setReasonFilter(QString());
        auto* queue = review->findChild<QListWidget*>("queue");
        auto* combo = review->findChild<QComboBox*>("reviewOrder");
        QVERIFY(queue && combo);
        QCOMPARE(combo->count(), 3);
        const auto faces = [queue] {
            std::vector<qint64> out;
            for (int row = 0; row < queue->count(); ++row)
                out.push_back(queue->item(row)->data(Qt::UserRole).toLongLong());
            return out;
        };
        const auto sorted = [](std::vector<qint64> v) {
            std::sort(v.begin(), v.end());
            return v;
        };
        review->setOrder(faceatlas::ReviewOrder::Score);
        QVERIFY(lane->waitIdle(60000));
        const std::vector<qint64> byScore = faces();
        QVERIFY(byScore.size() > 3);
        QVERIFY2(review->orderText().contains("audit's score"), qPrintable(review->orderText()));

        review->setOrder(faceatlas::ReviewOrder::Uncertainty);
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(review->orderText().startsWith("Ordered by the model's uncertainty"), qPrintable(review->orderText()));
        const std::vector<qint64> byUncertainty = faces();
        QCOMPARE(sorted(byUncertainty), sorted(byScore));
        QVERIFY(byUncertainty != byScore);
        for (int row = 0; row + 1 < queue->count(); ++row) {
            const double a = queue->item(row)->data(Qt::UserRole + 1).toDouble(),
                         b = queue->item(row + 1)->data(Qt::UserRole + 1).toDouble();
            QVERIFY2(!(std::isfinite(b) && (!std::isfinite(a) || a < b)), qPrintable(QString("row %1").arg(row)));
        }
        QCOMPARE(review->currentFace(), byUncertainty.front()); // the first of the new order is shown

        review->setOrder(faceatlas::ReviewOrder::Informative);
        QVERIFY(lane->waitIdle(60000));
        const QString informative = review->orderText();
        QVERIFY2(informative.startsWith("Most informative first") && !informative.contains("is not available"),
                 qPrintable(informative));
        QVERIFY2(review->orderText().contains("of the 0 faces reviewed"), qPrintable(review->orderText()));
        const std::vector<qint64> byInformative = faces();
        QCOMPARE(sorted(byInformative), sorted(byScore));
        QVERIFY(byInformative != byUncertainty);
        QCOMPARE(byInformative.front(), byUncertainty.front()); // nothing reviewed: the most uncertain first
        QVERIFY(queue->item(0)->text().contains("novelty 1.00"));
        QCOMPARE(QSettings().value("review/order").toString(), QString("informative"));

        // A decision, then Reorder: the decided face is no news any more and leaves the top.
        review->selectItem(0);
        const qint64 decided = review->currentFace();
        review->keep();
        QVERIFY(waitWritten());
        review->findChild<QPushButton*>("reorder")->click();
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(review->orderText().contains("of the 1 faces reviewed"), qPrintable(review->orderText()));
        QVERIFY(faces().front() != decided);

        // Codes that cannot be read: uncertainty instead, and the note says why, in warning colour.
        const QString codes = m_window->session()->codesDir();
        QVERIFY(QFile::rename(codes + "/codes.json", codes + "/codes.json.away"));
        review->findChild<QPushButton*>("reorder")->click();
        QVERIFY(lane->waitIdle(60000));
        const QString note = review->orderText();
        QVERIFY(QFile::rename(codes + "/codes.json.away", codes + "/codes.json"));
        QVERIFY2(note.contains("most informative is not available", Qt::CaseInsensitive)
                     && note.contains("Ordered by the model's uncertainty"),
                 qPrintable(note));
        QCOMPARE(faces(), byUncertainty);

        // Back to the state the tests that follow expect: no review, the audit's order.
        QVERIFY(QFile::remove(file));
        review->refreshDecisions();
        m_window->session()->refreshIndex();
        review->setOrder(faceatlas::ReviewOrder::Score);
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(faces(), byScore);
    }

    void decisionsAndExcludesMadeFastAreAllWrittenThroughASwitchAndAClose()
    {
        // 1,000 review decisions and 20 map Excludes as fast as the events are delivered, a dataset
        // switch in the middle and the window closed right after the last: review.csv then holds every
        // decision the window accepted, once, in the order they were made.
        ensureAuditAndMap();
        if (QTest::currentTestFailed())
            return;
        const QString prepared = m_window->session()->datasetDir();
        auto window = std::make_unique<MainWindow>();
        window->setConfirmClose(false);
        window->session()->setWorkspace(m_window->session()->workspace());
        window->show();
        window->session()->openPrepared(prepared);
        window->showPage(MainWindow::ReviewIndex);
        ReviewPage* review = window->reviewPage();
        MapPage* map = window->mapPage();
        QVERIFY(window->session()->lane()->waitIdle(60000));
        QVERIFY(review->queueCount() > 0);
        QVERIFY(map->hasMap());
        const QString file = review->reviewFile();
        const size_t rowsBefore = reviewRows(file).size();
        QApplication::setActiveWindow(window.get());
        auto* queue = review->findChild<QListWidget*>("queue");

        // Every decision is a row; the map's Exclude writes none for a face whose last decision is
        // already an exclusion (the review file's rows before this test count too).
        std::vector<ReviewRow> expected;
        std::map<std::string, std::string> lastAction;
        for (const ReviewRow& row : reviewRows(file))
            lastAction[std::get<0>(row)] = std::get<1>(row);
        const auto decide = [&](const std::string& path, const std::string& action, const std::string& value) {
            expected.emplace_back(path, action, value);
            lastAction[path] = action;
        };
        const auto mapExclude = [&](const std::string& path) {
            if (lastAction[path] != "exclude")
                decide(path, "exclude", "");
        };
        int decisions = 0, excludes = 0;
        bool switched = false;
        QElapsedTimer clock;
        clock.start();
        for (int i = 0; decisions < 1000 || excludes < 19; ++i) {
            QVERIFY2(clock.elapsed() < 300000, "the review queue did not come back after the switch");
            if (decisions == 500 && !switched) { // the same preparation closed and opened again
                switched = true;
                window->session()->closeDataset();
                window->session()->openPrepared(prepared);
            }
            const auto* data = window->session()->dataset();
            if (i % 50 == 49 && excludes < 19 && map->hasMap()) {
                std::vector<char> mask(data->count(), 0);
                for (size_t r = static_cast<size_t>(excludes) * 7;
                     r < static_cast<size_t>(excludes) * 7 + 3 + excludes % 5; ++r)
                    mask[r % mask.size()] = 1;
                map->view()->setSelection(mask);
                for (const qint64 row : map->selectedRows())
                    mapExclude(faceatlas::recordKey(data->records()[static_cast<size_t>(row)]));
                map->excludeSelection();
                ++excludes;
                continue;
            }
            if (decisions >= 1000)
                continue;
            const qint64 face = review->currentFace();
            if (face < 0) { // the audit is being read again after the switch
                QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
                continue;
            }
            const std::string path = faceatlas::recordKey(data->records()[static_cast<size_t>(face)]);
            queue->setFocus();
            switch (decisions % 5) {
            case 0:
                QTest::keyClick(queue, Qt::Key_K);
                decide(path, "keep", "");
                break;
            case 1:
                QTest::keyClick(queue, Qt::Key_X);
                decide(path, "exclude", "");
                break;
            case 2:
                QTest::keyClick(queue, Qt::Key_M);
                decide(path, "gender", "M");
                break;
            case 3:
                QTest::keyClick(queue, Qt::Key_F);
                decide(path, "gender", "F");
                break;
            default:
                review->correctAge(20 + decisions % 60);
                decide(path, "age", std::to_string(20 + decisions % 60));
                break;
            }
            ++decisions;
            if (review->currentFace() == face && face >= 0 && queue->currentRow() + 1 >= queue->count())
                review->selectItem(0); // at the end of the queue: from the top again
        }
        // The 20th Exclude takes every face (a few hundred synced lines), and the window is closed at
        // once, in the middle of writing it: the window waits for the queue.
        QVERIFY(map->hasMap());
        const auto* data = window->session()->dataset();
        map->view()->setSelection(std::vector<char>(data->count(), 1));
        for (const qint64 row : map->selectedRows())
            mapExclude(faceatlas::recordKey(data->records()[static_cast<size_t>(row)]));
        map->excludeSelection();
        ++excludes;
        const qint64 burstMs = clock.elapsed();
        const int pendingAtClose = window->session()->writer()->pending();
        QVERIFY(pendingAtClose > 0);
        window->close();
        QVERIFY(window->isVisible()); // not yet: what was decided is still being written
        QTRY_VERIFY_WITH_TIMEOUT(!window->isVisible(), 120000);
        const qint64 writtenMs = clock.elapsed();
        window.reset();

        const std::vector<ReviewRow> all = reviewRows(file);
        QVERIFY(all.size() >= rowsBefore);
        const std::vector<ReviewRow> written(all.begin() + static_cast<std::ptrdiff_t>(rowsBefore), all.end());
        QCOMPARE(written.size(), expected.size());
        for (size_t k = 0; k < expected.size(); ++k)
            QVERIFY2(written[k] == expected[k], qPrintable(QString("row %1: %2 %3, expected %4 %5")
                                                               .arg(k)
                                                               .arg(QString::fromStdString(std::get<0>(written[k])),
                                                                    QString::fromStdString(std::get<1>(written[k])),
                                                                    QString::fromStdString(std::get<0>(expected[k])),
                                                                    QString::fromStdString(std::get<1>(expected[k])))));
        qInfo("%d decisions and %d Excludes (%zu rows) made in %lld ms; %d writes were queued at the close; all "
              "written %lld ms after the first: %.0f rows per second",
              decisions, excludes, expected.size(), static_cast<long long>(burstMs), pendingAtClose,
              static_cast<long long>(writtenMs),
              1000.0 * static_cast<double>(expected.size()) / std::max<qint64>(1, writtenMs));
        // Back to no review for the tests that follow.
        QFile::remove(file);
        m_window->datasetPage()->refreshReview();
    }

    void aLongLanePredictionStopsWithinASecond()
    {
        // Superseded by a newer request, cancelled by a dataset switch or by the window's close, a
        // prediction over many faces stops at its next batch.
        ensureAgeRun();
        if (QTest::currentTestFailed())
            return;
        const QString run = m_window->session()->latestRun("age");
        const auto data = m_window->session()->sharedDataset();
        std::vector<std::uint32_t> many;
        while (many.size() < 200000) // minutes of work on the CPU
            for (std::uint32_t i = 0; i < data->count(); ++i)
                many.push_back(i);
        std::atomic<int> started{0};
        const auto longPrediction = [run, data, many, &started](InteractiveLane* lane) {
            return [lane, run, data, many, &started](const faceatlas::CancelToken& cancel) {
                const auto loaded = lane->model(run);
                ++started;
                return faceatlas::predictAges(*loaded->model, *data, many, torch::kCPU, cancel).size();
            };
        };
        {
            InteractiveLane lane;
            QObject context;
            bool applied = false;
            lane.submit<size_t>(
                "scatter", &context, longPrediction(&lane), [&](size_t) { applied = true; }, [](const QString&) {});
            QTRY_VERIFY_WITH_TIMEOUT(started == 1, 60000);
            QTest::qWait(300);
            QElapsedTimer clock;
            clock.start();
            std::atomic<qint64> nextStarted{-1};
            lane.submit<int>(
                "scatter", &context,
                [&] {
                    nextStarted = clock.elapsed();
                    return 1;
                },
                [](int) {}, [](const QString&) {});
            QVERIFY(lane.waitIdle(10000));
            QVERIFY2(nextStarted >= 0 && nextStarted < 1000,
                     qPrintable(QString("the newer request started %1 ms after it was made").arg(nextStarted)));
            QVERIFY(!applied); // a cancelled prediction is partial: never applied
            qInfo("superseded: the long prediction stopped and the newer request started after %lld ms",
                  static_cast<long long>(nextStarted.load()));
            // A dataset switch cancels it too.
            lane.submit<size_t>(
                "scatter", &context, longPrediction(&lane), [&](size_t) { applied = true; }, [](const QString&) {});
            QTRY_VERIFY_WITH_TIMEOUT(started == 2, 60000);
            QTest::qWait(300);
            clock.restart();
            lane.invalidateAll();
            QVERIFY(lane.waitIdle(10000));
            QVERIFY2(clock.elapsed() < 1000, qPrintable(QString("%1 ms after the switch").arg(clock.elapsed())));
            QVERIFY(!applied);
        }
        // The window's close waits a second at most for the lane.
        auto window = std::make_unique<MainWindow>();
        window->setConfirmClose(false);
        window->session()->openPrepared(m_window->session()->datasetDir());
        window->show();
        InteractiveLane* lane = window->session()->lane();
        lane->submit<size_t>(
            "scatter", window.get(), longPrediction(lane), [](size_t) {}, [](const QString&) {});
        QTRY_VERIFY_WITH_TIMEOUT(started == 3, 60000);
        QTest::qWait(300);
        QElapsedTimer clock;
        clock.start();
        QVERIFY(window->close());
        window.reset();
        const qint64 closeMs = clock.elapsed();
        qInfo("closing the window during a long prediction on the lane took %lld ms", static_cast<long long>(closeMs));
        QVERIFY2(closeMs < 1000, qPrintable(QString("closing took %1 ms").arg(closeMs)));
        // The chart after training predicts at most 2,000 validation faces, spread over them.
        std::vector<std::uint32_t> val(7000);
        for (std::uint32_t i = 0; i < val.size(); ++i)
            val[i] = 3 * i;
        const auto sample = scatterSample(val, TrainPage::kScatterFaces);
        QCOMPARE(sample.size(), TrainPage::kScatterFaces);
        QVERIFY(std::is_sorted(sample.begin(), sample.end()));
        QCOMPARE(sample.front(), 0u);
        QVERIFY(sample.back() > 3 * 6900);
        QCOMPARE(scatterSample(std::vector<std::uint32_t>(5, 1), 2000).size(), size_t(5));
    }

    void aJobThatFailsForLackOfSpaceKeepsWhatIsShownAndOffersRetry()
    {
        ensureDataset();
        if (QTest::currentTestFailed())
            return;
        JobRunner* jobs = m_window->session()->jobs();
        const auto* before = m_window->session()->dataset();
        const int faces = m_window->datasetPage()->faceCount();
        const QString message = "/ws/prepared: not enough disk space: images.u8 needs 123456789 bytes, 1024 are free";
        std::atomic<int> runs{0};
        int succeeded = 0;
        QVERIFY(jobs->start(
            "Preparing the test",
            [&runs, message](const faceatlas::CancelToken&, const JobRunner::Report&) -> bool {
                if (++runs == 1)
                    throw faceatlas::Error(message.toStdString());
                return true;
            },
            [&](bool ok, bool, const QString&) { succeeded += ok ? 1 : 0; }));
        QVERIFY(!waitForJob());
        // What was shown stays; the message says why and where, and offers to run the job again.
        QCOMPARE(m_window->session()->dataset(), before);
        QCOMPARE(m_window->datasetPage()->faceCount(), faces);
        QMessageBox* box = nullptr;
        for (QMessageBox* b : m_window->findChildren<QMessageBox*>("jobFailure"))
            if (b->text().contains(message))
                box = b;
        QVERIFY(box);
        QVERIFY(box->isVisible());
        auto* retry = box->findChild<QPushButton*>("retry");
        QVERIFY(retry);
        QSignalSpy spy(jobs, &JobRunner::finished);
        retry->click();
        QVERIFY(jobs->isRunning());
        QVERIFY(spy.wait(10000));
        QCoreApplication::processEvents();
        QCOMPARE(runs.load(), 2);
        QCOMPARE(succeeded, 1);
        QVERIFY(!jobs->canRetry());
        // Another failure (not for space) offers no Retry.
        QVERIFY(jobs->start("Failing otherwise", [](const faceatlas::CancelToken&, const JobRunner::Report&) -> bool {
            throw faceatlas::Error("a damaged file");
        }));
        QVERIFY(!waitForJob());
        for (QMessageBox* b : m_window->findChildren<QMessageBox*>("jobFailure"))
            if (b->text().contains("a damaged file"))
                QVERIFY(!b->findChild<QPushButton*>("retry"));
    }

    void attentionOverlayIsShown()
    {
        m_window->showPage(MainWindow::AttentionIndex);
        m_window->attentionPage()->setFace(2);
        QVERIFY(m_window->attentionPage()->render());
        QVERIFY(m_window->session()->lane()->waitIdle(60000));
        QVERIFY2(m_window->attentionPage()->hasOverlay(), qPrintable(m_window->attentionPage()->statusText()));
        // A colour bar says what the colours mean; the face is named with its true age.
        QVERIFY(!m_window->attentionPage()->findChild<QLabel*>("colorBar")->pixmap().isNull());
        QVERIFY(m_window->attentionPage()->findChild<QLabel*>("colorScale")->text().contains("pushes"));
        QVERIFY(m_window->attentionPage()->findChild<QLabel*>("faceCaption")->text().contains("age"));
        // The opacity slider re-blends the map already computed: nothing goes to the lane.
        auto* slider = m_window->attentionPage()->findChild<QSlider*>();
        QVERIFY(slider);
        slider->setValue(10);
        QCOMPARE(m_window->session()->lane()->outstanding(), 0);
        QVERIFY(m_window->attentionPage()->hasOverlay());
        // A whole cluster: the Grad-CAM averaged over its faces.
        QVERIFY(!m_window->session()->clusterLabels().empty());
        m_window->attentionPage()->setCluster(0);
        QVERIFY(m_window->attentionPage()->render());
        QVERIFY(m_window->session()->lane()->waitIdle(60000));
        QVERIFY2(m_window->attentionPage()->hasOverlay(), qPrintable(m_window->attentionPage()->statusText()));
        m_window->attentionPage()->setCluster(-1);
        // The code map is the autoencoder's: choosing it switches to the latest autoencoder run.
        auto combos = m_window->attentionPage()->findChildren<QComboBox*>();
        QComboBox* method = nullptr;
        QComboBox* run = nullptr;
        for (QComboBox* combo : combos) {
            if (combo->findData("code") >= 0)
                method = combo;
            if (combo->count() > 0 && combo->itemText(0).contains("-20"))
                run = combo;
        }
        QVERIFY(method && run);
        run->setCurrentIndex(run->findText("age", Qt::MatchStartsWith));
        method->setCurrentIndex(method->findData("code"));
        QVERIFY2(run->currentText().startsWith("autoencoder"), qPrintable(run->currentText()));
        method->setCurrentIndex(method->findData("gradcam"));
        run->setCurrentIndex(run->findText("age", Qt::MatchStartsWith));
        QVERIFY(m_window->session()->lane()->waitIdle(60000));
    }

    void predictionsSortTheGridByError()
    {
        // Predicting keeps the user's filter and sort; a new filter starts the grid at the top.
        DatasetPage* page = m_window->datasetPage();
        auto* sortBy = page->findChild<QComboBox*>("sortBy");
        sortBy->setCurrentIndex(sortBy->findText("Sort by age"));
        page->findChild<QSpinBox*>("filterAgeLow")->setValue(20);
        page->predictAll();
        QVERIFY(waitForJob());
        QCOMPARE(m_window->session()->predictions().size(), m_window->session()->dataset()->count());
        QCOMPARE(sortBy->currentText(), QStringLiteral("Sort by age"));
        QCOMPARE(page->findChild<QSpinBox*>("filterAgeLow")->value(), 20);
        page->grid()->verticalScrollBar()->setValue(page->grid()->verticalScrollBar()->maximum());
        page->findChild<QSpinBox*>("filterAgeLow")->setValue(0);
        QCOMPARE(page->grid()->verticalScrollBar()->value(), 0);

        // Sorted by the absolute error of each face's prediction: largest first, then smallest first.
        auto* descending = page->findChild<QCheckBox*>("descending");
        sortBy->setCurrentIndex(sortBy->findText("Sort by prediction error"));
        QVERIFY(descending->isChecked()); // the largest errors first
        const QAbstractItemModel* grid = page->grid()->model();
        const auto* data = m_window->session()->dataset();
        const auto& predictions = m_window->session()->predictions();
        QCOMPARE(static_cast<size_t>(grid->rowCount()), data->count());
        int withError = 0;
        for (int row = 0; row < grid->rowCount(); ++row) { // the value sorted by is |prediction - age|
            const QModelIndex index = grid->index(row, 0);
            const auto face = static_cast<size_t>(index.data(faceatlas::ui::ThumbnailModel::IndexRole).toInt());
            const QVariant error = index.data(faceatlas::ui::ThumbnailModel::ErrorRole);
            QCOMPARE(error.isValid(), data->records()[face].age.has_value());
            if (error.isValid()) {
                ++withError;
                QVERIFY(qAbs(error.toDouble() - std::abs(predictions[face] - *data->records()[face].age)) < 1e-3);
            }
        }
        QVERIFY(withError > 10);
        const auto errorAt = [&](int row) {
            return grid->index(row, 0).data(faceatlas::ui::ThumbnailModel::ErrorRole).toDouble();
        };
        QString problem = unsortedPair(grid, faceatlas::ui::ThumbnailModel::ErrorRole, true);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(errorAt(0) > errorAt(withError - 1)); // not all alike: an order that says something
        descending->setChecked(false);
        problem = unsortedPair(grid, faceatlas::ui::ThumbnailModel::ErrorRole, false);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(errorAt(0) < errorAt(withError - 1));
        sortBy->setCurrentIndex(0);
    }

    void predictedAgesShowTheirCalibratedIntervalAndTheMapColoursItsWidth()
    {
        // Predicting keeps each face's calibrated spread beside its age: a run of this version is
        // calibrated, so every face has a finite one.
        ensureAgeRun();
        Session* session = m_window->session();
        DatasetPage* page = m_window->datasetPage();
        InteractiveLane* lane = session->lane();
        m_window->showPage(0);
        page->predictAll();
        QVERIFY(waitForJob());
        const auto* data = session->dataset();
        const size_t n = data->count();
        QCOMPARE(session->predictions().size(), n);
        QCOMPARE(session->predictionSpreads().size(), n);
        for (const float sd : session->predictionSpreads())
            QVERIFY2(std::isfinite(sd) && sd > 0, qPrintable(QString::number(sd)));
        const std::vector<float> predicted = session->predictions(), spread = session->predictionSpreads();

        // Known spreads: face 0 is 34.2 with sd 7 (34.2 -+ 1.2816 x 7: 25 to 43 in whole years), face 1
        // a run trained before calibration (NaN), the others 3 to 10 years.
        std::vector<float> ages(n, 34.2f), spreads(n);
        for (size_t i = 0; i < n; ++i)
            spreads[i] = 3.0f + static_cast<float>(i % 8);
        spreads[0] = 7.0f;
        spreads[1] = NAN;
        QVERIFY(session->setPredictions(data, ages, spreads));
        auto* info = page->findChild<QLabel*>("faceInfo");
        QVERIFY(info);
        page->showDatasetFace(0);
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(info->text().contains(QString::fromUtf8("Predicted age: 34.2 (80% interval 25\u2013"
                                                         "43)")),
                 qPrintable(info->text()));
        page->showDatasetFace(1);
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(info->text().contains("Predicted age: 34.2 (no interval: this run was trained before"),
                 qPrintable(info->text()));
        // The grid's tooltip says the same.
        const QAbstractItemModel* grid = page->grid()->model();
        page->findChild<QSpinBox*>("filterAgeLow")->setValue(0);
        QString tip0, tip1;
        for (int row = 0; row < grid->rowCount(); ++row) {
            const QModelIndex index = grid->index(row, 0);
            const int face = index.data(ThumbnailModel::IndexRole).toInt();
            if (face == 0)
                tip0 = index.data(Qt::ToolTipRole).toString();
            else if (face == 1)
                tip1 = index.data(Qt::ToolTipRole).toString();
        }
        QVERIFY2(tip0.contains(QString::fromUtf8("\nPredicted age: 34.2 (80% interval 25\u2013"
                                                 "43)")),
                 qPrintable(tip0));
        QVERIFY2(tip1.contains("no interval"), qPrintable(tip1));

        // The map offers the interval's width as a colour, in years: grey where there is none,
        // narrow and wide intervals apart.
        const QString uncertainty = QStringLiteral("uncertainty of the predicted age");
        QVERIFY(mapColumnNames().contains(uncertainty));
        QVERIFY(m_window->mapPage()->findChild<QComboBox*>("colorBy")->findText(uncertainty) >= 0);
        MapColumns columns;
        columns.data = session->sharedDataset();
        columns.predictions = session->sharedPredictions();
        columns.spreads = session->sharedPredictionSpreads();
        MapColoring coloring = colorPoints(uncertainty, columns);
        QVERIFY2(coloring.missing.isEmpty(), qPrintable(coloring.missing));
        QCOMPARE(coloring.colors.size(), n);
        QVERIFY2(coloring.legend.title.contains("80% interval") && coloring.legend.title.contains("years"),
                 qPrintable(coloring.legend.title));
        // Widths 2 x 1.2816 x 3 = 7.7 to 2 x 1.2816 x 10 = 25.6 years: the axis spans them.
        QVERIFY2(coloring.legend.low <= 8 && coloring.legend.low >= 7 && coloring.legend.high >= 25
                     && coloring.legend.high <= 26,
                 qPrintable(QStringLiteral("%1 to %2").arg(coloring.legend.low).arg(coloring.legend.high)));
        QCOMPARE(coloring.colors[1], QColor(200, 200, 200).rgb());
        QVERIFY(coloring.colors[2] != coloring.colors[9]); // sd 3 and sd 10
        if (m_window->mapPage()->hasMap()) {               // the tests before this one made a map: the page colours it
            m_window->mapPage()->setColorBy(uncertainty);
            QVERIFY(lane->waitIdle(60000));
            QVERIFY2(m_window->mapPage()->view()->legend().title.contains("years"),
                     qPrintable(m_window->mapPage()->view()->legend().title));
        }
        // Only runs trained before calibration: no interval to colour, and the map says why.
        QVERIFY(session->setPredictions(data, ages, std::vector<float>(n, NAN)));
        columns.spreads = session->sharedPredictionSpreads();
        coloring = colorPoints(uncertainty, columns);
        QVERIFY2(coloring.missing.contains("calibrated"), qPrintable(coloring.missing));
        // Opening a dataset again drops the spreads with the predictions; then the run's own are
        // set back for the tests that follow.
        session->openPrepared(session->datasetDir());
        QVERIFY(session->predictions().empty());
        QVERIFY(session->predictionSpreads().empty());
        QVERIFY(session->setPredictions(session->dataset(), predicted, spread));
        QCOMPARE(session->predictionSpreads().size(), n);
    }

    void theMapRecordsItsSettingsAndColoursByTheNeighbourhoodItKeeps()
    {
        // The layout's parameters set on the page reach map.json; the opened map shows them and its
        // per-face preservation is a colour with fixed ends (0 to 1).
        ensureAuditAndMap();
        MapPage* map = m_window->mapPage();
        InteractiveLane* lane = m_window->session()->lane();
        m_window->showPage(MainWindow::MapIndex);
        auto* settingsButton = map->findChild<QToolButton*>("mapSettingsButton");
        QVERIFY(settingsButton);
        settingsButton->setChecked(true);
        auto* neighbours = map->findChild<QSpinBox*>("mapNeighbors");
        QVERIFY(neighbours && neighbours->isVisible());
        neighbours->setValue(7);
        map->findChild<QDoubleSpinBox*>("mapMinDist")->setValue(0.3);
        map->findChild<QSpinBox*>("mapEpochs")->setValue(20);
        map->findChild<QSpinBox*>("mapSeed")->setValue(5);
        auto* threads = map->findChild<QSpinBox*>("mapThreads");
        QVERIFY(threads && threads->isVisible());
        threads->setValue(std::min(2, threads->maximum()));
        auto* search = map->findChild<QComboBox*>("mapSearch");
        search->setCurrentIndex(search->findData(QStringLiteral("hnsw")));
        map->computeMap("neighbors");
        QVERIFY(waitForJob());
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(map->hasMap(), qPrintable(map->statusText()));
        const auto summary =
            nlohmann::json::parse(faceatlas::readFile((map->mapDir() + "/map.json").toStdString(), 1 << 20));
        const auto& settings = summary.at("settings");
        QCOMPARE(settings.at("neighbors").get<int>(), 7);
        QCOMPARE(settings.at("min_dist").get<double>(), 0.3);
        QCOMPARE(settings.at("epochs").get<int>(), 20);
        QCOMPARE(settings.at("seed").get<int>(), 5);
        QCOMPARE(settings.at("threads").get<int>(), threads->value());
        QCOMPARE(QString::fromStdString(settings.at("knn").at("method").get<std::string>()), QStringLiteral("hnsw"));
        QVERIFY2(map->statusText().contains("7 neighbours, min. distance 0.3, 20 epochs, seed 5, approximate graph"),
                 qPrintable(map->statusText()));
        // Another map's settings on the widgets, then this one opened again: the widgets show its own.
        neighbours->setValue(30);
        const QString dir = map->mapDir();
        map->loadMap(dir);
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(neighbours->value(), 7);

        const QString kept = QStringLiteral("neighbourhood kept by the map");
        QVERIFY(map->findChild<QComboBox*>("colorBy")->findText(kept) >= 0);
        map->setColorBy(kept);
        QVERIFY(lane->waitIdle(60000));
        const MapLegend& legend = map->view()->legend();
        QVERIFY2(legend.title.contains("10 nearest codes"), qPrintable(legend.title));
        QCOMPARE(legend.low, 0.0);
        QCOMPARE(legend.high, 1.0);
        // Without a score (a map from before it): the colour says what to do.
        MapColumns columns;
        columns.data = m_window->session()->sharedDataset();
        const MapColoring none = colorPoints(kept, columns);
        QVERIFY2(none.missing.contains("compute the map again"), qPrintable(none.missing));
        settingsButton->setChecked(false);
        neighbours->setValue(15);
        map->findChild<QDoubleSpinBox*>("mapMinDist")->setValue(0.1);
        map->findChild<QSpinBox*>("mapEpochs")->setValue(0);
        map->findChild<QSpinBox*>("mapSeed")->setValue(1);
        threads->setValue(1);
        search->setCurrentIndex(0);
    }

    void theMapsExclusionSaysWhichDecisionsItReplacesAndNeverRepeatsOne()
    {
        // A face kept in the Review page, then excluded on the map with faces excluded before: the
        // kept one gets its exclusion, the others no second row, and the status line says so.
        ensureAuditAndMap();
        ReviewPage* review = m_window->reviewPage();
        MapPage* map = m_window->mapPage();
        InteractiveLane* lane = m_window->session()->lane();
        const QString file = review->reviewFile();
        QFile::remove(file);
        m_window->datasetPage()->refreshReview();
        m_window->showPage(MainWindow::ReviewIndex);
        review->showQueue();
        QVERIFY(lane->waitIdle(60000));
        review->selectItem(0);
        const qint64 kept = review->currentFace();
        review->keep();
        review->selectItem(1);
        const qint64 excluded = review->currentFace();
        QVERIFY(excluded != kept);
        review->exclude();
        QVERIFY(waitWritten());
        const size_t count = m_window->session()->dataset()->count();
        std::vector<char> mask(count, 0);
        mask[static_cast<size_t>(kept)] = 1;
        mask[static_cast<size_t>(excluded)] = 1;
        const size_t fresh = (static_cast<size_t>(std::max(kept, excluded)) + 1) % count;
        mask[fresh] = 1;
        map->view()->setSelection(mask);
        // The Exclude button's question names them first (answered Yes here).
        QString asked;
        QTimer answer;
        answer.setInterval(20);
        connect(&answer, &QTimer::timeout, this, [&] {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
                asked = box->text();
                answer.stop();
                box->button(QMessageBox::Yes)->click();
            }
        });
        answer.start();
        map->requestExclusion();
        QTRY_VERIFY_WITH_TIMEOUT(!asked.isEmpty(), 30000);
        QVERIFY2(asked.contains("3 selected faces")
                     && asked.contains("1 of them already have another decision "
                                       "(1 kept, 0 relabelled)")
                     && asked.contains("1 are excluded already"),
                 qPrintable(asked));
        QVERIFY(waitWritten());
        QVERIFY2(map->statusText().contains("2 exclude decisions added"), qPrintable(map->statusText()));
        QVERIFY2(map->statusText().contains("1 of them replaced an earlier decision (1 kept, 0 relabelled)"),
                 qPrintable(map->statusText()));
        QVERIFY2(map->statusText().contains("1 selected faces were excluded already"), qPrintable(map->statusText()));
        const faceatlas::ReviewFile written = faceatlas::ReviewFile::load(file.toStdString());
        QCOMPARE(written.rows(), size_t(4)); // keep, exclude, then the map's two
        const auto* data = m_window->session()->dataset();
        const auto* last = written.latestFor(faceatlas::recordKey(data->records()[static_cast<size_t>(kept)]));
        QVERIFY(last && last->action == faceatlas::ReviewAction::Exclude);
        QFile::remove(file);
        m_window->datasetPage()->refreshReview();
        QVERIFY(lane->waitIdle(60000));
    }

    void theMapDrawsADensityLayerWhenItsPointsOutnumberThePixels()
    {
        // 200,000 points on a small view (at least its minimum size): more than a quarter of the pixels, so a density
        // layer after the first frame; zoomed far in, dots again. The pick buffer still finds a point.
        PointMapView view;
        view.resize(200, 150);
        std::vector<float> xy(400000);
        std::mt19937 rng(3);
        std::normal_distribution<float> normal(0, 1);
        for (float& v : xy)
            v = normal(rng);
        view.setPoints(PointMapView::layoutPoints(std::make_shared<const std::vector<float>>(std::move(xy))));
        view.grab(); // the first frame counts the points in view
        const QImage frame = view.grab().toImage();
        QVERIFY(view.showingDensity());
        QVERIFY2(view.densityPeak() > 10, qPrintable(QString::number(view.densityPeak())));
        const QPoint centre(view.width() / 2, view.height() / 2);
        QVERIFY(view.pointAt(centre) >= 0);
        // The centre, where most points overlap, is darker (more opaque) than the edge.
        QVERIFY(qGray(frame.pixel(centre)) < qGray(frame.pixel(centre.x(), view.height() - 10)));
        view.zoomBy(400, centre);
        view.grab();
        view.grab();
        QVERIFY(!view.showingDensity());
        QCOMPARE(view.densityPeak(), qint64(0));
    }

    void facePanelNamesItsModelAndFollowsTheFilter()
    {
        DatasetPage* page = m_window->datasetPage();
        m_window->showPage(0);
        page->selectFirstFace();
        QVERIFY(m_window->session()->lane()->waitIdle(60000));
        const QString caption = page->findChild<QLabel*>("overlayCaption")->text();
        QVERIFY2(caption.contains("checkpoint of epoch"), qPrintable(caption));
        QVERIFY(caption.contains(QFileInfo(m_window->session()->latestRun("age")).fileName()));
        // A filter that hides the face shown clears the panel.
        const QModelIndex first = page->grid()->model()->index(0, 0);
        const int age = first.data(faceatlas::ui::ThumbnailModel::AgeRole).toInt();
        page->findChild<QSpinBox*>("filterAgeLow")->setValue(age + 1);
        if (age < 120)
            QVERIFY(page->findChild<QLabel*>("overlayCaption")->text().isEmpty());
        page->findChild<QSpinBox*>("filterAgeLow")->setValue(0);
    }

    void cancelStopsTrainingAndKeepsACheckpoint()
    {
        // (also: the per-batch curve drawn before the stop is still there after Resume)
        TrainPage* train = m_window->trainPage();
        train->setModel("age");
        train->setEpochs(50);
        QSignalSpy epochs(train, &TrainPage::epochFinished);
        train->start();
        QSignalSpy spy(m_window->session()->jobs(), &JobRunner::finished);
        QVERIFY(epochs.wait(120000)); // stop after a finished epoch, during the next one
        QTest::qWait(300);
        m_window->session()->jobs()->cancel();
        QVERIFY(spy.wait(60000));
        QVERIFY(spy.first().at(2).toBool()); // cancelled
        const QString run = m_window->session()->latestRun("age");
        QVERIFY(QFileInfo::exists(run + "/last.pt"));
        QVERIFY(faceatlas::loadCheckpoint((run + "/last.pt").toStdString()).model != nullptr);
        const int drawn = train->batchPoints();
        train->start(/*resume=*/true);
        QVERIFY(m_window->session()->jobs()->isRunning());
        QVERIFY(train->epochPoints() > 0);
        QVERIFY(train->batchPoints() > 0 && train->batchPoints() <= drawn); // that epoch's batches are kept
        m_window->session()->jobs()->cancel();
        waitForJob();
    }

    // --- What broke before (issue: nothing a user does may crash FaceAtlas) ---

    void rePreparingKeepsEveryReaderValid()
    {
        // A reader (a view, a worker) that holds the old dataset keeps reading the same bytes while
        // the folder is prepared again and the session switches to the new one.
        const auto held = m_window->session()->sharedDataset();
        QVERIFY(held && held->count() > 0);
        const std::vector<unsigned char> before(held->image(0), held->image(0) + held->imageBytes());
        auto* score = m_window->datasetPage()->findChild<QDoubleSpinBox*>("minFaceScore");
        score->setValue(2.0); // stricter: a smaller preparation in the same folder
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset() != held.get());
        QVERIFY(m_window->session()->dataset()->count() < held->count());
        QCOMPARE(std::vector<unsigned char>(held->image(0), held->image(0) + held->imageBytes()), before);
        QCOMPARE(m_window->datasetPage()->gridDataset(), m_window->session()->dataset());
        QCOMPARE(static_cast<size_t>(m_window->datasetPage()->faceCount()), m_window->session()->dataset()->count());
        // The old clustering does not describe the new preparation: it is not current, nothing of it
        // stays on the Clusters page, and the page says where it went.
        QVERIFY(m_window->session()->clusterLabels().empty());
        QVERIFY(m_window->session()->clustersDir().isEmpty());
        QVERIFY(m_window->session()->codesDir().isEmpty());
        QVERIFY2(m_window->clustersPage()->summaryText().contains("other preparations"),
                 qPrintable(m_window->clustersPage()->summaryText()));
        score->setValue(1.0);
    }

    void aStartRefusedWhileBusyChangesNothing()
    {
        TrainPage* train = m_window->trainPage();
        train->setModel("age");
        train->setEpochs(50);
        train->start();
        QVERIFY(m_window->session()->jobs()->isRunning());
        const QString source = m_window->session()->source();
        const auto* data = m_window->session()->dataset();
        QSignalSpy refused(m_window->session()->jobs(), &JobRunner::refused);
        m_window->openPath("demo:50");
        m_window->datasetPage()->prepare();
        m_window->clustersPage()->encode();
        QCOMPARE(m_window->session()->source(), source);
        QCOMPARE(m_window->session()->dataset(), data);
        QVERIFY(!m_window->session()->jobs()->title().contains("demo:50"));
        QVERIFY(refused.count() >= 2);
        m_window->session()->jobs()->cancel();
        waitForJob(); // ends cancelled
        QVERIFY(!m_window->session()->jobs()->isRunning());
    }

    void emptyAndUnreadableSourcesAfterTrainingDoNotCrash()
    {
        // The crash that survived restarts: an age run exists, then a source with no faces is
        // opened and prepared; the Attention page must not render face 0 of 0 faces.
        QTemporaryDir empty, junk;
        for (int i = 0; i < 3; ++i) {
            QFile f(junk.filePath(QStringLiteral("face%1.jpg").arg(i)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("not an image");
        }
        m_window->openPath("folder:" + empty.path());
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset() == nullptr); // the grid no longer shows the demo
        QCOMPARE(m_window->datasetPage()->faceCount(), 0);
        QVERIFY(!m_window->datasetPage()->findChild<QPushButton*>("prepare")->isEnabled());
        m_window->showPage(MainWindow::AttentionIndex);
        QVERIFY(!m_window->attentionPage()->render());
        m_window->openPath("folder:" + junk.path());
        QVERIFY(waitForJob());
        m_window->datasetPage()->prepare();
        waitForJob();
        m_window->showPage(MainWindow::AttentionIndex);
        m_window->attentionPage()->render();
        QVERIFY(m_window->session()->lane()->waitIdle(30000));
        QCOMPARE(faceatlas::ui::GuardedApplication::caughtExceptions(), 0);
        // A new window (a restart) with that state remembered starts and works.
        MainWindow second;
        second.show();
        QCoreApplication::processEvents();
        QCOMPARE(second.datasetPage()->faceCount(),
                 second.session()->dataset() ? static_cast<int>(second.session()->dataset()->count()) : 0);
        m_window->openPath("demo:300");
        QVERIFY(waitForJob());
    }

    void aDamagedRememberedPreparationIsForgottenAtStart()
    {
        QTemporaryDir broken;
        QFile manifest(broken.filePath("prepared.json"));
        QVERIFY(manifest.open(QIODevice::WriteOnly));
        manifest.write("{\"format\": \"faceatlas-prepared\", \"size\": 64}");
        manifest.close();
        QSettings().setValue("prepared", broken.path());
        QSettings().setValue("session/running", false);
        MainWindow window;
        QVERIFY(window.session()->dataset() == nullptr);
        QVERIFY(!QSettings().contains("prepared"));
        // A start after one that did not end cleanly reopens nothing.
        QSettings().setValue("prepared", m_window->session()->datasetDir());
        QSettings().setValue("session/running", true);
        MainWindow afterCrash;
        QVERIFY(afterCrash.session()->dataset() == nullptr);
    }

    void jobCallbacksBelongToTheirJob()
    {
        JobRunner runner;
        int firstDone = 0, secondDone = 0;
        bool secondCancelled = true;
        const quint64 first = runner.start(
            "first", [](const faceatlas::CancelToken&, const JobRunner::Report&) { return true; },
            [&](bool, bool, const QString&) { ++firstDone; });
        QVERIFY(first > 0);
        // Busy: refused, and the refused job's callback never runs.
        QCOMPARE(runner.start(
                     "refused", [](const faceatlas::CancelToken&, const JobRunner::Report&) { return true; },
                     [&](bool, bool, const QString&) { QFAIL("a refused job's callback ran"); }),
                 quint64(0));
        QTRY_VERIFY(!runner.isRunning());
        QCOMPARE(firstDone, 1);
        // A job that completed is not turned into a cancelled one by a Cancel pressed after its end.
        QAtomicInt release = 0;
        QAtomicPointer<QThread> worker = nullptr;
        faceatlas::CancelToken secondToken; // the second job's token (copies share the flag)
        const quint64 second = runner.start(
            "second",
            [&](const faceatlas::CancelToken& cancel, const JobRunner::Report&) {
                while (!release.loadAcquire())
                    QThread::msleep(1);
                secondToken = cancel;
                worker.storeRelease(QThread::currentThread());
                return true; // ran to its end, whatever the token says now
            },
            [&](bool ok, bool cancelled, const QString&) {
                ++secondDone;
                secondCancelled = cancelled;
            });
        QVERIFY(second > first);
        release.storeRelease(1);
        // The order this claims, made and checked: the work has returned and its worker thread has ended
        // (its end is queued to this thread, which runs no events until the QTRY below) ...
        QElapsedTimer waited;
        waited.start();
        while (!worker.loadAcquire() && waited.elapsed() < 10000)
            QThread::msleep(1);
        QVERIFY(worker.loadAcquire());
        QVERIFY(worker.loadAcquire()->wait(10000));
        QVERIFY(!secondToken.isCancelled());
        // ... but the job is still the running one when the Cancel comes: it reaches the job's token
        // (a Cancel after the end was delivered would be a no-op, and prove nothing).
        QVERIFY(runner.isRunning());
        QCOMPARE(runner.runningId(), second);
        QCOMPARE(secondDone, 0);
        runner.cancelJob(second);
        QVERIFY(secondToken.isCancelled());
        QTRY_VERIFY(!runner.isRunning());
        QCOMPARE(secondDone, 1);
        QVERIFY(!secondCancelled);
        QCOMPARE(firstDone, 1);
    }

    void theLaneAppliesOnlyTheNewestRequest()
    {
        InteractiveLane lane;
        QObject context;
        std::vector<int> applied;
        for (int i = 0; i < 5; ++i)
            lane.submit<int>(
                "channel", &context,
                [i] {
                    QThread::msleep(30);
                    return i;
                },
                [&](int v) { applied.push_back(v); }, [](const QString&) {});
        QVERIFY(lane.waitIdle(10000));
        QCOMPARE(applied, std::vector<int>{4});
        // An error becomes a message; a destroyed context gets nothing.
        QString error;
        lane.submit<int>(
            "other", &context, []() -> int { throw std::runtime_error("bad checkpoint"); }, [](int) {},
            [&](const QString& message) { error = message; });
        QVERIFY(lane.waitIdle(10000));
        QCOMPARE(error, QStringLiteral("bad checkpoint"));
        auto* gone = new QObject;
        bool ran = false;
        lane.submit<int>(
            "gone", gone,
            [] {
                QThread::msleep(30);
                return 1;
            },
            [&](int) { ran = true; }, [](const QString&) {});
        delete gone;
        QVERIFY(lane.waitIdle(10000));
        QVERIFY(!ran);
    }

    void anExceptionInASlotDoesNotEndTheApplication()
    {
        const int before = GuardedApplication::caughtExceptions();
        QTimer::singleShot(0, [] { throw std::runtime_error("thrown by a slot"); });
        QTest::qWait(50);
        QCOMPARE(GuardedApplication::caughtExceptions(), before + 1);
        QCOMPARE(GuardedApplication::lastException(), QStringLiteral("thrown by a slot"));
    }

    // --- Every page tells the truth about what it shows ---

    void epochAxesTickOnWholeEpochsAndOneEpochShows()
    {
        TrainPage* train = m_window->trainPage();
        train->setModel("age");
        train->setEpochs(1);
        train->start();
        QVERIFY(waitForJob());
        QCOMPARE(train->trainLossSeries()->count(), 1);
        QVERIFY(train->trainLossSeries()->pointsVisible()); // one point is a visible marker
        QCOMPARE(train->epochAxis()->tickType(), QValueAxis::TicksDynamic);
        QCOMPARE(train->epochAxis()->tickInterval(), 1.0);
        QCOMPARE(train->epochAxis()->min(), 0.0);
        QVERIFY(train->epochAxis()->max() >= 1.0 && train->epochAxis()->max() < 1.1); // room for the last point
        QCOMPARE(integerTickStep(3), 1);
        QCOMPARE(integerTickStep(40), 5);
        QCOMPARE(integerTickStep(250), 50);
        // Switching the model while idle: no MAE chart over an autoencoder.
        train->setModel("autoencoder");
        QVERIFY(train->findChildren<QChartView*>().size() >= 2);
        bool psnrTitle = false;
        for (QChartView* view : train->findChildren<QChartView*>()) {
            QVERIFY(!view->chart()->title().contains("MAE"));
            psnrTitle |= view->chart()->title().contains("PSNR");
        }
        QVERIFY(psnrTitle);
        train->setModel("age");
    }

    void resumeWithoutARunSaysSo()
    {
        ensureDataset();
        TrainPage* train = m_window->trainPage();
        train->setModel("age-capstone");
        QVERIFY(m_window->session()->latestRun("age-capstone").isEmpty());
        // The button says so before it is pressed: off, with the reason in its tooltip.
        auto* resume = train->findChild<QPushButton*>("resumeLatest");
        QVERIFY(resume);
        QVERIFY(!resume->isEnabled());
        QVERIFY2(resume->toolTip().contains("no age-capstone run"), qPrintable(resume->toolTip()));
        train->start(/*resume=*/true);
        QVERIFY(!m_window->session()->jobs()->isRunning());
        QVERIFY2(train->statusText().contains("no earlier"), qPrintable(train->statusText()));
        train->setModel("age");
        QCOMPARE(resume->isEnabled(), !m_window->session()->latestRun("age").isEmpty());
    }

    void theStallProbeRunsOnlyWhenAskedForAndKeepsABoundedBuffer()
    {
        // An ordinary window measures nothing (no timer appending for the life of the application).
        qunsetenv("FACEATLAS_STALL_PROBE");
        QVERIFY(!m_window->stallProbe()->isRunning());
        StallProbe probe(nullptr, 5);
        probe.start();
        QTRY_VERIFY_WITH_TIMEOUT(probe.taken() >= 12, 5000);
        probe.stop();
        QCOMPARE(probe.since(0).size(), size_t(5)); // the newest five only
        QCOMPARE(probe.since(probe.taken() - 2).size(), size_t(2));
        QVERIFY(probe.max() >= probe.p99());
        probe.reset();
        QCOMPARE(probe.taken(), std::uint64_t(0));
        QVERIFY(probe.since(0).empty());
    }

    void aMapSetWhileItsViewIsSmallIsFramedAgainWhenTheViewGrows()
    {
        // After a restart the map is set before its page was ever laid out: the first fit is to a
        // tiny view, and the map was drawn in a corner. A resize frames it again, until the user
        // zooms or pans.
        PointMapView view;
        view.resize(60, 50);
        auto xy = std::make_shared<std::vector<float>>(std::vector<float>{0, 0, 10, 0, 0, 10, 10, 10, 5, 5});
        view.setPoints(PointMapView::layoutPoints(xy));
        view.resize(800, 600);
        QResizeEvent grown(QSize(800, 600), QSize(60, 50));
        QApplication::sendEvent(&view, &grown);
        const double span = view.screenPosition(1).x() - view.screenPosition(0).x();
        QVERIFY2(span > 500, qPrintable(QString::number(span)));
        view.zoomBy(2, QPointF(400, 300));
        const double zoomed = view.screenPosition(1).x() - view.screenPosition(0).x();
        view.resize(700, 600);
        QResizeEvent shrunk(QSize(700, 600), QSize(800, 600));
        QApplication::sendEvent(&view, &shrunk);
        QCOMPARE(view.screenPosition(1).x() - view.screenPosition(0).x(), zoomed); // the user's zoom stays
    }

    void runsPagePlotsWhatIsSelectedOnLabelledAxes()
    {
        RunsPage* runs = m_window->runsPage();
        runs->refresh();
        runs->selectAll();
        QVERIFY(!runs->selectedRuns().isEmpty());
        // Every curve is of a selected run; every selected run with an epoch has its curve.
        const QSet<QString> plotted = asSet(runs->plottedRuns()), selected = asSet(runs->selectedRuns());
        QVERIFY(!plotted.isEmpty());
        QVERIFY(selected.contains(plotted));
        for (const QString& dir : selected)
            QCOMPARE(plotted.contains(dir), QFileInfo::exists(dir + "/metrics.csv"));
        runs->refresh(); // the selection and the curves still agree after a refresh
        QCOMPARE(asSet(runs->selectedRuns()), selected);
        QCOMPARE(asSet(runs->plottedRuns()), plotted);
        QStringList titles;
        for (QAbstractAxis* axis : runs->findChild<QChartView*>()->chart()->axes())
            titles << axis->titleText();
        QVERIFY2(titles.contains("validation MAE (years)"), qPrintable(titles.join("|")));
        QVERIFY2(titles.contains("validation PSNR (dB)"), qPrintable(titles.join("|")));
    }

    void gridSaysHowManyMatchAndBadInputIsListed()
    {
        DatasetPage* page = m_window->datasetPage();
        page->findChild<QSpinBox*>("filterAgeLow")->setValue(30);
        QVERIFY2(page->matchText().contains(" of "), qPrintable(page->matchText()));
        page->findChild<QSpinBox*>("filterAgeLow")->setValue(0);
        // A CSV with bad rows: each bad line is listed with its reason; missing files by name.
        QTemporaryDir dir;
        QFile csv(dir.filePath("bad.csv"));
        QVERIFY(csv.open(QIODevice::WriteOnly));
        csv.write("path,age,gender\nmissing-a.jpg,30,F\nmissing-b.jpg,abc,M\n");
        csv.close();
        m_window->openPath("csv:" + dir.filePath("bad.csv"));
        QVERIFY(waitForJob());
        const QString problems = page->problems().join("\n");
        QVERIFY2(problems.contains("missing-a.jpg"), qPrintable(problems));
        QVERIFY2(problems.contains(":3"), qPrintable(problems));         // the line with age "abc"
        QVERIFY(!page->findChild<QPushButton*>("prepare")->isEnabled()); // nothing left to prepare
        // Re-opening a prepared source shows the settings it was prepared with.
        page->findChild<QSpinBox*>("ageMin")->setValue(33);
        m_window->openPath("demo:300");
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset() != nullptr);
        QCOMPARE(page->findChild<QSpinBox*>("ageMin")->value(), 15);
        // A step turned off is shown off when its preparation is reopened, its threshold disabled.
        auto* filterAge = page->findChild<QCheckBox*>("filterAge");
        QVERIFY(filterAge->isChecked());
        QVERIFY(page->findChild<QSpinBox*>("ageMin")->isEnabled());
        filterAge->setChecked(false);
        QVERIFY(!page->findChild<QSpinBox*>("ageMax")->isEnabled());
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        // Away and back: the other source first, so the preparation is opened again.
        m_window->openPath("csv:" + dir.filePath("bad.csv"));
        QVERIFY(waitForJob());
        filterAge->setChecked(true);
        m_window->openPath("demo:300");
        QVERIFY(waitForJob());
        QVERIFY(!filterAge->isChecked());
        QVERIFY(!page->findChild<QSpinBox*>("ageMin")->isEnabled());
        QVERIFY(page->findChild<QCheckBox*>("filterFaceScore")->isChecked());
        filterAge->setChecked(true); // the tests after this one expect the defaults
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
    }

    void theGridSortsBothWaysAndSaysWhenThereIsNothingToSortBy()
    {
        DatasetPage* page = m_window->datasetPage();
        QVERIFY(m_window->session()->dataset());
        auto* sortBy = page->findChild<QComboBox*>("sortBy");
        auto* descending = page->findChild<QCheckBox*>("descending");
        sortBy->setCurrentIndex(sortBy->findText("Sort by age"));
        QVERIFY(!descending->isChecked()); // youngest first
        QAbstractItemModel* grid = page->grid()->model();
        QVERIFY(grid->rowCount() > 10);
        const auto ageAt = [&](int row) {
            return grid->index(row, 0).data(faceatlas::ui::ThumbnailModel::AgeRole).toInt();
        };
        // Every adjacent pair in order (faces without an age last), and not all of one age.
        QString problem = unsortedPair(grid, faceatlas::ui::ThumbnailModel::AgeRole, false);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        int withAge = 0;
        for (int row = 0; row < grid->rowCount(); ++row)
            withAge += grid->index(row, 0).data(faceatlas::ui::ThumbnailModel::AgeRole).isValid();
        QVERIFY(withAge > 10);
        QVERIFY(ageAt(0) < ageAt(withAge - 1));
        descending->setChecked(true);
        problem = unsortedPair(grid, faceatlas::ui::ThumbnailModel::AgeRole, true);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(ageAt(0) > ageAt(withAge - 1));
        descending->setChecked(false); // and back
        problem = unsortedPair(grid, faceatlas::ui::ThumbnailModel::AgeRole, false);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        // Sorting by prediction error with no predictions says so instead of doing nothing.
        QVERIFY(m_window->session()->predictions().empty());
        sortBy->setCurrentIndex(sortBy->findText("Sort by prediction error"));
        QVERIFY2(page->matchText().contains("no predictions yet"), qPrintable(page->matchText()));
        sortBy->setCurrentIndex(0);
    }

    void runsTableShowsHyperparametersAndHonestStatus()
    {
        RunsPage* runs = m_window->runsPage();
        runs->refresh();
        auto* table = runs->findChild<QTableWidget*>();
        QStringList headers;
        for (int c = 0; c < table->columnCount(); ++c)
            headers << table->horizontalHeaderItem(c)->text();
        for (const char* h : {"Learning rate", "Batch", "Weight decay", "Seed", "Size", "Epochs", "Data"})
            QVERIFY2(headers.contains(h), h);
        const int lr = static_cast<int>(headers.indexOf("Learning rate"));
        const int data = static_cast<int>(headers.indexOf("Data"));
        QVERIFY(table->rowCount() > 0);
        QVERIFY(table->item(0, lr)->data(Qt::DisplayRole).toDouble() > 0);
        QVERIFY2(table->item(0, data)->text().contains("demo:"), qPrintable(table->item(0, data)->text()));
        // A run left "running" by a process that is gone is not called running.
        for (int row = 0; row < table->rowCount(); ++row)
            QVERIFY(table->item(row, 1)->text() != "running");
    }

    void aRunWithoutValidationFacesSaysSo()
    {
        // No validation share: MAE cannot be measured; the page says so rather than "MAE nan".
        m_window->openPath("demo:120");
        QVERIFY(waitForJob());
        auto* share = m_window->datasetPage()->findChild<QDoubleSpinBox*>("validationShare");
        share->setValue(0.0); // this source's setting (each source keeps its own)
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset()->valIndices().empty());
        TrainPage* train = m_window->trainPage();
        train->setModel("age");
        train->setEpochs(1);
        train->start();
        QVERIFY(waitForJob());
        QVERIFY2(train->statusText().contains("no validation MAE"), qPrintable(train->statusText()));
        QVERIFY(!train->statusText().contains("nan"));
        share->setValue(0.2);
    }

    void theAgeRangeCannotBeTurnedInsideOut()
    {
        DatasetPage* page = m_window->datasetPage();
        auto* low = page->findChild<QSpinBox*>("ageMin");
        auto* high = page->findChild<QSpinBox*>("ageMax");
        low->setValue(40);
        high->setValue(10); // below the minimum: held at it, and the counts say what the controls say
        QCOMPARE(high->value(), 40);
        low->setValue(15);
        high->setValue(65);
        QCOMPARE(high->value(), 65);
    }

    // Cleaning settings belong to their source: another source starts from the defaults, never the last
    // source's; a source comes back with what was set for it, or a prepared one with its preparation's (issue 23).
    void cleaningSettingsAreRememberedPerSourceNotCarriedToTheNext()
    {
        ensureDataset();
        DatasetPage* page = m_window->datasetPage();
        const QString first = m_window->session()->source();
        auto* low = page->findChild<QSpinBox*>("ageMin");
        auto* split = page->findChild<QDoubleSpinBox*>("validationShare");
        QVERIFY(low && split);
        const int lowBefore = low->value();
        const double splitBefore = split->value();
        low->setValue(23);
        split->setValue(0.35);
        m_window->openPath("demo:77");
        QVERIFY(waitForJob());
        QCOMPARE(m_window->session()->source(), QStringLiteral("demo:77"));
        QCOMPARE(low->value(), 15);    // the default, not the last source's 23
        QCOMPARE(split->value(), 0.2); // likewise
        low->setValue(31);
        m_window->openPath(first);
        QVERIFY(waitForJob());
        // The first source is prepared: reopened, its preparation shows the settings it was made with.
        QCOMPARE(low->value(), lowBefore);
        QCOMPARE(split->value(), splitBefore);
        m_window->openPath("demo:77"); // never prepared: what was set for it last
        QVERIFY(waitForJob());
        QCOMPARE(low->value(), 31);
        QCOMPARE(split->value(), 0.2);
        m_window->openPath(first);
        QVERIFY(waitForJob());
    }

    // --- Issue 26: what a new user trips over ---

    /** The step table's rows as "name|removed|remaining". */
    static QStringList stepRows(DatasetPage* page)
    {
        auto* steps = page->findChild<QTableWidget*>("steps");
        QStringList rows;
        for (int row = 0; row < steps->rowCount(); ++row)
            rows << steps->item(row, 0)->text() + "|" + steps->item(row, 1)->text() + "|" + steps->item(row, 2)->text();
        return rows;
    }

    void theStepCountsBeforeAndAfterPrepareAndAfterARestartAgree()
    {
        const QDir images(QStringLiteral(FACEATLAS_SHARED_DATA "/utkface/images"));
        if (!images.exists())
            QSKIP("../shared/data/utkface/images is absent: real faces are needed (the detector finds no drawn ones)");
        // Real faces of every age, so that the detector's steps and the age step all remove some.
        QTemporaryDir folder;
        const QStringList files = images.entryList(QDir::Files, QDir::Name);
        QVERIFY(files.size() >= 40);
        for (int i = 0; i < 40; ++i) {
            const QString name = files[static_cast<int>(static_cast<qint64>(i) * files.size() / 40)];
            QVERIFY(QFile::link(images.filePath(name), folder.filePath(name)));
        }
        const QString spec = "utkface:" + folder.path();
        m_window->openPath(spec);
        QVERIFY(waitForJob());
        DatasetPage* page = m_window->datasetPage();
        auto* note = page->findChild<QLabel*>("previewNote");
        auto* detect = page->findChild<QPushButton*>("detectNow");
        // Nothing looked at yet: the table says so, and offers to look.
        QVERIFY2(note->isVisibleTo(page) && note->text().startsWith("None of the 40 photos looked at yet"),
                 qPrintable(note->text()));
        QVERIFY(detect->isVisibleTo(page));
        QVERIFY(stepRows(page).join("\n").contains("face score below threshold|?|at most"));
        // "Detect faces now": a job, then every count is exact.
        detect->click();
        QVERIFY(waitForJob());
        QVERIFY2(!note->isVisibleTo(page), qPrintable(note->text()));
        QVERIFY(!detect->isVisibleTo(page));
        const QStringList before = stepRows(page);
        QVERIFY2(!before.join("\n").contains("at "), qPrintable(before.join("\n")));
        // Prepare counts what the preview counted, and prepared.json keeps it.
        page->prepare();
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset());
        const QStringList after = stepRows(page);
        QCOMPARE(after, before);
        const auto manifest = nlohmann::json::parse(m_window->session()->dataset()->manifestJson());
        const auto& steps = manifest.at("report").at("steps");
        QCOMPARE(static_cast<int>(steps.size()), after.size());
        for (int k = 0; k < after.size(); ++k) {
            const QStringList cells = after[k].split('|');
            QCOMPARE(cells[1], QString::number(steps[static_cast<size_t>(k)].at("removed").get<qulonglong>()));
            QCOMPARE(cells[2], QString::number(steps[static_cast<size_t>(k)].at("remaining").get<qulonglong>()));
        }
        QVERIFY(steps.back().at("removed").get<qulonglong>() > 0 || steps[3].at("removed").get<qulonglong>() > 0);
        QCOMPARE(static_cast<qulonglong>(page->faceCount()), steps.back().at("remaining").get<qulonglong>());
        // A restart: the preparation is reopened and its source read again; the table still shows
        // the prepared counts beside the grid of the prepared faces, from prepared.json (the
        // findings cache is gone: the preview could not count the detector's steps).
        QVERIFY(QDir(QString::fromLocal8Bit(qgetenv("FACEATLAS_CACHE_DIR")) + "/faces").removeRecursively());
        QSettings().setValue("session/running", false);
        {
            MainWindow again;
            QVERIFY(again.session()->dataset());
            QVERIFY(faceatlas::test::waitForJob(again));
            DatasetPage* reopened = again.datasetPage();
            QCOMPARE(stepRows(reopened), after);
            QVERIFY(!reopened->findChild<QLabel*>("previewNote")->isVisibleTo(reopened));
            QCOMPARE(reopened->faceCount(), page->faceCount());
            // A setting changed: the preview counts again, and says what it has not looked at.
            reopened->findChild<QSpinBox*>("ageMin")->setValue(30);
            QVERIFY(again.session()->lane()->waitIdle(30000));
            auto* reopenedNote = reopened->findChild<QLabel*>("previewNote");
            QVERIFY2(reopenedNote->isVisibleTo(reopened)
                         && reopenedNote->text().startsWith("None of the 40 photos looked at yet"),
                     qPrintable(reopenedNote->text()));
            QVERIFY(stepRows(reopened) != after);
        }
        QSettings().setValue("session/running", true);
    }

    void theAuditShowsItsBaselineAndSaysWhenItsSuspectsAreNotToBeTrusted()
    {
        ensureAuditAndMap();
        ReviewPage* review = m_window->reviewPage();
        m_window->showPage(MainWindow::ReviewIndex);
        QVERIFY2(review->statusText().contains("baseline, always the training folds' median age"),
                 qPrintable(review->statusText()));
        // 2 folds x 1 epoch learn next to nothing: the header warns and the queue says so, or neither does.
        auto* warning = review->findChild<QLabel*>("queueWarning");
        const bool warned = review->statusText().contains("Warning:");
        QCOMPARE(warning->isVisibleTo(review), warned);
        if (warned)
            QVERIFY2(warning->text().contains("not to be trusted"), qPrintable(warning->text()));
        qInfo("audit header: %s", qPrintable(review->statusText()));
    }

    void reviewByKeyboardReturnsToTheQueueAndRemembersFoldsAndEpochs()
    {
        ensureAuditAndMap();
        ReviewPage* review = m_window->reviewPage();
        m_window->showPage(MainWindow::ReviewIndex);
        m_window->activateWindow(); // keys reach shortcuts only in the active window
        QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
        auto* queue = review->findChild<QListWidget*>("queue");
        auto* age = review->findChild<QSpinBox*>("correctedAge");
        review->selectItem(0);
        queue->setFocus();
        const qint64 first = review->currentFace();
        QTRY_VERIFY(queue->hasFocus());
        QVERIFY(age->isEnabled());
        QTest::keyClick(queue, Qt::Key_A);
        QTRY_VERIFY(age->hasFocus());
        QTest::keyClicks(age, "40");
        QTest::keyClick(age, Qt::Key_Return);
        QTRY_VERIFY2(queue->hasFocus(), "the focus stays in the age box after Enter");
        QVERIFY(review->currentFace() != first);
        const qint64 second = review->currentFace();
        QTest::keyClick(queue, Qt::Key_K); // not swallowed by the age box
        QVERIFY(review->currentFace() != second);
        QVERIFY(waitWritten());
        QVERIFY(QFile::remove(review->reviewFile()));
        m_window->datasetPage()->refreshReview();

        // Folds and epochs survive a restart (the settings), and the note before an audit follows them.
        const QString workspace = m_window->session()->workspace();
        m_window->session()->setWorkspace(m_dir.filePath("empty-workspace"));
        {
            ReviewPage fresh(m_window->session());
            fresh.findChild<QSpinBox*>("folds")->setValue(3);
            fresh.findChild<QSpinBox*>("epochs")->setValue(4);
            QVERIFY2(fresh.statusText().contains("3 age models of 4 epochs"), qPrintable(fresh.statusText()));
            // No audit, so no face: the decisions are off.
            QVERIFY(!fresh.findChild<QPushButton*>("keep")->isEnabled());
            QVERIFY(!fresh.findChild<QPushButton*>("exclude")->isEnabled());
            QVERIFY(!fresh.findChild<QPushButton*>("setAge")->isEnabled());
        }
        {
            ReviewPage restarted(m_window->session());
            QCOMPARE(restarted.findChild<QSpinBox*>("folds")->value(), 3);
            QCOMPARE(restarted.findChild<QSpinBox*>("epochs")->value(), 4);
            QVERIFY2(restarted.statusText().contains("3 age models of 4 epochs"), qPrintable(restarted.statusText()));
            // The time said follows the settings: 3 folds x 4 epochs is a fifth of the 5 x 10 measured at 15 minutes.
            QVERIFY2(restarted.statusText().contains("about 3 minutes for 5,000 faces"),
                     qPrintable(restarted.statusText()));
        }
        m_window->session()->setWorkspace(workspace);
    }

    void theAttentionMapSaysWhatAWholeClusterDraws()
    {
        AttentionPage* attention = m_window->attentionPage();
        auto* map = attention->findChild<QComboBox*>("attentionMap");
        map->setCurrentIndex(map->findData("features"));
        attention->setCluster(0);
        QCOMPARE(map->currentData().toString(), QString("gradcam"));
        QVERIFY(!map->isEnabled());
        attention->setCluster(-1);
        QCOMPARE(map->currentData().toString(), QString("features")); // the choice made before
        QVERIFY(map->isEnabled());
        map->setCurrentIndex(map->findData("gradcam"));

        // An autoencoder run chosen under Grad-CAM (an age model's map) shows its code layer, not an error.
        ensureAgeRun();
        ensureAuditAndMap(); // trains an autoencoder for the map
        auto* run = attention->findChild<QComboBox*>("attentionRun");
        int autoencoder = -1;
        for (int i = 0; i < run->count(); ++i)
            if (run->itemText(i).startsWith("autoencoder"))
                autoencoder = i;
        QVERIFY(autoencoder >= 0);
        const int age = autoencoder == 0 ? 1 : 0;
        run->setCurrentIndex(age);
        map->setCurrentIndex(map->findData("gradcam"));
        run->setCurrentIndex(autoencoder);
        QCOMPARE(map->currentData().toString(), QString("code"));
        // A whole cluster under an autoencoder run: said plainly, and no face stands for the cluster.
        attention->setCluster(0);
        QVERIFY(!attention->render());
        QVERIFY2(attention->statusText().contains("needs an age model"), qPrintable(attention->statusText()));
        for (const QLabel* label : attention->findChildren<QLabel*>())
            QVERIFY2(!label->text().contains("The average face of cluster"), qPrintable(label->text()));
        attention->setCluster(-1);
        run->setCurrentIndex(age);
        map->setCurrentIndex(map->findData("gradcam"));
        QVERIFY(m_window->session()->lane()->waitIdle(60000));
    }

    void staleMessagesAreClearedAndFailedSourcesLeaveRecent()
    {
        ensureDataset();
        // A refused open is said while the job runs, not after it.
        m_window->trainPage()->setModel("age");
        m_window->trainPage()->setEpochs(1);
        m_window->trainPage()->start();
        QVERIFY(m_window->session()->jobs()->isRunning());
        m_window->openPath("demo");
        const auto refusalShown = [this] {
            for (const QLabel* label : m_window->datasetPage()->findChildren<QLabel*>())
                if (label->text().contains("Cannot open demo now"))
                    return true;
            return false;
        };
        QVERIFY(refusalShown());
        QVERIFY(waitForJob());
        QVERIFY2(!refusalShown(), "the refusal stays after the job ended");

        // A source that fails to open is not kept in File > Recent.
        const QString missing = "csv:" + m_dir.filePath("no-such-list.csv");
        QSettings().setValue("recentSources", QStringList{missing, "demo:300"});
        m_window->openPath(missing);
        waitForJob();
        QCOMPARE(QSettings().value("recentSources").toStringList(), QStringList{"demo:300"});
        m_window->openPath("demo:300");
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset());
    }

    void runsSayWhereAnInterruptedTrainingStoppedAndTheTrainPageOffersResume()
    {
        faceatlas::RunSummary run;
        run.model = "age";
        run.dir = "/w/runs/age-1";
        run.status = "cancelled";
        run.epochs = 3;
        run.plannedEpochs = 10;
        QCOMPARE(runStatusText(run, false), QString("cancelled at epoch 3 of 10"));
        QVERIFY(interruptedRunNote(run, false).contains("stopped at epoch 3 of 10"));
        QVERIFY(interruptedRunNote(run, false).contains("Resume"));
        run.status = "running";
        QCOMPARE(runStatusText(run, false),
                 QString("not finished (interrupted at epoch 3 of 10, or running elsewhere)"));
        QVERIFY(interruptedRunNote(run, false).contains("interrupted at epoch 3 of 10"));
        QVERIFY(interruptedRunNote(run, true).isEmpty()); // running here
        run.status = "finished";
        run.epochs = 10;
        QVERIFY(interruptedRunNote(run, false).isEmpty());
    }

    void everyMainActionHasAShortcutThatHelpLists()
    {
        const QList<QStringList> rows = m_window->shortcutRows();
        const auto keysOf = [&](const QString& what) {
            for (const QStringList& row : rows)
                if (row.value(1).contains(what, Qt::CaseInsensitive))
                    return row.value(2);
            return QString();
        };
        for (const QString& what :
             {QString("Encode the faces"), QString("Cluster the faces"), QString("Compute the map"),
              QString("Audit the labels"), QString("Resume the latest training"), QString("Lasso"),
              QString("Rectangle"), QString("Clear the selection"), QString("Keep the face"), QString("User guide")})
            QVERIFY2(!keysOf(what).isEmpty(), qPrintable(what + " has no shortcut listed"));
        QCOMPARE(keysOf("Lasso"), QString("L"));
        QCOMPARE(keysOf("Rectangle"), QString("R"));
        QCOMPARE(keysOf("Clear the selection"), QString("Esc"));
        // No two window-wide shortcuts share keys.
        QSet<QString> menuKeys;
        for (const QStringList& row : rows)
            if (!row.value(0).endsWith(" page")) {
                QVERIFY2(!menuKeys.contains(row.value(2)), qPrintable(row.value(2) + " is used twice"));
                menuKeys.insert(row.value(2));
            }
        m_window->showShortcuts();
        auto* dialog = m_window->findChild<QDialog*>("shortcutsDialog");
        QVERIFY(dialog);
        QCOMPARE(dialog->findChild<QTableWidget*>("shortcutTable")->rowCount(), rows.size());
        dialog->close();
        // The user guide opens the README with the desktop's viewer (recorded here, not launched).
        QUrl opened;
        m_window->setUrlOpener([&](const QUrl& url) {
            opened = url;
            return true;
        });
        m_window->openUserGuide();
        QVERIFY2(opened.toLocalFile().endsWith("README.md"), qPrintable(opened.toString()));
        m_window->setUrlOpener({});
    }

    void picturesSayWhatTheirRowsAre()
    {
        auto* caption = m_window->clustersPage()->findChild<QLabel*>("galleryCaption");
        QVERIFY(caption && caption->text().contains("outliers"));
        m_window->trainPage()->setModel("autoencoder");
        QVERIFY(m_window->trainPage()->findChild<QLabel*>("previewOriginals")->isVisibleTo(m_window->trainPage()));
        QVERIFY(
            m_window->trainPage()->findChild<QLabel*>("previewReconstructions")->text().contains("Reconstructions"));
        m_window->trainPage()->setModel("age");
        QVERIFY(!m_window->trainPage()->findChild<QLabel*>("previewOriginals")->isVisibleTo(m_window->trainPage()));
    }

    // --- Error by slice (issue 27) ---

    void theSlicesPageDrawsTheErrorByGenderAndAClickFiltersTheGrid()
    {
        ensureAgeRun();
        Session* session = m_window->session();
        SlicesPage* page = m_window->slicesPage();
        m_window->showPage(MainWindow::SlicesIndex);
        page->refreshRuns();
        QVERIFY(page->setRun(session->latestRun("age")));
        page->setGrouping("gender");
        page->setAllFaces(false);
        page->compute();
        QVERIFY2(waitForJob(), qPrintable(page->statusText()));
        const auto result = page->result();
        QVERIFY2(result, qPrintable(page->statusText()));
        const faceatlas::SliceReport& report = result->report;

        // One row per gender plus "all" (first), each row's interval around its MAE, drawn so.
        std::set<std::string> genders;
        for (const auto& [by, values] : result->values)
            for (const std::string& v : values)
                if (by == "gender" && !v.empty())
                    genders.insert(v);
        QVERIFY(genders.size() >= 2);
        ForestPlot* plot = page->plot();
        QCOMPARE(plot->rows().size(), genders.size() + 1);
        QCOMPARE(plot->rows().front().by, std::string("all"));
        for (const faceatlas::SliceRow& row : plot->rows()) {
            QVERIFY(row.by == "all" || genders.count(row.slice) == 1);
            QVERIFY2(row.maeLo <= row.mae && row.mae <= row.maeHi, row.slice.c_str());
            QVERIFY(row.biasLo <= row.bias && row.bias <= row.biasHi);
            QVERIFY(plot->xOf(row.maeLo) <= plot->xOf(row.mae) && plot->xOf(row.mae) <= plot->xOf(row.maeHi));
            QVERIFY(row.maeHi <= plot->axisMax() && row.baselineMae <= plot->axisMax());
        }
        QApplication::processEvents();
        QVERIFY(!plot->grab().isNull());
        // Sorted by size, then by name: "all" stays first.
        auto* sort = page->findChild<QComboBox*>("sliceSort");
        sort->setCurrentIndex(sort->findData(static_cast<int>(ForestPlot::Order::Size)));
        QCOMPARE(plot->rows().front().by, std::string("all"));
        for (size_t i = 2; i < plot->rows().size(); ++i)
            QVERIFY(plot->rows()[i - 1].n >= plot->rows()[i].n);
        sort->setCurrentIndex(sort->findData(static_cast<int>(ForestPlot::Order::Name)));
        QCOMPARE(plot->rows().front().by, std::string("all"));
        for (size_t i = 2; i < plot->rows().size(); ++i)
            QVERIFY(plot->rows()[i - 1].slice <= plot->rows()[i].slice);

        // The CSV export holds the report's rows, in its order.
        const QString csv = m_dir.filePath("slices.csv");
        page->exportCsv(csv);
        QVERIFY(waitWritten());
        QVERIFY2(page->statusText().contains(QString("Exported %1 slices to").arg(report.rows.size())),
                 qPrintable(page->statusText()));
        QFile in(csv);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QVERIFY(in.readLine().startsWith("by,slice,n,mae,mae_lo,mae_hi,bias"));
        std::vector<std::string> fields;
        for (const faceatlas::SliceRow& row : report.rows) {
            // slices.csv's 14 columns, the audit's two last (empty without an audit; see Slices.h).
            QVERIFY(faceatlas::splitCsvLine(in.readLine().trimmed().toStdString(), fields) && fields.size() == 14);
            QCOMPARE(fields[0], row.by);
            QCOMPARE(fields[1], row.slice);
            QCOMPARE(std::stoul(fields[2]), static_cast<unsigned long>(row.n));
            QVERIFY(std::abs(std::stod(fields[3]) - row.mae) < 1e-3);
            QVERIFY(std::abs(std::stod(fields[4]) - row.maeLo) < 1e-3);
            QVERIFY(std::abs(std::stod(fields[5]) - row.maeHi) < 1e-3);
        }
        QVERIFY(in.readLine().trimmed().isEmpty());
        const QString png = m_dir.filePath("slices.png");
        QVERIFY(page->savePng(png));
        QCOMPARE(QImage(png).size(), plot->size() * plot->devicePixelRatioF());

        // A click on a gender's row shows exactly its faces in the grid.
        int clicked = 1;
        while (plot->rows()[static_cast<size_t>(clicked)].by != "gender")
            ++clicked;
        const std::string slice = plot->rows()[static_cast<size_t>(clicked)].slice;
        QTest::mouseClick(plot, Qt::LeftButton, {}, plot->rowRect(clicked).center());
        DatasetPage* dataset = m_window->datasetPage();
        QVERIFY(dataset->isVisible());
        QVERIFY2(dataset->subsetText().contains(QString::fromStdString(slice)), qPrintable(dataset->subsetText()));
        std::vector<std::uint32_t> members = faceatlas::sliceMembers(*result, "gender", slice);
        std::vector<std::uint32_t> shown;
        QAbstractItemModel* grid = dataset->grid()->model();
        for (int r = 0; r < grid->rowCount(); ++r)
            shown.push_back(static_cast<std::uint32_t>(grid->index(r, 0).data(ThumbnailModel::IndexRole).toLongLong()));
        std::sort(members.begin(), members.end());
        std::sort(shown.begin(), shown.end());
        QVERIFY(!members.empty());
        QVERIFY(shown == members);
        dataset->setSubset(nullptr, 0);

        // On another dataset the run's entry says where it was trained.
        const QString firstDir = session->datasetDir(), run = page->run();
        m_window->openPath("demo:120");
        QVERIFY(waitForJob());
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(!page->result());
        auto* runs = page->findChild<QComboBox*>("sliceRun");
        const int entry = runs->findData(run);
        QVERIFY(entry >= 0);
        QVERIFY2(runs->itemText(entry).contains("not on this dataset"), qPrintable(runs->itemText(entry)));
        session->openPrepared(firstDir);
        QVERIFY(session->lane()->waitIdle(60000));
    }

    /** The faces of `result` flagged in `mask`, counted over the faces the slice job measured. */
    static size_t measuredIn(const faceatlas::SliceJobResult& result, const std::vector<char>& mask)
    {
        return static_cast<size_t>(std::count_if(result.faces.begin(), result.faces.end(),
                                                 [&](std::uint32_t f) { return f < mask.size() && mask[f]; }));
    }

    /** The report's row `slice` of grouping `by`; null when there is none. */
    static const faceatlas::SliceRow* sliceRow(const faceatlas::SliceJobResult& result, const std::string& by,
                                               const std::string& slice)
    {
        for (const faceatlas::SliceRow& row : result.report.rows)
            if (row.by == by && row.slice == slice)
                return &row;
        return nullptr;
    }

    void aLassoSelectionASubsetAndAClusterBecomeSlices()
    {
        ensureAgeRun();
        Session* session = m_window->session();
        MapPage* map = m_window->mapPage();
        InteractiveLane* lane = session->lane();
        if (!map->hasMap()) {
            const QString ae = session->latestRun("autoencoder");
            if (ae.isEmpty() || !session->runMismatch(ae).isEmpty()) {
                m_window->trainPage()->setModel("autoencoder");
                m_window->trainPage()->setEpochs(1);
                m_window->trainPage()->start();
                QVERIFY(waitForJob());
            }
            if (session->codesDir().isEmpty()) {
                m_window->clustersPage()->encode();
                QVERIFY(waitForJob());
            }
            map->computeMap("pca");
            QVERIFY(waitForJob());
        }
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(map->hasMap(), qPrintable(map->statusText()));
        SlicesPage* page = m_window->slicesPage();
        page->setAllFaces(true);
        page->refreshRuns();
        QVERIFY(page->setRun(session->latestRun("age")));

        // A lasso around the left half, then "Error of these faces": the Slices page runs it.
        m_window->showPage(MainWindow::MapIndex);
        QApplication::processEvents();
        PointMapView* view = map->view();
        view->grab();
        view->setTool(PointMapView::Tool::Lasso);
        const int w = view->width(), h = view->height();
        drag(view, QPolygon() << QPoint(2, 2) << QPoint(w / 2, 2) << QPoint(w / 2, h - 2) << QPoint(2, h - 2));
        const qint64 selected = view->selectedCount();
        QVERIFY(selected > 0 && selected < view->pointCount());
        const std::vector<char> lasso = view->selection();
        auto* button = map->findChild<QPushButton*>("selectionSlice");
        QVERIFY(button);
        QTest::mouseClick(button, Qt::LeftButton);
        QVERIFY(page->isVisible());
        QVERIFY2(waitForJob(), qPrintable(page->statusText()));
        auto result = page->result();
        QVERIFY2(result, qPrintable(page->statusText()));
        const std::string name = QString("selection: %1 faces").arg(selected).toStdString();
        const faceatlas::SliceRow* in = sliceRow(*result, name, "selected");
        const faceatlas::SliceRow* out = sliceRow(*result, name, "others");
        QVERIFY2(in && out, qPrintable(page->statusText()));
        QCOMPARE(in->n, measuredIn(*result, lasso));
        QVERIFY(in->n > 0);
        QCOMPARE(in->n + out->n, result->faces.size());
        QCOMPARE(page->findChild<QComboBox*>("sliceBy")->currentData().toString(), QString::fromStdString(name));

        // A saved subset, chosen again later, is named by its subset.
        map->saveSubset("left faces");
        QVERIFY(waitWritten());
        QTest::keyClick(view, Qt::Key_Escape);
        QVERIFY(map->loadSubset("left faces"));
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(view->selection(), lasso);
        m_window->showPage(MainWindow::MapIndex);
        QTest::mouseClick(button, Qt::LeftButton);
        QVERIFY2(waitForJob(), qPrintable(page->statusText()));
        result = page->result();
        const std::string subset = QString("subset left faces: %1 faces").arg(selected).toStdString();
        in = sliceRow(*result, subset, "selected");
        QVERIFY2(in, qPrintable(page->statusText()));
        QCOMPARE(in->n, measuredIn(*result, lasso));
        // Flags that are not of the open preparation are refused, never sliced.
        QVERIFY(!page->addFacesSlice("wrong", std::make_shared<const std::vector<char>>(lasso.size() + 1, 1)));
        QVERIFY2(page->statusText().contains("not of the open dataset"), qPrintable(page->statusText()));

        // The open preparation's clustering is offered as "cluster"; its slices are its clusters.
        if (session->clustersDir().isEmpty() || session->clusterLabels().empty()) {
            m_window->clustersPage()->setK(3);
            m_window->clustersPage()->cluster();
            QVERIFY(waitForJob());
        }
        QVERIFY(lane->waitIdle(60000));
        const std::vector<int> labels = session->clusterLabels();
        QCOMPARE(labels.size(), session->dataset()->count());
        auto* by = page->findChild<QComboBox*>("sliceBy");
        QVERIFY(by->findData("cluster") >= 0);
        m_window->showPage(MainWindow::SlicesIndex);
        page->setGrouping("cluster");
        page->compute();
        QVERIFY2(waitForJob(), qPrintable(page->statusText()));
        result = page->result();
        std::map<int, size_t> perCluster;
        for (const std::uint32_t f : result->faces)
            if (labels[f] >= 0)
                ++perCluster[labels[f]];
        QVERIFY(!perCluster.empty());
        for (const auto& [cluster, n] : perCluster) {
            const faceatlas::SliceRow* row = sliceRow(*result, "cluster", std::to_string(cluster));
            QVERIFY2(row, qPrintable(QString::number(cluster)));
            QCOMPARE(row->n, n);
        }
    }

    // Issue 27 item 5: the newest audit of the open preparation gives each slice its flagged faces.
    void theSlicesPageCountsTheAuditsFlagsPerSlice()
    {
        ensureAgeRun();
        ensureAuditAndMap();
        Session* session = m_window->session();
        const QString audit = session->newest(faceatlas::OutputKind::Audit);
        QVERIFY(!audit.isEmpty());
        SlicesPage* page = m_window->slicesPage();
        m_window->showPage(MainWindow::SlicesIndex);
        page->refreshRuns();
        QVERIFY(page->setRun(session->latestRun("age")));
        page->setGrouping("gender");
        page->setAllFaces(true);
        page->compute();
        QVERIFY2(waitForJob(), qPrintable(page->statusText()));
        const auto result = page->result();
        QVERIFY2(result, qPrintable(page->statusText()));
        // Counted again here from the audit's own files: every measured face the audit flags.
        const std::vector<char> flagged = faceatlas::auditFlaggedRows(audit.toStdString(), *session->dataset());
        long long expectedAll = 0;
        std::map<std::string, long long> expected;
        for (const auto& [by, values] : result->values)
            if (by == "gender")
                for (size_t k = 0; k < result->faces.size(); ++k) {
                    expectedAll += flagged[result->faces[k]] != 0;
                    if (!values[k].empty())
                        expected[values[k]] += flagged[result->faces[k]] != 0;
                }
        QVERIFY(expectedAll > 0);
        for (const faceatlas::SliceRow& row : page->plot()->rows()) {
            QCOMPARE(row.auditFlagged, row.by == "all" ? expectedAll : expected[row.slice]);
            QVERIFY(!ForestPlot::auditText(row).isEmpty());
        }
        const auto* summary = page->findChild<QLabel*>("sliceSummary");
        QVERIFY(summary);
        QVERIFY2(summary->text().contains(QStringLiteral("label audit of this preparation flags %1").arg(expectedAll)),
                 qPrintable(summary->text()));
        QApplication::processEvents();
        page->plot()->grab().save(m_dir.filePath("slices-audit.png"));
    }

    void compareAcrossDatasetsFillsTheTableWithEachRunsErrorOnEachPreparation()
    {
        ensureAgeRun();
        Session* session = m_window->session();
        session->refreshIndex();
        m_window->showPage(MainWindow::RunsIndex);
        RunsPage* runs = m_window->runsPage();
        runs->showCrossDatasets();
        CrossDatasetTable* matrix = runs->crossDatasets();
        matrix->setAllFaces(true);
        matrix->compute();
        QVERIFY2(waitForJob(600), qPrintable(matrix->statusText()));
        QTableWidget* table = matrix->table();
        QVERIFY2(table->rowCount() >= 1 && table->columnCount() >= 1, qPrintable(matrix->statusText()));
        const auto& cells = matrix->cells();
        QCOMPARE(cells.size(), static_cast<size_t>(table->rowCount() * table->columnCount()));

        // The cell of the latest age run on the open preparation: the figures evaluate gives, by hand.
        const auto* data = session->dataset();
        const std::filesystem::path run = session->latestRun("age").toStdString();
        const auto cellAt = std::find_if(cells.begin(), cells.end(), [&](const faceatlas::AgeMatrixCell& c) {
            return std::filesystem::equivalent(c.run, run) && std::filesystem::equivalent(c.data, data->dir());
        });
        QVERIFY(cellAt != cells.end());
        QVERIFY2(cellAt->measured(), cellAt->error.c_str());
        faceatlas::LoadedModel loaded = faceatlas::loadRunModel(run);
        const auto labelled = faceatlas::labelledFaces(*data, faceatlas::Split::All);
        const auto predicted =
            faceatlas::predictAges(*loaded.model, *data, labelled.indices, faceatlas::resolveDevice("cpu"));
        double mae = 0, bias = 0;
        for (size_t k = 0; k < predicted.size(); ++k) {
            mae += std::abs(predicted[k] - labelled.ages[k]);
            bias += predicted[k] - labelled.ages[k];
        }
        mae /= static_cast<double>(predicted.size());
        bias /= static_cast<double>(predicted.size());
        QCOMPARE(cellAt->n, predicted.size());
        QVERIFY2(std::abs(cellAt->mae - mae) < 1e-3, qPrintable(QString("%1 vs %2").arg(cellAt->mae).arg(mae)));
        QVERIFY(std::abs(cellAt->bias - bias) < 1e-3);
        QVERIFY(cellAt->baselineMae > 0);
        const int index = static_cast<int>(cellAt - cells.begin());
        const QTableWidgetItem* item = table->item(index / table->columnCount(), index % table->columnCount());
        QVERIFY(item);
        QVERIFY2(item->text().startsWith(QString("%1 (%2)").arg(mae, 0, 'f', 2).arg(predicted.size())),
                 qPrintable(item->text()));
        QVERIFY2(item->text().contains(QString("bias %1").arg(bias, 0, 'f', 2)), qPrintable(item->text()));
        QVERIFY(item->font().bold()); // the run's own preparation

        // Coloured against the baseline: green well under it, red at or above it.
        const auto colour = &CrossDatasetTable::colourAgainstBaseline;
        QVERIFY(colour(5, 10).green() > colour(5, 10).red() + 30);
        QVERIFY(colour(10, 10).red() > colour(10, 10).green() + 40);
        QVERIFY(colour(12, 10) == colour(10, 10));
        QVERIFY(colour(8, 10) != colour(5, 10) && colour(8, 10) != colour(10, 10));
        for (int r = 0; r < table->rowCount(); ++r)
            for (int c = 0; c < table->columnCount(); ++c) {
                const faceatlas::AgeMatrixCell& cell = cells[static_cast<size_t>(r * table->columnCount() + c)];
                if (!cell.measured())
                    QCOMPARE(table->item(r, c)->text(), QString("—"));
                else
                    QCOMPARE(table->item(r, c)->background().color(), colour(cell.mae, cell.baselineMae));
            }
    }

    // --- The workspace index: each page shows only the open preparation's work (issue 23) ---

    void eachPageShowsOnlyTheOpenPreparationsWork()
    {
        ensureAuditAndMap(); // codes, a map and an audit of the first preparation
        Session* session = m_window->session();
        InteractiveLane* lane = session->lane();
        if (session->clustersDir().isEmpty()) {
            m_window->clustersPage()->cluster();
            QVERIFY(waitForJob());
        }
        const QString firstDir = session->datasetDir(), firstCodes = session->codesDir(),
                      firstClusters = session->clustersDir(), firstMap = session->newest(faceatlas::OutputKind::Map),
                      firstAudit = session->newest(faceatlas::OutputKind::Audit);
        QVERIFY(!firstCodes.isEmpty() && !firstClusters.isEmpty() && !firstMap.isEmpty() && !firstAudit.isEmpty());

        // Another dataset: nothing of the first one's is shown as its own, and each page says where it is.
        m_window->openPath("demo:150");
        QVERIFY(waitForJob());
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(lane->waitIdle(60000));
        QVERIFY(session->datasetDir() != firstDir);
        QVERIFY(session->codesDir().isEmpty());
        QVERIFY(session->clustersDir().isEmpty());
        QVERIFY(session->clusterLabels().empty());
        QVERIFY(!m_window->mapPage()->hasMap());
        QVERIFY2(m_window->mapPage()->statusText().contains("other preparations"),
                 qPrintable(m_window->mapPage()->statusText()));
        QVERIFY2(m_window->clustersPage()->summaryText().contains("other preparations"),
                 qPrintable(m_window->clustersPage()->summaryText()));
        QCOMPARE(m_window->reviewPage()->queueCount(), 0);
        QVERIFY2(m_window->reviewPage()->statusText().contains("other preparations"),
                 qPrintable(m_window->reviewPage()->statusText()));

        // Encode names the autoencoder it uses, and says it was trained on another dataset.
        m_window->clustersPage()->encode();
        QVERIFY2(m_window->clustersPage()->summaryText().contains("autoencoder"),
                 qPrintable(m_window->clustersPage()->summaryText()));
        QVERIFY(waitForJob());
        QVERIFY2(m_window->clustersPage()->summaryText().contains("not on this dataset"),
                 qPrintable(m_window->clustersPage()->summaryText()));
        const QString secondCodes = session->codesDir();
        QVERIFY(!secondCodes.isEmpty() && secondCodes != firstCodes);
        const QString secondDir = session->datasetDir();

        // A fresh settings profile on the same workspace finds each preparation's own work.
        QSettings().clear();
        {
            Session fresh;
            fresh.setWorkspace(session->workspace());
            fresh.openPrepared(firstDir);
            QCOMPARE(fresh.codesDir(), firstCodes);
            QCOMPARE(fresh.clustersDir(), firstClusters);
            QCOMPARE(fresh.newest(faceatlas::OutputKind::Map), firstMap);
            QCOMPARE(fresh.newest(faceatlas::OutputKind::Audit), firstAudit);
            QVERIFY(!fresh.clusterLabels().empty());
            fresh.openPrepared(secondDir);
            QCOMPARE(fresh.codesDir(), secondCodes);
            QVERIFY(fresh.clustersDir().isEmpty());
        }

        // A damaged artifact is listed as damaged (with the file), never current, and nothing else breaks.
        QFile damaged(firstClusters + "/metrics.json");
        QVERIFY(damaged.open(QIODevice::WriteOnly | QIODevice::Truncate));
        damaged.write("{\"format\": \"faceatlas-clustering\", \"k\": ");
        damaged.close();
        session->refreshIndex();
        WorkspaceDialog dialog(session, m_window.get());
        const QStringList rows = dialog.rows();
        const auto damagedRow = std::find_if(rows.begin(), rows.end(), [&](const QString& row) {
            return row.contains(QFileInfo(firstClusters).fileName());
        });
        QVERIFY(damagedRow != rows.end());
        QVERIFY2(damagedRow->contains("damaged") && damagedRow->contains("metrics.json"), qPrintable(*damagedRow));
        QVERIFY(std::any_of(rows.begin(), rows.end(), [&](const QString& row) {
            return row.contains(QFileInfo(secondCodes).fileName()) && row.contains("shown now");
        }));
        session->openPrepared(firstDir);
        QVERIFY(lane->waitIdle(60000));
        QVERIFY(session->clustersDir() != firstClusters);
        QCOMPARE(session->codesDir(), firstCodes);
    }

    // --- A csv: source's further columns colour the map and filter the grid (issue 27) ---

    void aCsvColumnColoursTheMapAndFiltersTheGrid()
    {
        ensureAuditAndMap(); // an autoencoder to encode the CSV's faces with
        Session* session = m_window->session();
        InteractiveLane* lane = session->lane();
        // 60 of the demo's pictures as a CSV with a further column: three sites, every third face none.
        const auto* demo = session->dataset();
        const QString file = m_dir.filePath("sites.csv");
        std::map<std::string, std::string> siteOf; // by the picture's path
        {
            QFile csv(file);
            QVERIFY(csv.open(QIODevice::WriteOnly | QIODevice::Truncate));
            csv.write("path,age,gender,site\n");
            for (size_t i = 0; i < 60; ++i) {
                const auto& r = demo->records()[i];
                const std::string site = i % 4 == 3 ? "" : (i % 4 == 0 ? "north" : (i % 4 == 1 ? "south" : "east"));
                siteOf[r.path] = site;
                csv.write((r.path + "," + std::to_string(r.age.value_or(30)) + ","
                           + (r.gender == faceatlas::Gender::Female ? "F" : "M") + "," + site + "\n")
                              .c_str());
            }
        }
        m_window->openPath("csv:" + file);
        QVERIFY(waitForJob());
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(lane->waitIdle(60000));
        const auto* data = session->dataset();
        QVERIFY(data && data->count() > 20 && data->count() <= 60);
        std::vector<std::string> sites;
        for (const auto& r : data->records()) {
            QVERIFY2(siteOf.count(r.path), r.path.c_str());
            sites.push_back(siteOf[r.path]);
        }

        // The map, coloured by the column: one colour per value, named in the legend; no value grey "unknown".
        m_window->clustersPage()->encode();
        QVERIFY(waitForJob());
        MapPage* map = m_window->mapPage();
        m_window->showPage(MainWindow::MapIndex);
        map->computeMap("pca");
        QVERIFY(waitForJob());
        QVERIFY(lane->waitIdle(60000));
        QVERIFY2(map->hasMap(), qPrintable(map->statusText()));
        auto* colorBy = map->findChild<QComboBox*>("colorBy");
        QVERIFY(colorBy->findText("column: site") >= 0);
        map->setColorBy("column: site");
        QVERIFY(lane->waitIdle(60000));
        const MapLegend& legend = map->view()->legend();
        QCOMPARE(legend.title, QString("site"));
        std::map<QString, QRgb> colourOf; // a legend entry's value ("north (15)" is north) to its colour
        for (const auto& [colour, text] : legend.entries)
            colourOf[text.section(' ', 0, 0)] = colour.rgb();
        QCOMPARE(colourOf.size(), size_t(4));
        QVERIFY(colourOf.count("north") && colourOf.count("south") && colourOf.count("east")
                && colourOf.count("unknown"));
        const std::vector<QRgb>& colours = map->view()->colors();
        QCOMPARE(colours.size(), data->count());
        for (size_t i = 0; i < colours.size(); ++i)
            QCOMPARE(colours[i], colourOf[sites[i].empty() ? QString("unknown") : QString::fromStdString(sites[i])]);
        QVERIFY(colourOf["north"] != colourOf["south"] && colourOf["south"] != colourOf["east"]);

        // The grid's "column = value" filter shows exactly the faces with that value.
        DatasetPage* page = m_window->datasetPage();
        m_window->showPage(MainWindow::DatasetIndex);
        auto* column = page->findChild<QComboBox*>("filterColumn");
        auto* value = page->findChild<QComboBox*>("filterValue");
        QVERIFY(column->isVisibleTo(page));
        column->setCurrentIndex(column->findText("site"));
        QVERIFY(lane->waitIdle(60000));
        const int south = value->findData(QString("south"));
        QVERIFY(south > 0);
        value->setCurrentIndex(south);
        QVERIFY(lane->waitIdle(60000));
        QAbstractItemModel* grid = page->grid()->model();
        const auto expected = static_cast<int>(std::count(sites.begin(), sites.end(), "south"));
        QVERIFY(expected > 0);
        QCOMPARE(grid->rowCount(), expected);
        for (int r = 0; r < grid->rowCount(); ++r)
            QCOMPARE(sites[static_cast<size_t>(grid->index(r, 0).data(ThumbnailModel::IndexRole).toLongLong())],
                     std::string("south"));
        // "Any value" shows everyone again.
        value->setCurrentIndex(0);
        QVERIFY(lane->waitIdle(60000));
        QCOMPARE(static_cast<size_t>(grid->rowCount()), data->count());
    }

    void cleanupTestCase() { m_window.reset(); }
};

int main(int argc, char** argv)
{
    // The application the program uses: exceptions stop at the event boundary.
    faceatlas::ui::GuardedApplication app(argc, argv);
    faceatlas::ui::GuardedApplication::setShowMessages(false);
    MainWindowTest test;
    return QTest::qExec(&test, argc, argv);
}
#include "MainWindowTest.moc"

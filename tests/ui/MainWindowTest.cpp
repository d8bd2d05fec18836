// Drives the real window under QT_QPA_PLATFORM=offscreen: what a person would click, what they would see.
#include "MainWindow.h"
#include "AttentionPage.h"
#include "ClustersPage.h"
#include "data/PreparedDataset.h"
#include "DatasetPage.h"
#include "JobRunner.h"
#include "ml/Runs.h"
#include "RunsPage.h"
#include "Session.h"
#include "TrainPage.h"

#include <QDir>
#include <QDoubleSpinBox>
#include <QMenu>
#include <QMenuBar>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace faceatlas::ui;

class MainWindowTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;

    /** Waits for the running job to end; true when it ended well. */
    bool waitForJob(int seconds = 240)
    {
        QSignalSpy spy(m_window->session()->jobs(), &JobRunner::finished);
        if (!m_window->session()->jobs()->isRunning())
            return false;
        if (!spy.wait(seconds * 1000))
            return false;
        // The spy hears the signal on the worker thread; let the GUI thread's queued handlers run too.
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
        return spy.takeFirst().at(1).toBool();
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
    }

    void openDemoFillsTheGrid()
    {
        m_window->openPath("demo:300");
        QVERIFY(waitForJob());
        auto* steps = m_window->datasetPage()->findChild<QTableWidget*>();
        QVERIFY(steps);
        QCOMPARE(steps->rowCount(), 5);
        // A stricter face-score threshold removes more at that step, live.
        const int before = steps->item(2, 1)->text().toInt();
        auto spins = m_window->datasetPage()->findChildren<QDoubleSpinBox*>();
        QVERIFY(!spins.isEmpty());
        spins.first()->setValue(3.0); // min face score
        QVERIFY(steps->item(2, 1)->text().toInt() > before);
        spins.first()->setValue(1.0);
        m_window->datasetPage()->prepare();
        QVERIFY(waitForJob());
        QVERIFY(m_window->session()->dataset() != nullptr);
        QCOMPARE(static_cast<size_t>(m_window->datasetPage()->faceCount()), m_window->session()->dataset()->count());
        QVERIFY(m_window->datasetPage()->faceCount() > 100);
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
        const QDir dir(m_window->session()->clustersDir());
        QVERIFY(!QPixmap(dir.filePath("galleries/0.png")).isNull());
        QVERIFY(!QPixmap(dir.filePath("centroids/0.png")).isNull());
        // The path between any two clusters is drawn from the saved centres, and changes with them.
        m_window->clustersPage()->setInterpolation(0, 1);
        const QImage first = m_window->clustersPage()->interpolationPixmap().toImage();
        QVERIFY(!first.isNull());
        m_window->clustersPage()->setInterpolation(0, 2);
        const QImage second = m_window->clustersPage()->interpolationPixmap().toImage();
        QVERIFY(!second.isNull());
        QVERIFY(first != second);
    }

    void attentionOverlayIsShown()
    {
        m_window->showPage(3);
        m_window->attentionPage()->setFace(2);
        QVERIFY(m_window->attentionPage()->render());
        QVERIFY(m_window->attentionPage()->hasOverlay());
        // A whole cluster: the Grad-CAM averaged over its faces.
        QVERIFY(!m_window->session()->clusterLabels().empty());
        m_window->attentionPage()->setCluster(0);
        QVERIFY(m_window->attentionPage()->render());
        QVERIFY(m_window->attentionPage()->hasOverlay());
        m_window->attentionPage()->setCluster(-1);
    }

    void predictionsSortTheGridByError()
    {
        m_window->datasetPage()->predictAll();
        QVERIFY(waitForJob());
        QCOMPARE(m_window->session()->predictions().size(), m_window->session()->dataset()->count());
    }

    void cancelStopsTrainingAndKeepsACheckpoint()
    {
        TrainPage* train = m_window->trainPage();
        train->setModel("age");
        train->setEpochs(50);
        train->start();
        QSignalSpy spy(m_window->session()->jobs(), &JobRunner::finished);
        QTest::qWait(1500);
        m_window->session()->jobs()->cancel();
        QVERIFY(spy.wait(60000));
        QVERIFY(spy.first().at(2).toBool()); // cancelled
        const QString run = m_window->session()->latestRun("age");
        QVERIFY(QFileInfo::exists(run + "/last.pt"));
        QVERIFY(faceatlas::loadCheckpoint((run + "/last.pt").toStdString()).model != nullptr);
    }

    void cleanupTestCase() { m_window.reset(); }
};

QTEST_MAIN(MainWindowTest)
#include "MainWindowTest.moc"

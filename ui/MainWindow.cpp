#include "MainWindow.h"

#include "AttentionPage.h"
#include "ClustersPage.h"
#include "data/SourceKinds.h"
#include "DatasetPage.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MapPage.h"
#include "ml/Runtime.h"
#include "PointMapView.h"
#include "ReviewPage.h"
#include "RunsPage.h"
#include "ScreenFit.h"
#include "Session.h"
#include "SlicesPage.h"
#include "StallProbe.h"
#include "TrainPage.h"
#include "WriteQueue.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QProgressDialog>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTimer>

namespace faceatlas::ui {

namespace {

/** The pages, in the order of MainWindow::Page: the navigation's title and the key that shows each
 *  (Actions > Go to; the shortcuts dialog lists them). */
struct PageRow {
    MainWindow::Page page;
    const char* title;
    const char* key;
};
constexpr PageRow kPageRows[] = {
    {MainWindow::DatasetIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Dataset"), "Ctrl+1"},
    {MainWindow::TrainIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Train"), "Ctrl+2"},
    {MainWindow::ClustersIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Clusters"), "Ctrl+3"},
    {MainWindow::MapIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Map"), "Ctrl+4"},
    {MainWindow::ReviewIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Review"), "Ctrl+5"},
    {MainWindow::AttentionIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Attention"), "Ctrl+6"},
    {MainWindow::RunsIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Runs"), "Ctrl+7"},
    {MainWindow::SlicesIndex, QT_TRANSLATE_NOOP("faceatlas::ui::MainWindow", "Slices"), "Ctrl+8"},
};

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_session(new Session(this))
{
    setWindowTitle(tr("FaceAtlas"));
    setAcceptDrops(true);
    buildPages();
    connectFaceRequests();
    connectPages();
    buildStatusBar();
    m_stallProbe = new StallProbe(this);
    if (StallProbe::askedForByEnvironment())
        m_stallProbe->start();
    buildMenus();
    // 1500 x 950, or the screen's free area when it is smaller (a laptop's 1366 x 768).
    // Below 960 x 600 no page can show its controls beside its pictures; smaller screens get their free area.
    const QRect free = screen() ? screen()->availableGeometry() : QRect(0, 0, 1366, 768);
    setMinimumSize(std::min(960, free.width()), std::min(600, free.height()));
    resize(1500, 950);
    fitWindowToItsScreen(this);
    restoreRemembered();
}

void MainWindow::buildPages()
{
    m_nav = new QListWidget;
    m_nav->setFixedWidth(130);
    m_nav->setStyleSheet("QListWidget::item { padding: 10px; }");
    m_pages = new QStackedWidget;
    m_dataset = new DatasetPage(m_session);
    m_train = new TrainPage(m_session);
    m_clusters = new ClustersPage(m_session);
    m_map = new MapPage(m_session);
    m_review = new ReviewPage(m_session);
    m_attention = new AttentionPage(m_session);
    m_runs = new RunsPage(m_session);
    m_slices = new SlicesPage(m_session);
    const std::map<Page, QWidget*> widgets = {
        {DatasetIndex, m_dataset}, {TrainIndex, m_train},         {ClustersIndex, m_clusters}, {MapIndex, m_map},
        {ReviewIndex, m_review},   {AttentionIndex, m_attention}, {RunsIndex, m_runs},         {SlicesIndex, m_slices},
    };
    for (const PageRow& row : kPageRows) {
        m_nav->addItem(tr(row.title));
        m_pages->addWidget(pageScroller(widgets.at(row.page))); // a page taller than a laptop's screen scrolls
    }
    auto* central = new QWidget;
    auto* layout = new QHBoxLayout(central);
    layout->addWidget(m_nav);
    layout->addWidget(m_pages, 1);
    setCentralWidget(central);
    connect(m_nav, &QListWidget::currentRowChanged, m_pages, &QStackedWidget::setCurrentIndex);
    m_nav->setCurrentRow(0);
}

void MainWindow::addPageShortcuts(QMenu* menu)
{
    for (const PageRow& row : kPageRows)
        menu->addAction(tr(row.title), QKeySequence(QString::fromLatin1(row.key)), this,
                        [this, page = row.page] { showPage(page); });
}

void MainWindow::connectFaceRequests()
{
    // A face asked for on one page is shown where it is looked at: Attention, the grid or the map.
    const auto showAttention = [this](qint64 face) {
        m_attention->setCluster(-1);
        m_attention->setFace(face);
        showPage(AttentionIndex);
    };
    const auto showInGrid = [this](qint64 face) {
        m_dataset->showDatasetFace(face);
        showPage(DatasetIndex);
    };
    connect(m_dataset, &DatasetPage::faceActivated, m_attention, &AttentionPage::setFace);
    connect(m_train, &TrainPage::faceActivated, this, showAttention);
    connect(m_clusters, &ClustersPage::faceChosen, this, showAttention);
    connect(m_dataset, &DatasetPage::showAttention, this, showAttention);
    connect(m_map, &MapPage::faceChosen, this, showInGrid);
    connect(m_review, &ReviewPage::faceChosen, this, showInGrid);
    connect(m_dataset, &DatasetPage::gridSelectionChanged, m_map->view(), &PointMapView::setHighlighted);
    connect(m_dataset, &DatasetPage::moreLikeThis, this, [this](qint64 face) {
        showPage(MapIndex);
        m_map->similarTo(face);
    });
}

void MainWindow::connectPages()
{
    // The Runs page lists the run being trained, says "running" only of it, and updates each epoch.
    connect(m_train, &TrainPage::trainingStarted, m_runs, &RunsPage::setActiveRun);
    connect(m_train, &TrainPage::epochFinished, m_runs, &RunsPage::refreshSoon);
    connect(m_train, &TrainPage::trainingFinished, m_runs, [this] {
        m_runs->setActiveRun({});
        m_runs->refreshSoon();
    });
    connect(m_clusters, &ClustersPage::showMembers, this, [this](int cluster) {
        m_dataset->filterToCluster(cluster);
        showPage(DatasetIndex);
    });
    // The map's selection drives the grid, the grid's selection marks the map.
    connect(m_map, &MapPage::subsetChanged, m_dataset, &DatasetPage::setSubset);
    connect(m_map, &MapPage::showGrid, this, [this] { showPage(DatasetIndex); });
    // "These faces against everyone": the map's selection or saved subset becomes a slice, computed at once.
    connect(m_map, &MapPage::sliceRequested, this,
            [this](const QString& name, std::shared_ptr<const std::vector<char>> mask) {
                showPage(SlicesIndex);
                m_slices->addFacesSlice(name, std::move(mask));
            });
    // A slice clicked in the forest plot: its faces in the grid.
    connect(m_slices, &SlicesPage::showFaces, this,
            [this](std::shared_ptr<const std::vector<char>> mask, qint64 count, const QString& what) {
                m_dataset->setNamedSubset(std::move(mask), count, what);
                showPage(DatasetIndex);
            });
    connect(m_map, &MapPage::clusterRows, this, [this](const std::vector<std::int64_t>& rows) {
        showPage(ClustersIndex);
        m_clusters->clusterRows(rows);
    });
    // The audit's scores colour the map; decisions made on either page are applied by the next Prepare.
    connect(m_review, &ReviewPage::suspicionChanged, m_map, &MapPage::setSuspicion);
    connect(m_review, &ReviewPage::decided, m_dataset, &DatasetPage::refreshReview);
    connect(m_map, &MapPage::decided, m_dataset, &DatasetPage::refreshReview);
    // The Review page's Decided view lists the map's excludes too; Prepare's warning about what
    // the decisions remove leads there.
    connect(m_map, &MapPage::decided, m_review, &ReviewPage::refreshDecisions);
    connect(m_dataset, &DatasetPage::reviewDecisionsRequested, this, [this] {
        showPage(ReviewIndex);
        m_review->showDecisions();
    });
    connect(m_runs, &RunsPage::continueRun, this, [this](const QString& model) {
        m_train->setModel(model);
        showPage(TrainIndex);
        m_train->start(/*resume=*/true);
    });
    connect(m_runs, &RunsPage::encodeWith, this, [this] {
        showPage(ClustersIndex);
        m_clusters->encode();
    });
    connect(m_runs, &RunsPage::predictWith, this, [this] {
        showPage(DatasetIndex);
        m_dataset->predictAll();
    });
}

void MainWindow::buildStatusBar()
{
    // Status bar: the running job, its progress and ETA, and Cancel.
    m_jobLabel = new QLabel(tr("Ready"));
    m_jobLabel->setObjectName("jobStatus");
    m_progress = new QProgressBar;
    m_progress->setMaximumWidth(260);
    // The percentage is said in words beside the bar (m_eta): the style's text drawn on the bar
    // overlapped its chunk.
    m_progress->setTextVisible(false);
    m_progress->hide();
    m_eta = new QLabel;
    m_cancel = new QPushButton(tr("Cancel"));
    m_cancel->setObjectName(QStringLiteral("cancelJob"));
    m_cancel->hide();
    statusBar()->addWidget(m_jobLabel, 1);
    statusBar()->addPermanentWidget(m_eta);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancel);
    JobRunner* jobs = m_session->jobs();
    connect(m_cancel, &QPushButton::clicked, jobs, &JobRunner::cancel);
    connect(jobs, &JobRunner::started, this, [this](const QString& title) {
        m_jobLabel->setText(title);
        m_progress->setRange(0, 0);
        m_progress->show();
        m_cancel->show();
        m_eta->clear();
        m_jobClock.start();
        m_stageTotal = -1;
    });
    connect(jobs, &JobRunner::refused, this,
            [this](const QString& title, const QString& reason) { statusBar()->showMessage(reason, 10000); });
    connect(jobs, &JobRunner::progress, this, &MainWindow::showJobProgress);
    connect(jobs, &JobRunner::finished, this, &MainWindow::showJobEnd);
}

void MainWindow::showJobProgress(const QString& stage, qint64 done, qint64 total)
{
    const JobRunner* jobs = m_session->jobs();
    m_jobLabel->setText(QStringLiteral("%1: %2").arg(jobs->title(), stage));
    if (total > 0) {
        m_progress->setRange(0, 1000);
        m_progress->setValue(static_cast<int>(1000 * done / total));
        // The ETA is of this stage (an epoch, a decoding pass): its clock starts when it starts.
        if (total != m_stageTotal || done < m_stageLastDone) {
            m_stageTotal = total;
            m_stageStartDone = done;
            m_jobClock.restart();
        }
        m_stageLastDone = done;
        const double elapsed = m_jobClock.elapsed() / 1000.0;
        const qint64 progressed = done - m_stageStartDone;
        const QString percent = QStringLiteral("%1%").arg(100 * done / total);
        m_eta->setText(progressed > 0 && elapsed > 1
                           ? tr("%1, %2 s left in this stage")
                                 .arg(percent)
                                 .arg(static_cast<int>(elapsed * static_cast<double>(total - done) / progressed))
                           : percent);
    } else {
        m_progress->setRange(0, 0);
        m_eta->clear();
    }
}

void MainWindow::showJobEnd(const QString& title, bool ok, bool cancelled, const QString& error)
{
    m_progress->hide();
    m_cancel->hide();
    m_eta->clear();
    if (!ok) {
        m_jobLabel->setText(tr("%1 failed").arg(title));
        if (m_failuresAsWarnings)
            qWarning("%s failed: %s", qPrintable(title), qPrintable(error));
        else
            showJobFailure(title, error);
    } else {
        // A job that ended well without doing its work says what happened instead.
        const QString outcome = m_session->jobs()->outcome();
        m_jobLabel->setText(cancelled            ? tr("%1 cancelled").arg(title)
                            : !outcome.isEmpty() ? tr("%1: %2").arg(title, outcome)
                                                 : tr("%1 done").arg(title));
    }
}

MainWindow::~MainWindow()
{
    QSettings().setValue("session/running", false);
}

void MainWindow::restoreRemembered()
{
    // A start never depends on remembered state being valid: a preparation that fails to open is
    // forgotten, and after a session that did not end cleanly nothing is reopened at all.
    QSettings settings;
    // A geometry saved on a larger screen (or one since unplugged) is brought inside this one.
    restoreGeometry(settings.value("geometry").toByteArray());
    fitWindowToItsScreen(this);
    const bool lastEndedCleanly = !settings.value("session/running", false).toBool();
    settings.setValue("session/running", true);
    const QString prepared = settings.value("prepared").toString();
    if (prepared.isEmpty())
        return;
    if (!lastEndedCleanly) {
        m_session->forgetRemembered();
        // Shown once the window is: a message shown before would be drawn over the status label.
        QTimer::singleShot(0, this, [this, prepared] {
            statusBar()->showMessage(tr("The last session did not end cleanly, so its dataset (%1) was not reopened. "
                                        "File > Recent still lists it.")
                                         .arg(prepared),
                                     30000);
        });
        return;
    }
    try {
        m_session->openPrepared(prepared);
    } catch (const std::exception& e) {
        m_session->forgetRemembered();
        QTimer::singleShot(0, this, [this, why = QString::fromUtf8(e.what())] {
            statusBar()->showMessage(tr("The last dataset could not be reopened: %1").arg(why), 30000);
        });
        return;
    }
    // Its source is read again in the background, so the cleaning steps can be changed and Prepare works.
    const QString source = settings.value("source").toString();
    if (!source.isEmpty())
        m_dataset->loadSource(source);
}

void MainWindow::showPage(int index)
{
    m_nav->setCurrentRow(index);
}

void MainWindow::openPath(const QString& pathOrSpec)
{
    // A path is opened as the kind core's table says (a SPEC, or anything else, is passed on as it is).
    const QString spec = QString::fromStdString(guessSourceSpec(pathOrSpec.toStdString()));
    showPage(DatasetIndex);
    m_dataset->loadSource(spec);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (!m_closing && m_confirmClose && m_session->jobs()->isRunning()) {
        const auto answer = QMessageBox::question(
            this, tr("FaceAtlas"),
            tr("%1 is still running. Stop it and close? (A training keeps its last finished epoch.)")
                .arg(m_session->jobs()->title()));
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
    }
    m_closing = true;
    // The lane only reads: its running request is cancelled and stops at its next check. The job is
    // cancelled now and waited for below.
    m_session->lane()->shutDown(0);
    m_session->jobs()->cancel();
    // What the user made (decisions, excludes, saves) is never dropped: the window stays until the
    // write queue is empty, and says so when that takes more than half a second.
    WriteQueue* writer = m_session->writer();
    if (writer->pending() > 0) {
        event->ignore();
        waitForWritesThenClose();
        return;
    }
    delete m_closingNote;
    m_session->lane()->shutDown(1000); // a second at most for its running request
    // Closing during a job cancels it and waits: the trainer keeps its last checkpoint.
    m_session->jobs()->cancelAndWait();
    QSettings().setValue("geometry", saveGeometry());
    QSettings().setValue("session/running", false);
    event->accept();
}

void MainWindow::waitForWritesThenClose()
{
    if (m_waitingForWrites)
        return;
    m_waitingForWrites = true;
    centralWidget()->setEnabled(false); // nothing more to decide while the last decisions are written
    menuBar()->setEnabled(false);
    WriteQueue* writer = m_session->writer();
    connect(
        writer, &WriteQueue::drained, this,
        [this] {
            m_waitingForWrites = false;
            close();
        },
        Qt::SingleShotConnection);
    QTimer::singleShot(500, this, [this, writer] {
        if (!m_waitingForWrites || m_closingNote)
            return;
        m_closingNote = new QProgressDialog(this);
        m_closingNote->setObjectName(QStringLiteral("closingNote"));
        m_closingNote->setWindowTitle(tr("FaceAtlas"));
        m_closingNote->setCancelButton(nullptr);
        m_closingNote->setRange(0, 0);
        m_closingNote->setMinimumDuration(0);
        m_closingNote->setWindowModality(Qt::WindowModal);
        const auto update = [this, writer] {
            if (m_closingNote)
                m_closingNote->setLabelText(
                    tr("Writing your decisions, excludes and saves to disk before closing: %1 left.")
                        .arg(writer->pending()));
        };
        update();
        auto* timer = new QTimer(m_closingNote);
        connect(timer, &QTimer::timeout, m_closingNote, update);
        timer->start(200);
        m_closingNote->show();
    });
}

void MainWindow::showJobFailure(const QString& title, const QString& error)
{
    // A failed job leaves what the pages show as it was (a prepared folder, codes or a clustering is
    // swapped in only when it is whole). When the disk was full, the same job can run again once
    // the user has made room: the message names the folder and the bytes, Retry starts it again.
    const bool diskFull = error.contains(QStringLiteral("not enough disk space"), Qt::CaseInsensitive);
    // Not exec(): the message must not hold the event loop inside the slot that shows it.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("FaceAtlas"), tr("%1 failed:\n\n%2").arg(title, error),
                                QMessageBox::Close, this);
    box->setObjectName(QStringLiteral("jobFailure"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setModal(false);
    if (diskFull && m_session->jobs()->canRetry()) {
        box->setInformativeText(tr("What was shown before stays. Free some space there and press Retry to run the "
                                   "same job again."));
        QPushButton* retry = box->addButton(tr("Retry"), QMessageBox::AcceptRole);
        retry->setObjectName(QStringLiteral("retry"));
        connect(retry, &QPushButton::clicked, this, [this] {
            if (!m_session->jobs()->retryFailed())
                statusBar()->showMessage(m_session->jobs()->isRunning() ? m_session->jobs()->busyReason()
                                                                        : tr("There is no failed job to retry."),
                                         10000);
        });
        box->setDefaultButton(retry);
    }
    box->show();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const auto urls = event->mimeData()->urls();
    if (urls.isEmpty() || !urls.first().isLocalFile())
        return;
    // An image file: more like it, on the map. Anything else is a dataset to open.
    const QString file = urls.first().toLocalFile();
    const QString suffix = QFileInfo(file).suffix().toLower();
    if (QFileInfo(file).isFile() && QStringList{"jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"}.contains(suffix)) {
        showPage(MapIndex);
        m_map->similarToImage(file);
        return;
    }
    openPath(file);
}

} // namespace faceatlas::ui

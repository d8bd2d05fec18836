// The Dataset page's construction: the cleaning column around its CleaningPanel, and the signals
// between the page's parts (CleaningPanel, FaceGrid, FacePanel) and the session (DatasetPage.cpp
// holds what they do).
#include "DatasetPage.h"

#include "Charts.h"
#include "CleaningPanel.h"
#include "data/PreparedDataset.h"
#include "FaceGrid.h"
#include "HistoryPanel.h"
#include "ScreenFit.h"
#include "Session.h"
#include "ThumbnailModel.h"

#include <QChart>
#include <QChartView>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace faceatlas::ui {

QWidget* DatasetPage::buildCleaningColumn()
{
    // Every step in full: names wrap, the numbers' columns fit them, the table as tall as its rows
    // (the panel scrolls instead; see fitStepTable).
    m_steps = new QTableWidget(0, 3);
    m_steps->setObjectName("steps");
    m_steps->setHorizontalHeaderLabels({tr("Step"), tr("Removed"), tr("Remaining")});
    m_steps->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_steps->verticalHeader()->hide();
    m_steps->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_steps->setWordWrap(true);
    m_steps->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_steps->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    fitStepTable();
    watchStepTableWidth();
    m_previewNote = new QLabel;
    m_previewNote->setObjectName("previewNote");
    m_previewNote->setWordWrap(true);
    m_previewNote->hide();
    m_detectNow = new QPushButton(tr("Detect faces now"));
    m_detectNow->setObjectName("detectNow");
    m_detectNow->setToolTip(tr("Find the faces in the pictures not looked at yet, so that every step's count is "
                               "exact; Prepare then reuses what was found"));
    m_detectNow->hide();
    connect(m_detectNow, &QPushButton::clicked, this, &DatasetPage::detectFacesNow);

    // What the window knows about bad input: which lines, which files, why, and what to do.
    m_problems = new QListWidget;
    m_problems->setObjectName("problems");
    m_problems->setMinimumHeight(160); // a dozen lines; the panel scrolls
    m_problems->setMaximumHeight(260);
    m_problems->setTextElideMode(Qt::ElideMiddle); // a long path keeps its file name and its problem
    m_problems->setWordWrap(true);
    m_problems->hide();
    m_problemSummary = new QLabel;
    m_problemSummary->setObjectName("problemSummary");
    m_problemSummary->setWordWrap(true);
    m_problemSummary->setStyleSheet(QStringLiteral("font-weight: bold"));
    m_problemSummary->hide();

    m_histogram = new QChartView;
    m_histogram->setRenderHint(QPainter::Antialiasing);
    m_histogram->setMinimumHeight(220);
    m_histogram->chart()->setTitle(tr("Training ages by decade"));

    auto* left = new QVBoxLayout;
    left->addWidget(m_cleaning);
    left->addWidget(m_steps);
    left->addWidget(m_previewNote);
    left->addWidget(m_detectNow, 0, Qt::AlignLeft);
    left->addWidget(m_problemSummary);
    left->addWidget(m_problems);
    left->addWidget(m_histogram, 1);
    auto* leftWidget = new QWidget;
    leftWidget->setLayout(left);
    leftWidget->setMinimumWidth(330); // step names and histogram labels readable in full
    return leftWidget;
}

void DatasetPage::connectCleaning()
{
    // Every setting persists between sessions, for each source (restoreCleaningSettings when one opens).
    m_cleaningDefaults = m_cleaning->settings();
    connect(m_cleaning, &CleaningPanel::settingsChanged, this, [this] { saveCleaningSettings(); });
    connect(m_cleaning, &CleaningPanel::stepsChanged, this, &DatasetPage::updateCounts);
    connect(m_cleaning, &CleaningPanel::prepareRequested, this, &DatasetPage::prepare);
    connect(m_cleaning, &CleaningPanel::prepareAnywayRequested, this, &DatasetPage::prepareAnyway);
    connect(m_cleaning, &CleaningPanel::reviewDecisionsRequested, this, &DatasetPage::reviewDecisionsRequested);
    connect(m_cleaning, &CleaningPanel::historyRequested, this, [this] { HistoryPanel::showFor(this, m_session); });
    // Prepare's warning counted what the decisions remove of the open preparation: another one makes it stale.
    connect(m_session, &Session::datasetAboutToChange, m_cleaning, &CleaningPanel::hidePrepareWarning);
}

void DatasetPage::connectGrid()
{
    connect(m_faceGrid, &FaceGrid::filterChanged, this, &DatasetPage::filterChanged);
    connect(m_faceGrid, &FaceGrid::faceClicked, this, [this](const QModelIndex& index) { showFace(index); });
    connect(m_faceGrid, &FaceGrid::faceActivated, this, &DatasetPage::faceActivated);
    connect(m_faceGrid, &FaceGrid::showAttention, this, &DatasetPage::showAttention);
    connect(m_faceGrid, &FaceGrid::moreLikeThis, this, &DatasetPage::moreLikeThis);
    // The faces selected in the grid are marked on the map.
    connect(m_faceGrid, &FaceGrid::facesSelected, this, &DatasetPage::gridSelectionChanged);
    connect(m_faceGrid, &FaceGrid::subsetClearRequested, this, [this] {
        setSubset(nullptr, 0);
        Q_EMIT subsetCleared();
    });
    connect(m_faceGrid, &FaceGrid::predictRequested, this, &DatasetPage::predictAll);
    connect(m_faceGrid, &FaceGrid::columnChosen, this, &DatasetPage::listColumnValues);
    connect(m_faceGrid, &FaceGrid::columnValueChosen, this, &DatasetPage::applyColumnFilter);
}

void DatasetPage::connectSession()
{
    // A cluster named on the Clusters page: the same entries, renamed, the choice kept.
    connect(m_session, &Session::clusterNamesChanged, this,
            [this] { m_faceGrid->renameClusters([this](int c) { return m_session->clusterTitle(c); }); });
    connect(m_session, &Session::predictionsChanged, this, &DatasetPage::refreshExtras);
    // The panel shows the newest predictions and the newest age model of the face it shows.
    const auto refreshPanel = [this] {
        if (m_shownFace < 0)
            return;
        const QModelIndex index = m_filter->mapFromSource(m_model->index(static_cast<int>(m_shownFace), 0));
        if (index.isValid())
            showFace(index, /*activate=*/false);
    };
    connect(m_session, &Session::predictionsChanged, this, refreshPanel);
    connect(m_session, &Session::clusterNamesChanged, this, refreshPanel); // "Cluster 3 · its name"
    connect(m_session, &Session::runsChanged, this, refreshPanel);
    connect(m_session, &Session::runsChanged, this, &DatasetPage::refreshReview); // a new workspace
    connect(m_session, &Session::clustersChanged, this, &DatasetPage::refreshExtras);
    // The order of a switch (see Session): drop what describes the old dataset, then take the new one.
    connect(m_session, &Session::datasetAboutToChange, this, [this] {
        setSubset(nullptr, 0);
        m_filter->setColumnMask(nullptr);
        m_filter->setQuality(nullptr);
        m_model->setDataset(nullptr);
        clearFacePanel();
        auto* empty = new QChart;
        empty->setTitle(tr("Training ages (after Prepare)"));
        replaceChart(m_histogram, empty);
    });
    m_faceGrid->setPredictEnabled(false);
    connect(m_session, &Session::datasetChanged, this,
            [this] { m_faceGrid->setPredictEnabled(m_session->dataset() != nullptr); });
    connect(m_session, &Session::datasetChanged, this, [this] {
        m_model->setDataset(m_session->sharedDataset());
        m_faceGrid->refreshFramingGroups();
        refreshColumnFilter();
        refreshQuality();
        refreshExtras();
        if (const auto* data = m_session->dataset()) {
            showManifest(QString::fromStdString(data->manifestJson()));
            selectFirstFace();
        }
    });
    // A dataset switch drops what the lane was asked before it (a step preview too): the steps are
    // counted again, or shown as the preparation just opened counted them (updateCounts).
    connect(m_session, &Session::datasetChanged, this, [this] {
        if (m_loaded)
            updateCounts();
    });
}

} // namespace faceatlas::ui

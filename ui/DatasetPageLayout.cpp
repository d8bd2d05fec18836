// The Dataset page's construction: its cleaning panel, face grid with filters and face panel, and
// the signals between them and the session (DatasetPage.cpp holds what they do).
#include "DatasetPage.h"

#include "Charts.h"
#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "HistoryPanel.h"
#include "ScreenFit.h"
#include "Session.h"
#include "ThumbnailModel.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListView>
#include <QListWidget>
#include <QMenu>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

namespace faceatlas::ui {

void DatasetPage::createCleaningControls()
{
    // Cleaning settings: every step of the capstone's preprocessing, each editable.
    m_size = new QSpinBox;
    m_size->setRange(16, 256);
    m_size->setValue(64);
    m_minScore = new QDoubleSpinBox;
    m_minScore->setRange(-10, 10);
    m_minScore->setValue(kDefaultMinDetectorScore); // see setScoreScale: the source's scale sets it
    m_minScore->setSingleStep(0.25);
    m_ageMin = new QSpinBox;
    m_ageMin->setRange(0, 120);
    m_ageMin->setValue(15);
    m_ageMax = new QSpinBox;
    m_ageMax->setRange(0, 120);
    m_ageMax->setValue(65);
    m_minImage = new QSpinBox;
    m_minImage->setRange(0, 1000);
    m_minImage->setValue(90);
    m_valFraction = new QDoubleSpinBox;
    m_valFraction->setRange(0.0, 0.9);
    m_valFraction->setSingleStep(0.05);
    m_valFraction->setValue(0.2);
    m_balance = new QCheckBox(tr("Balance training ages"));
    m_balance->setChecked(true);
    m_multipleFaces = new QCheckBox(tr("Drop images with a second face"));
    m_multipleFaces->setChecked(true);
    m_everyFace = new QCheckBox(tr("Every face of each photo"));
    m_everyFace->setObjectName("everyFace");
    m_everyFace->setToolTip(tr("Group photos give one face each, aligned alike; a photo's labels go to its best face "
                               "only. For photo sources (a folder, a CSV, UTKFace), not IMDB-WIKI's crops."));
    m_prepare = new QPushButton(tr("Prepare"));
    m_prepare->setEnabled(false);
    // Names for tests and accessibility tools.
    m_size->setObjectName("imageSize");
    m_minScore->setObjectName("minFaceScore");
    m_minScore->setToolTip(tr("IMDB-WIKI: its own face score (default %1). Other sources: the confidence of the face "
                              "detector that aligns the faces (about 0-3; default %2, as on the command line, which "
                              "drops only pictures where no face was found)")
                               .arg(kDefaultMinFaceScore)
                               .arg(kDefaultMinDetectorScore));
    m_ageMin->setObjectName("ageMin");
    // The face-score and age steps can be turned off, as on the command line; a spin box whose
    // step is off is disabled, so the panel never shows a threshold that was not applied.
    m_filterScore = new QCheckBox(tr("Min face score"));
    m_filterScore->setObjectName("filterFaceScore");
    m_filterScore->setChecked(true);
    m_filterScore->setToolTip(tr("Unchecked: faces are kept whatever their face score (-Inf is always dropped)"));
    m_filterAge = new QCheckBox(tr("Ages"));
    m_filterAge->setObjectName("filterAge");
    m_filterAge->setChecked(true);
    m_filterAge->setToolTip(tr("Unchecked: faces of every age are kept"));
    m_ageMax->setObjectName("ageMax");
    m_minImage->setObjectName("minImageSide");
    m_valFraction->setObjectName("validationShare");
    m_prepare->setObjectName("prepare");
}

QGroupBox* DatasetPage::buildCleaningForm()
{
    auto* form = new QFormLayout;
    form->addRow(tr("Image size (px)"), m_size);
    form->addRow(m_filterScore, m_minScore);
    auto* ages = new QHBoxLayout;
    ages->setContentsMargins(0, 0, 0, 0);
    ages->addWidget(m_ageMin, 1);
    ages->addWidget(new QLabel(tr("to")));
    ages->addWidget(m_ageMax, 1);
    form->addRow(m_filterAge, ages);
    form->addRow(tr("Min image side (px)"), m_minImage);
    form->addRow(tr("Validation share"), m_valFraction);
    form->addRow(m_multipleFaces);
    form->addRow(m_everyFace);
    // The review decisions (Review and Map pages): excluded faces are a cleaning step, corrections replace labels.
    m_applyReview = new QCheckBox;
    m_applyReview->setObjectName("applyReview");
    m_applyReview->setChecked(true);
    form->addRow(m_applyReview);
    refreshReview();
    form->addRow(m_balance);
    // The quality steps (off by default): they run on the stored faces, after the others; the preview
    // counts them from the quality columns of the preparation Prepare will replace.
    for (const QualityStep& step : qualitySteps()) {
        auto* on = new QCheckBox(tr("Drop %1").arg(QString::fromUtf8(step.name)));
        on->setObjectName(QStringLiteral("quality-%1").arg(QString::fromUtf8(step.option)));
        on->setToolTip(tr("A quality step (as prepare --%1): measured on each stored face").arg(step.option));
        auto* threshold = new QDoubleSpinBox;
        threshold->setObjectName(QStringLiteral("quality-%1-threshold").arg(QString::fromUtf8(step.option)));
        threshold->setRange(0, 100000);
        threshold->setDecimals(1);
        threshold->setValue(step.suggested);
        threshold->setEnabled(false);
        connect(on, &QCheckBox::toggled, threshold, &QWidget::setEnabled);
        form->addRow(on, threshold);
        m_qualitySteps.push_back(on);
        m_qualityThresholds.push_back(threshold);
    }
    // History: the versions of this source (each Prepare keeps the one it replaces) and their diffs,
    // in a panel of its own (ui/HistoryPanel).
    auto* history = new QPushButton(tr("History"));
    history->setObjectName("history");
    history->setToolTip(tr("The versions of this dataset (each preparation), what changed between two, and the disk "
                           "each holds"));
    connect(history, &QPushButton::clicked, this, [this] { HistoryPanel::showFor(this, m_session); });
    auto* prepareRow = new QHBoxLayout;
    prepareRow->setContentsMargins(0, 0, 0, 0);
    prepareRow->addWidget(m_prepare, 1);
    prepareRow->addWidget(history);
    form->addRow(prepareRow);
    form->addRow(buildPrepareWarning());
    auto* settingsBox = new QGroupBox(tr("Cleaning"));
    settingsBox->setLayout(form);
    return settingsBox;
}

QWidget* DatasetPage::buildPrepareWarning()
{
    // Prepare's warning when the decisions would remove many faces: inline, not a dialog, so the
    // page stays usable (and scriptable) while it is shown; Prepare waits for "Prepare anyway".
    m_prepareWarning = new QWidget;
    m_prepareWarning->setObjectName("prepareWarningBar");
    m_prepareWarning->setStyleSheet("#prepareWarningBar { background: #fff3cd; border: 1px solid #e0b040; }");
    m_prepareWarning->setAttribute(Qt::WA_StyledBackground);
    m_prepareWarningText = new QLabel;
    m_prepareWarningText->setObjectName("prepareWarning");
    m_prepareWarningText->setWordWrap(true);
    auto* anyway = new QPushButton(tr("Prepare anyway"));
    anyway->setObjectName("prepareAnyway");
    auto* reviewDecisions = new QPushButton(tr("Review decisions"));
    reviewDecisions->setObjectName("reviewDecisions");
    reviewDecisions->setToolTip(tr("The Review page's Decided view: every decision, with Undo"));
    auto* warningButtons = new QHBoxLayout;
    warningButtons->addWidget(anyway);
    warningButtons->addWidget(reviewDecisions);
    auto* warningLayout = new QVBoxLayout(m_prepareWarning);
    warningLayout->setContentsMargins(6, 4, 6, 4);
    warningLayout->addWidget(m_prepareWarningText);
    warningLayout->addLayout(warningButtons);
    m_prepareWarning->hide();
    connect(anyway, &QPushButton::clicked, this, &DatasetPage::prepareAnyway);
    // Its count was of the open preparation: another one makes it stale.
    connect(m_session, &Session::datasetAboutToChange, m_prepareWarning, &QWidget::hide);
    connect(reviewDecisions, &QPushButton::clicked, this, [this] {
        m_prepareWarning->hide();
        Q_EMIT reviewDecisionsRequested();
    });
    return m_prepareWarning;
}

QWidget* DatasetPage::buildCleaningPanel(QGroupBox* settingsBox)
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
    left->addWidget(settingsBox);
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

void DatasetPage::createGridFilters()
{
    m_filterLow = new QSpinBox;
    m_filterLow->setRange(0, 120);
    m_filterHigh = new QSpinBox;
    m_filterHigh->setRange(0, 120);
    m_filterHigh->setValue(120);
    m_filterGender = new QComboBox;
    m_filterGender->addItems({tr("Any gender"), tr("Female"), tr("Male")});
    m_faceOverlay = new QLabel;
    m_faceOverlay->setAlignment(Qt::AlignCenter);
    m_overlayCaption = new QLabel;
    m_overlayCaption->setObjectName("overlayCaption");
    m_overlayCaption->setWordWrap(true);
    m_filterLow->setObjectName("filterAgeLow");
    m_filterHigh->setObjectName("filterAgeHigh");
    m_filterGender->setObjectName("filterGender");
    m_sortBy = new QComboBox;
    m_sortBy->setObjectName("sortBy");
    m_sortBy->addItem(tr("Dataset order"), 0);
    m_sortBy->addItem(tr("Sort by age"), ThumbnailModel::AgeRole);
    m_sortBy->addItem(tr("Sort by face score"), ThumbnailModel::FaceScoreRole);
    m_sortBy->addItem(tr("Sort by prediction error"), ThumbnailModel::ErrorRole);
    for (size_t k = 0; k < kQualityColumnCount; ++k)
        m_sortBy->addItem(tr("Sort by %1").arg(QString::fromUtf8(qualityColumns()[k].name)),
                          ThumbnailModel::QualityRole + static_cast<int>(k));
    m_filterCluster = new QComboBox;
    m_filterCluster->setObjectName("filterCluster");
    m_filterCluster->addItem(tr("All clusters"), -1);
    m_filterFraming = new QComboBox;
    m_filterFraming->setObjectName("filterFraming");
    m_filterFraming->setToolTip(
        tr("How the face detector framed the faces: the faces it aligned, those it did not find "
           "(centre-cropped), and those from pictures with several faces"));
    m_filterFraming->hide();
    m_filterColumn = new QComboBox;
    m_filterColumn->setObjectName("filterColumn");
    m_filterColumn->setToolTip(tr("Show only the faces with a value in one of the CSV's further columns"));
    m_filterColumn->hide();
    m_filterValue = new QComboBox;
    m_filterValue->setObjectName("filterValue");
    m_filterValue->hide();
    m_filterQuality = new QComboBox;
    m_filterQuality->setObjectName("filterQuality");
    m_filterQuality->setToolTip(tr("Show only the faces whose quality column, measured on the stored face at "
                                   "Prepare, lies in a range"));
    m_filterQuality->addItem(tr("Any quality"), -1);
    for (size_t k = 0; k < kQualityColumnCount; ++k) {
        m_filterQuality->addItem(QString::fromUtf8(qualityColumns()[k].name), static_cast<int>(k));
        m_filterQuality->setItemData(static_cast<int>(k) + 1, QString::fromUtf8(qualityColumns()[k].description),
                                     Qt::ToolTipRole);
    }
    m_filterQuality->hide();
    m_qualityLow = new QDoubleSpinBox;
    m_qualityLow->setObjectName("qualityLow");
    m_qualityHigh = new QDoubleSpinBox;
    m_qualityHigh->setObjectName("qualityHigh");
    for (QDoubleSpinBox* box : {m_qualityLow, m_qualityHigh}) {
        box->setDecimals(1);
        box->setRange(0, 0);
        box->hide();
    }
    // A value may be long (256 bytes): both boxes keep a modest width so the grid keeps its room.
    for (QComboBox* box : {m_filterColumn, m_filterValue}) {
        box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        box->setMinimumContentsLength(16);
    }
    m_descending = new QCheckBox(tr("Largest first"));
    m_descending->setObjectName("descending");
    m_matchCount = new QLabel;
    m_matchCount->setObjectName("matchCount");
    m_matchCount->setWordWrap(true);
    m_predict = new QPushButton(tr("Predict ages"));
    m_predict->setToolTip(tr("Predict every face's age with the latest age run, to sort by error"));
}

QWidget* DatasetPage::buildFaceGrid()
{
    // The thumbnail grid with its filters.
    m_model = new ThumbnailModel(this);
    m_filter = new FaceFilter(this);
    m_filter->setSourceModel(m_model);
    m_grid = new QListView;
    m_grid->setModel(m_filter);
    configureFaceGrid(m_grid);
    m_grid->setSelectionMode(QAbstractItemView::ExtendedSelection);
    // The faces selected here are marked on the map.
    connect(m_grid->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        std::vector<qint64> rows;
        for (const QModelIndex& index : m_grid->selectionModel()->selectedIndexes())
            rows.push_back(index.data(ThumbnailModel::IndexRole).toLongLong());
        Q_EMIT gridSelectionChanged(rows);
    });
    // Two rows, what to show and in what order, so that the grid fits a 1366 px screen beside both panels.
    auto* filters = new QHBoxLayout;
    filters->addWidget(new QLabel(tr("Ages")));
    filters->addWidget(m_filterLow);
    filters->addWidget(new QLabel(tr("to")));
    filters->addWidget(m_filterHigh);
    filters->addWidget(m_filterGender);
    filters->addWidget(m_filterCluster);
    filters->addWidget(m_filterFraming);
    filters->addStretch();
    auto* order = new QHBoxLayout;
    order->addWidget(m_sortBy);
    order->addWidget(m_descending);
    order->addWidget(m_predict);
    order->addStretch();
    // A row of its own for the CSV's columns (hidden with them): the other two are full on a 1366 px screen.
    auto* columnRow = new QHBoxLayout;
    columnRow->addWidget(m_filterColumn);
    columnRow->addWidget(m_filterValue);
    columnRow->addWidget(m_filterQuality);
    columnRow->addWidget(m_qualityLow);
    columnRow->addWidget(m_qualityHigh);
    columnRow->addStretch();
    auto* legend = new QLabel(tr("Under each face: its age, and in brackets the predicted age once predicted."));
    legend->setObjectName("gridLegend");
    legend->setWordWrap(true); // long notes wrap: they never widen the window past the screen
    // The map's selection, when it filters the grid.
    m_subsetLabel = new QLabel;
    m_subsetLabel->setObjectName("subsetLabel");
    m_subsetClear = new QPushButton(tr("Show all faces"));
    m_subsetClear->setObjectName("subsetClear");
    connect(m_subsetClear, &QPushButton::clicked, this, [this] {
        setSubset(nullptr, 0);
        Q_EMIT subsetCleared();
    });
    auto* subsetRow = new QHBoxLayout;
    subsetRow->addWidget(m_subsetLabel, 1);
    subsetRow->addWidget(m_subsetClear);
    m_subsetLabel->hide();
    m_subsetClear->hide();
    auto* middle = new QVBoxLayout;
    middle->addLayout(filters);
    middle->addLayout(order);
    middle->addLayout(columnRow);
    middle->addLayout(subsetRow);
    middle->addWidget(m_grid, 1);
    auto* below = new QHBoxLayout;
    below->addWidget(legend, 1);
    below->addWidget(m_matchCount);
    middle->addLayout(below);
    auto* middleWidget = new QWidget;
    middleWidget->setLayout(middle);
    return middleWidget;
}

QWidget* DatasetPage::buildFacePanel()
{
    m_faceImage = new QLabel;
    m_faceImage->setMinimumSize(200, 200);
    m_faceImage->setAlignment(Qt::AlignCenter);
    m_faceCrop = new QLabel;
    m_faceCrop->setObjectName("faceCrop");
    m_faceCrop->setAlignment(Qt::AlignCenter);
    m_faceInfo = new QLabel(tr("Click a face to see it here."));
    m_faceInfo->setObjectName("faceInfo");
    m_faceInfo->setWordWrap(true);
    m_faceInfo->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* right = new QVBoxLayout;
    right->addWidget(m_faceImage);
    right->addWidget(m_faceCrop);
    right->addWidget(m_faceInfo);
    right->addWidget(m_faceOverlay);
    right->addWidget(m_overlayCaption);
    right->addStretch();
    auto* rightWidget = new QWidget;
    rightWidget->setLayout(right);
    return rightWidget;
}

void DatasetPage::connectCleaning()
{
    // Every setting persists between sessions, for each source (restoreCleaningSettings when one opens).
    m_cleaningDefaults = cleaningSettings();
    const auto showFilters = [this] {
        m_minScore->setEnabled(m_filterScore->isChecked());
        m_ageMin->setEnabled(m_filterAge->isChecked());
        m_ageMax->setEnabled(m_filterAge->isChecked());
    };
    showFilters();
    connect(m_filterScore, &QCheckBox::toggled, this, showFilters);
    connect(m_filterAge, &QCheckBox::toggled, this, showFilters);
    const auto save = [this] { saveCleaningSettings(); };
    for (QSpinBox* box : {m_size, m_ageMin, m_ageMax, m_minImage})
        connect(box, &QSpinBox::valueChanged, this, save);
    for (QDoubleSpinBox* box : {m_minScore, m_valFraction})
        connect(box, &QDoubleSpinBox::valueChanged, this, save);
    for (QCheckBox* box : {m_balance, m_multipleFaces, m_everyFace, m_filterScore, m_filterAge})
        connect(box, &QCheckBox::toggled, this, save);
    connect(m_everyFace, &QCheckBox::toggled, this, &DatasetPage::showEveryFace);
    // The age range can not be turned inside out.
    m_ageMax->setMinimum(m_ageMin->value());
    m_ageMin->setMaximum(m_ageMax->value());
    connect(m_ageMin, &QSpinBox::valueChanged, m_ageMax, &QSpinBox::setMinimum);
    connect(m_ageMax, &QSpinBox::valueChanged, m_ageMin, &QSpinBox::setMaximum);
    for (QSpinBox* box : {m_ageMin, m_ageMax, m_minImage})
        connect(box, &QSpinBox::valueChanged, this, &DatasetPage::updateCounts);
    connect(m_minScore, &QDoubleSpinBox::valueChanged, this, &DatasetPage::updateCounts);
    for (QCheckBox* box : {m_multipleFaces, m_filterScore, m_filterAge, m_everyFace, m_applyReview})
        connect(box, &QCheckBox::toggled, this, &DatasetPage::updateCounts);
    connect(m_prepare, &QPushButton::clicked, this, &DatasetPage::prepare);
}

void DatasetPage::connectGrid()
{
    const auto refilter = [this] {
        m_filter->setAgeRange(m_filterLow->value(), m_filterHigh->value());
        m_filter->setGender(m_filterGender->currentIndex() - 1 == 0 ? 0
                                                                    : (m_filterGender->currentIndex() == 2 ? 1 : -1));
        filterChanged();
    };
    connect(m_filterLow, &QSpinBox::valueChanged, this, refilter);
    connect(m_filterHigh, &QSpinBox::valueChanged, this, refilter);
    connect(m_filterGender, &QComboBox::currentIndexChanged, this, refilter);
    const auto resort = [this] {
        m_filter->setSortRole(m_sortBy->currentData().toInt(), m_descending->isChecked());
        filterChanged();
    };
    connect(m_sortBy, &QComboBox::currentIndexChanged, this, [this, resort] {
        // Each key's natural order first: youngest first, highest score and largest error first, the
        // worst quality first (the least sharp, the highest BRISQUE).
        const QSignalBlocker block(m_descending);
        const int role = m_sortBy->currentData().toInt();
        const int quality = role - ThumbnailModel::QualityRole;
        m_descending->setChecked(quality >= 0 && quality < static_cast<int>(kQualityColumnCount)
                                     ? !qualityColumns()[static_cast<size_t>(quality)].higherIsBetter
                                     : role != ThumbnailModel::AgeRole);
        resort();
    });
    connect(m_descending, &QCheckBox::toggled, this, resort);
    connect(m_filterFraming, &QComboBox::currentIndexChanged, this, [this] {
        m_filter->setFraming(static_cast<FaceFilter::Framing>(m_filterFraming->currentData().toInt()));
        filterChanged();
    });
    connect(m_filterCluster, &QComboBox::currentIndexChanged, this, [this] {
        m_filter->setCluster(m_filterCluster->currentData().toInt());
        filterChanged();
    });
    connect(m_filterColumn, &QComboBox::currentIndexChanged, this, &DatasetPage::listColumnValues);
    connect(m_filterQuality, &QComboBox::currentIndexChanged, this, [this] { applyQualityRange(true); });
    for (QDoubleSpinBox* box : {m_qualityLow, m_qualityHigh})
        connect(box, &QDoubleSpinBox::valueChanged, this, [this] { applyQualityRange(false); });
    for (size_t s = 0; s < m_qualitySteps.size(); ++s) {
        connect(m_qualitySteps[s], &QCheckBox::toggled, this, &DatasetPage::updateCounts);
        connect(m_qualitySteps[s], &QCheckBox::toggled, this, [this] { saveCleaningSettings(); });
        connect(m_qualityThresholds[s], &QDoubleSpinBox::valueChanged, this, &DatasetPage::updateCounts);
        connect(m_qualityThresholds[s], &QDoubleSpinBox::valueChanged, this, [this] { saveCleaningSettings(); });
    }
    connect(m_filterValue, &QComboBox::currentIndexChanged, this, &DatasetPage::applyColumnFilter);
    connect(m_predict, &QPushButton::clicked, this, &DatasetPage::predictAll);
    connect(m_grid, &QListView::clicked, this, [this](const QModelIndex& index) { showFace(index); });
    m_grid->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_grid, &QListView::customContextMenuRequested, this, [this](const QPoint& at) {
        const QModelIndex index = m_grid->indexAt(at);
        if (!index.isValid())
            return;
        const qint64 face = index.data(ThumbnailModel::IndexRole).toLongLong();
        QMenu menu(this);
        menu.addAction(tr("Show attention"), this, [this, face] { Q_EMIT showAttention(face); });
        menu.addAction(tr("More like this"), this, [this, face] { Q_EMIT moreLikeThis(face); });
        const QVariant cluster = index.data(ThumbnailModel::ClusterRole);
        if (cluster.isValid() && cluster.toInt() >= 0)
            menu.addAction(tr("Show cluster %1 only").arg(cluster.toInt()), this,
                           [this, cluster] { filterToCluster(cluster.toInt()); });
        menu.exec(m_grid->viewport()->mapToGlobal(at));
    });
    connect(m_grid, &QListView::doubleClicked, this, [this](const QModelIndex& index) {
        Q_EMIT faceActivated(index.data(ThumbnailModel::IndexRole).toLongLong());
    });
}

void DatasetPage::connectSession()
{
    // A cluster named on the Clusters page: the same entries, renamed, the choice kept.
    connect(m_session, &Session::clusterNamesChanged, this, [this] {
        for (int i = 0; i < m_filterCluster->count(); ++i)
            if (const int c = m_filterCluster->itemData(i).toInt(); c >= 0)
                m_filterCluster->setItemText(i, tr("Cluster %1").arg(m_session->clusterTitle(c)));
    });
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
    m_predict->setEnabled(false);
    connect(m_session, &Session::datasetChanged, this,
            [this] { m_predict->setEnabled(m_session->dataset() != nullptr); });
    connect(m_session, &Session::datasetChanged, this, [this] {
        m_model->setDataset(m_session->sharedDataset());
        refreshFramingGroups();
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

// The Dataset page's face grid: the thumbnails, the filter bar above them and the count below.
#include "FaceGrid.h"

#include "data/FaceQuality.h"
#include "ThumbnailModel.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

namespace faceatlas::ui {

FaceGrid::FaceGrid(QWidget* parent)
    : QWidget(parent)
{
    createFilters();
    createGrid();
    buildLayout();
    connectFilters();
}

void FaceGrid::createFilters()
{
    m_filterLow = new QSpinBox;
    m_filterLow->setRange(0, 120);
    m_filterHigh = new QSpinBox;
    m_filterHigh->setRange(0, 120);
    m_filterHigh->setValue(120);
    m_filterGender = new QComboBox;
    m_filterGender->addItems({tr("Any gender"), tr("Female"), tr("Male")});
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
    createColumnFilters();
    m_descending = new QCheckBox(tr("Largest first"));
    m_descending->setObjectName("descending");
    m_matchCount = new QLabel;
    m_matchCount->setObjectName("matchCount");
    m_matchCount->setWordWrap(true);
    m_predict = new QPushButton(tr("Predict ages"));
    m_predict->setToolTip(tr("Predict every face's age with the latest age run, to sort by error"));
}

void FaceGrid::createColumnFilters()
{
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
}

void FaceGrid::createGrid()
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
        Q_EMIT facesSelected(rows);
    });
}

QHBoxLayout* FaceGrid::buildSubsetRow()
{
    // The map's selection, when it filters the grid.
    m_subsetLabel = new QLabel;
    m_subsetLabel->setObjectName("subsetLabel");
    m_subsetClear = new QPushButton(tr("Show all faces"));
    m_subsetClear->setObjectName("subsetClear");
    connect(m_subsetClear, &QPushButton::clicked, this, &FaceGrid::subsetClearRequested);
    auto* subsetRow = new QHBoxLayout;
    subsetRow->addWidget(m_subsetLabel, 1);
    subsetRow->addWidget(m_subsetClear);
    m_subsetLabel->hide();
    m_subsetClear->hide();
    return subsetRow;
}

void FaceGrid::buildLayout()
{
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
    QHBoxLayout* subsetRow = buildSubsetRow();
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
    setLayout(middle);
}

void FaceGrid::connectFilters()
{
    const auto refilter = [this] {
        m_filter->setAgeRange(m_filterLow->value(), m_filterHigh->value());
        m_filter->setGender(m_filterGender->currentIndex() - 1 == 0 ? 0
                                                                    : (m_filterGender->currentIndex() == 2 ? 1 : -1));
        Q_EMIT filterChanged();
    };
    connect(m_filterLow, &QSpinBox::valueChanged, this, refilter);
    connect(m_filterHigh, &QSpinBox::valueChanged, this, refilter);
    connect(m_filterGender, &QComboBox::currentIndexChanged, this, refilter);
    connect(m_sortBy, &QComboBox::currentIndexChanged, this, &FaceGrid::sortByChosenKey);
    connect(m_descending, &QCheckBox::toggled, this, [this] {
        m_filter->setSortRole(m_sortBy->currentData().toInt(), m_descending->isChecked());
        Q_EMIT filterChanged();
    });
    connect(m_filterFraming, &QComboBox::currentIndexChanged, this, [this] {
        m_filter->setFraming(static_cast<FaceFilter::Framing>(m_filterFraming->currentData().toInt()));
        Q_EMIT filterChanged();
    });
    connect(m_filterCluster, &QComboBox::currentIndexChanged, this, [this] {
        m_filter->setCluster(m_filterCluster->currentData().toInt());
        Q_EMIT filterChanged();
    });
    connect(m_filterColumn, &QComboBox::currentIndexChanged, this, &FaceGrid::columnChosen);
    connect(m_filterQuality, &QComboBox::currentIndexChanged, this, [this] { applyQualityRange(true); });
    for (QDoubleSpinBox* box : {m_qualityLow, m_qualityHigh})
        connect(box, &QDoubleSpinBox::valueChanged, this, [this] { applyQualityRange(false); });
    connect(m_filterValue, &QComboBox::currentIndexChanged, this, &FaceGrid::columnValueChosen);
    connect(m_predict, &QPushButton::clicked, this, &FaceGrid::predictRequested);
    connect(m_grid, &QListView::clicked, this, &FaceGrid::faceClicked);
    m_grid->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_grid, &QListView::customContextMenuRequested, this, &FaceGrid::showContextMenu);
    connect(m_grid, &QListView::doubleClicked, this, [this](const QModelIndex& index) {
        Q_EMIT faceActivated(index.data(ThumbnailModel::IndexRole).toLongLong());
    });
}

void FaceGrid::sortByChosenKey()
{
    // Each key's natural order first: youngest first, highest score and largest error first, the
    // worst quality first (the least sharp, the highest BRISQUE).
    const QSignalBlocker block(m_descending);
    const int role = m_sortBy->currentData().toInt();
    const int quality = role - ThumbnailModel::QualityRole;
    m_descending->setChecked(quality >= 0 && quality < static_cast<int>(kQualityColumnCount)
                                 ? !qualityColumns()[static_cast<size_t>(quality)].higherIsBetter
                                 : role != ThumbnailModel::AgeRole);
    m_filter->setSortRole(m_sortBy->currentData().toInt(), m_descending->isChecked());
    Q_EMIT filterChanged();
}

void FaceGrid::showContextMenu(const QPoint& at)
{
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
}

int FaceGrid::sortRole() const
{
    return m_sortBy->currentData().toInt();
}

void FaceGrid::setMatchText(const QString& text)
{
    m_matchCount->setText(text);
}

QString FaceGrid::matchText() const
{
    return m_matchCount->text();
}

void FaceGrid::focusFilter()
{
    m_filterLow->setFocus(Qt::ShortcutFocusReason);
    m_filterLow->selectAll();
}

void FaceGrid::filterToCluster(int cluster)
{
    const int at = m_filterCluster->findData(cluster);
    if (at >= 0)
        m_filterCluster->setCurrentIndex(at);
}

void FaceGrid::setClusters(const QStringList& titles)
{
    QSignalBlocker block(m_filterCluster);
    m_filterCluster->clear();
    m_filterCluster->addItem(tr("All clusters"), -1);
    for (int c = 0; c < titles.size(); ++c)
        m_filterCluster->addItem(tr("Cluster %1").arg(titles[c]), c);
    m_filter->setCluster(-1);
}

void FaceGrid::renameClusters(const std::function<QString(int)>& titleOf)
{
    for (int i = 0; i < m_filterCluster->count(); ++i)
        if (const int c = m_filterCluster->itemData(i).toInt(); c >= 0)
            m_filterCluster->setItemText(i, tr("Cluster %1").arg(titleOf(c)));
}

void FaceGrid::refreshFramingGroups()
{
    // The groups the detector made, with their sizes, one choice away; hidden when it did not look.
    size_t aligned = 0, notFound = 0, several = 0;
    for (int row = 0; row < m_model->rowCount(); ++row) {
        const auto group = m_model->framingGroup(row);
        aligned += group == ThumbnailModel::FramingGroup::Aligned;
        notFound += group == ThumbnailModel::FramingGroup::NotFound;
        several += m_model->fromSeveral(row);
    }
    QSignalBlocker block(m_filterFraming);
    m_filterFraming->clear();
    m_filterFraming->addItem(tr("Any framing"), static_cast<int>(FaceFilter::Framing::Any));
    m_filterFraming->addItem(tr("Aligned (%1)").arg(aligned), static_cast<int>(FaceFilter::Framing::Aligned));
    m_filterFraming->addItem(tr("No face found (%1)").arg(notFound), static_cast<int>(FaceFilter::Framing::NotFound));
    m_filterFraming->addItem(tr("Several faces (%1)").arg(several), static_cast<int>(FaceFilter::Framing::Several));
    m_filterFraming->setItemData(1, tr("The faces the detector found and aligned"), Qt::ToolTipRole);
    m_filterFraming->setItemData(2, tr("Pictures in which no face was found: centre-cropped"), Qt::ToolTipRole);
    m_filterFraming->setItemData(3, tr("Faces from pictures in which several faces were found"), Qt::ToolTipRole);
    m_filter->setFraming(FaceFilter::Framing::Any);
    m_filterFraming->setVisible(aligned + notFound > 0);
}

void FaceGrid::setColumnNames(const std::vector<std::string>& names)
{
    {
        const QSignalBlocker blockColumn(m_filterColumn), blockValue(m_filterValue);
        m_filterColumn->clear();
        m_filterColumn->addItem(tr("Any column"));
        for (const std::string& name : names)
            m_filterColumn->addItem(QString::fromStdString(name));
        m_filterValue->clear();
    }
    m_filterColumn->setVisible(!names.empty());
    m_filterValue->hide();
    m_filter->setColumnMask(nullptr);
}

int FaceGrid::chosenColumn() const
{
    return m_filterColumn->currentIndex() - 1;
}

std::optional<std::string> FaceGrid::chosenValue() const
{
    if (m_filterValue->currentIndex() < 1)
        return std::nullopt;
    return m_filterValue->currentData().toString().toStdString();
}

void FaceGrid::clearColumnValues(bool shown)
{
    {
        const QSignalBlocker block(m_filterValue);
        m_filterValue->clear();
    }
    m_filterValue->setVisible(shown);
}

void FaceGrid::showColumnValues(const std::vector<std::pair<std::string, size_t>>& values)
{
    const QSignalBlocker block(m_filterValue);
    m_filterValue->clear();
    m_filterValue->addItem(tr("Any value"));
    m_filterValue->setItemData(0, tr("Every face, whatever its %1").arg(m_filterColumn->currentText()),
                               Qt::ToolTipRole);
    for (const auto& [value, count] : values)
        m_filterValue->addItem(
            tr("%1 (%2)").arg(value.empty() ? tr("(empty)") : QString::fromStdString(value)).arg(count),
            QString::fromStdString(value));
}

void FaceGrid::clearQuality()
{
    {
        const QSignalBlocker block(m_filterQuality);
        m_filterQuality->setCurrentIndex(0);
    }
    m_filter->setQualityRange(-1, 0, 0);
    m_filter->setQuality(nullptr);
    for (QWidget* w : std::initializer_list<QWidget*>{m_filterQuality, m_qualityLow, m_qualityHigh})
        w->hide();
}

void FaceGrid::setQuality(std::shared_ptr<const FaceQuality> quality)
{
    m_filter->setQuality(std::move(quality));
    m_filterQuality->setVisible(m_filter->quality() != nullptr);
}

void FaceGrid::applyQualityRange(bool columnChanged)
{
    const int column = m_filterQuality->currentData().toInt();
    const FaceQuality* quality = m_filter->quality();
    const bool on = column >= 0 && quality;
    m_qualityLow->setVisible(on);
    m_qualityHigh->setVisible(on);
    if (on && columnChanged) {
        // The boxes span the column's values, so the range starts as every face that has one.
        float low = std::numeric_limits<float>::infinity(), high = -low;
        for (size_t i = 0; i < quality->rows; ++i)
            if (const float v = quality->at(i, static_cast<size_t>(column)); std::isfinite(v)) {
                low = std::min(low, v);
                high = std::max(high, v);
            }
        if (low > high)
            low = high = 0;
        const QSignalBlocker blockLow(m_qualityLow), blockHigh(m_qualityHigh);
        for (QDoubleSpinBox* box : {m_qualityLow, m_qualityHigh}) {
            box->setRange(std::floor(low * 10) / 10, std::ceil(high * 10) / 10);
            box->setSingleStep(std::max(0.1, (high - low) / 50.0));
        }
        m_qualityLow->setValue(m_qualityLow->minimum());
        m_qualityHigh->setValue(m_qualityHigh->maximum());
    }
    m_filter->setQualityRange(on ? column : -1, m_qualityLow->value(), m_qualityHigh->value());
    Q_EMIT filterChanged();
}

void FaceGrid::setSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count)
{
    m_filter->setSubset(std::move(mask));
    const bool on = m_filter->hasSubset();
    m_subsetLabel->setText(on ? tr("Showing the map's selection: %1 faces").arg(count) : QString());
    m_subsetLabel->setVisible(on);
    m_subsetClear->setVisible(on);
}

void FaceGrid::setSubsetText(const QString& text)
{
    m_subsetLabel->setText(text);
}

QString FaceGrid::subsetText() const
{
    return m_subsetLabel->isVisibleTo(this) ? m_subsetLabel->text() : QString();
}

void FaceGrid::setPredictEnabled(bool enabled)
{
    m_predict->setEnabled(enabled);
}

} // namespace faceatlas::ui

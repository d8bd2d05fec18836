#include "MapSelectionPanel.h"

#include "AgeHistogram.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPixmap>
#include <QPushButton>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

QString previewHint()
{
    return MapSelectionPanel::tr("Hover a point to see its face; click it to open the face panel; right-click for "
                                 "more like it.");
}

/** `image` scaled into a side x side square for a label. */
QPixmap scaledTo(const QImage& image, int side)
{
    return QPixmap::fromImage(image).scaled(side, side, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

} // namespace

MapSelectionPanel::MapSelectionPanel(QWidget* parent)
    : QWidget(parent)
{
    setObjectName("mapSelectionPanel");
    m_selectionLabel = new QLabel(tr("Nothing selected: draw around faces with the lasso."));
    m_selectionLabel->setObjectName("selectionLabel");
    m_selectionLabel->setWordWrap(true);
    m_histogram = new AgeHistogram;
    m_histogram->setFixedHeight(110);
    m_histogram->setToolTip(tr("Ages: every face (grey) and the selection (blue), as shares of each"));
    auto* part = new QVBoxLayout(this);
    part->setContentsMargins(0, 0, 0, 0);
    part->addLayout(buildPreview());
    part->addSpacing(8);
    part->addWidget(m_selectionLabel);
    part->addWidget(m_histogram);
    part->addLayout(buildMeanFaces());
    part->addLayout(buildActions());
}

QLayout* MapSelectionPanel::buildPreview()
{
    m_preview = new QLabel;
    m_preview->setFixedSize(128, 128);
    m_preview->setAlignment(Qt::AlignCenter);
    m_preview->setStyleSheet("background: #eee");
    m_previewText = new QLabel(previewHint());
    m_previewText->setWordWrap(true);
    auto* previewRow = new QHBoxLayout;
    previewRow->addWidget(m_preview);
    previewRow->addWidget(m_previewText, 1);
    return previewRow;
}

QLayout* MapSelectionPanel::buildMeanFaces()
{
    m_meanSelection = new QLabel;
    m_meanAll = new QLabel;
    for (QLabel* l : {m_meanSelection, m_meanAll}) {
        l->setFixedSize(96, 96);
        l->setAlignment(Qt::AlignCenter);
        l->setStyleSheet("background: #eee");
    }
    auto* means = new QGridLayout;
    means->addWidget(new QLabel(tr("Selection's mean face")), 0, 0);
    means->addWidget(new QLabel(tr("Everyone's mean face")), 0, 1);
    means->addWidget(m_meanSelection, 1, 0);
    means->addWidget(m_meanAll, 1, 1);
    return means;
}

QLayout* MapSelectionPanel::buildActions()
{
    auto* showGrid = new QPushButton(tr("Show in grid"));
    auto* exportButton = new QPushButton(tr("Export CSV..."));
    auto* save = new QPushButton(tr("Save subset..."));
    auto* clusterButton = new QPushButton(tr("Cluster these"));
    auto* clearButton = new QPushButton(tr("Clear"));
    auto* excludeButton = new QPushButton(tr("Exclude..."));
    excludeButton->setToolTip(tr("Adds an exclude decision for every selected face to the review file; the next "
                                 "Prepare leaves them out"));
    m_subsets = new QComboBox;
    m_subsets->setToolTip(tr("Saved subsets of this preparation"));
    auto* actions = new QGridLayout;
    actions->addWidget(showGrid, 0, 0);
    actions->addWidget(exportButton, 0, 1);
    actions->addWidget(save, 1, 0);
    actions->addWidget(m_subsets, 1, 1);
    actions->addWidget(clusterButton, 2, 0);
    actions->addWidget(excludeButton, 2, 1);
    actions->addWidget(clearButton, 3, 1);
    auto* sliceButton = new QPushButton(tr("Error of these faces (Slices)"));
    sliceButton->setObjectName("selectionSlice");
    sliceButton->setToolTip(tr("The age model's error on the selected faces against everyone else's, on the Slices "
                               "page"));
    actions->addWidget(sliceButton, 4, 0, 1, 2);
    connect(showGrid, &QPushButton::clicked, this, &MapSelectionPanel::showGridClicked);
    connect(clearButton, &QPushButton::clicked, this, &MapSelectionPanel::clearClicked);
    connect(clusterButton, &QPushButton::clicked, this, &MapSelectionPanel::clusterClicked);
    connect(sliceButton, &QPushButton::clicked, this, &MapSelectionPanel::sliceClicked);
    connect(excludeButton, &QPushButton::clicked, this, &MapSelectionPanel::excludeClicked);
    connect(exportButton, &QPushButton::clicked, this, &MapSelectionPanel::exportClicked);
    connect(save, &QPushButton::clicked, this, &MapSelectionPanel::saveClicked);
    connect(m_subsets, &QComboBox::activated, this, [this](int index) {
        if (index > 0)
            Q_EMIT subsetChosen(m_subsets->itemText(index));
    });
    return actions;
}

void MapSelectionPanel::showPreview(const QImage& face, const QString& text)
{
    m_preview->setPixmap(scaledTo(face, 128));
    m_previewText->setText(text);
}

void MapSelectionPanel::clearPreview()
{
    m_preview->clear();
    m_previewText->setText(previewHint());
}

void MapSelectionPanel::setSelectionText(const QString& text)
{
    m_selectionLabel->setText(text);
}

QString MapSelectionPanel::selectionText() const
{
    return m_selectionLabel->text();
}

void MapSelectionPanel::setAgeShares(std::vector<double> all, std::vector<double> selection)
{
    m_histogram->setShares(std::move(all), std::move(selection));
}

void MapSelectionPanel::showMeanFaces(const QImage& selection, const QImage& all)
{
    m_meanAll->setPixmap(scaledTo(all, 96));
    if (selection.isNull())
        m_meanSelection->clear();
    else
        m_meanSelection->setPixmap(scaledTo(selection, 96));
}

void MapSelectionPanel::showMeanError(const QString& error)
{
    m_meanSelection->setText(tr("cannot decode:\n%1").arg(error));
}

void MapSelectionPanel::setSubsets(const QStringList& names)
{
    m_subsets->clear();
    m_subsets->addItem(tr("Saved subsets..."));
    for (const QString& name : names)
        m_subsets->addItem(name);
}

void MapSelectionPanel::addSubset(const QString& name)
{
    if (m_subsets->findText(name) < 0)
        m_subsets->addItem(name);
}

void MapSelectionPanel::clear()
{
    clearPreview();
    m_meanSelection->clear();
    m_meanAll->clear();
    m_histogram->setShares({}, {});
    m_subsets->clear();
}

} // namespace faceatlas::ui

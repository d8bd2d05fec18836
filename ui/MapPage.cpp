#include "MapPage.h"

#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "data/SourceColumns.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MapColoring.h"
#include "MapLayoutSettings.h"
#include "MapSelectionPanel.h"
#include "ml/DatasetMap.h"
#include "ml/MapJob.h"
#include "ml/Projection.h"
#include "ml/Projections.h"
#include "PointMapView.h"
#include "Session.h"
#include "SimilarFacesPanel.h"
#include "util/Json.h"

#include <algorithm>
#include <QButtonGroup>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QShortcut>
#include <QSignalBlocker>
#include <QToolButton>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

/** A map opened on the lane for the page: laid out, with its codes and its line for the status. */
struct LoadedMap {
    PointLayout layout;
    std::shared_ptr<const Codes> codes;
    std::shared_ptr<const std::vector<float>> preserved; // null for a map from before the score
    nlohmann::json settings;
    QString text;
};

/** The status line of a map: its kind and size, its parameters, its neighbour recall and its folder. */
QString mapCaption(const MapPoints& map, const QString& dir)
{
    const ProjectionInfo* projection = findProjection(map.method);
    QString text = MapPage::tr(projection ? projection->caption : "Map") + MapPage::tr(" of %1 faces").arg(map.count());
    const QString parameters = MapLayoutSettings::describe(map.settings);
    if (!parameters.isEmpty())
        text += MapPage::tr(" (%1)").arg(parameters);
    if (map.recall >= 0)
        text += MapPage::tr("; it keeps %1% of each face's 10 nearest neighbours in code space")
                    .arg(qRound(map.recall * 100));
    text += MapPage::tr(" (%1)").arg(QFileInfo(dir).fileName());
    return text;
}

/** Reads the map in `dir` for the open dataset (core checks that it is its map) and lays it out (on the lane). */
LoadedMap openMap(const QString& dir, const PreparedDataset& data, const std::vector<std::string>& fingerprints)
{
    DatasetMap map = readDatasetMap(dir.toStdString(), data, fingerprints);
    LoadedMap loaded;
    loaded.codes = std::move(map.codes);
    loaded.layout = PointMapView::layoutPoints(std::make_shared<const std::vector<float>>(std::move(map.points.xy)));
    if (!map.points.preserved.empty())
        loaded.preserved = std::make_shared<const std::vector<float>>(std::move(map.points.preserved));
    loaded.text = mapCaption(map.points, dir);
    loaded.settings = std::move(map.points.settings);
    return loaded;
}

} // namespace

MapPage::MapPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    m_view = new PointMapView;
    m_view->setObjectName("pointMap");
    m_view->setThumbnailSource([this](qint64 i) { return m_session->face(i); });
    QLayout* controls = buildControls();
    m_status = new QLabel;
    m_status->setObjectName("mapStatus");
    m_status->setWordWrap(true);
    auto* body = new QHBoxLayout;
    body->addWidget(m_view, 1);
    body->addWidget(buildPanel());
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_layoutSettings);
    layout->addWidget(m_status);
    layout->addLayout(body, 1);
    connectView();
    connectPanels();
    connectSession(session);
    rebuildColorBy();
    findLatestMap();
}

QLayout* MapPage::buildControls()
{
    m_method = new QComboBox;
    for (const ProjectionInfo& projection : projections())
        m_method->addItem(tr(projection.title), QString::fromLatin1(projection.name));
    m_compute = new QPushButton(tr("Compute map"));
    m_compute->setToolTip(tr("Lays out the codes of the Clusters page's encoding in two dimensions"));
    // The layout's parameters on a row of their own, shown on request; an opened map sets them.
    m_layoutSettings = new MapLayoutSettings;
    m_layoutSettings->setVisible(false);
    auto* settingsButton = new QToolButton;
    settingsButton->setObjectName("mapSettingsButton");
    settingsButton->setText(tr("Settings"));
    settingsButton->setCheckable(true);
    settingsButton->setToolTip(tr("The neighbour map's parameters: neighbours, minimum distance, epochs, seed, "
                                  "neighbour search"));
    connect(settingsButton, &QToolButton::toggled, m_layoutSettings, &QWidget::setVisible);
    m_colorBy = new QComboBox;
    m_colorBy->setObjectName("colorBy");
    m_colorBy->addItems(mapColumnNames());
    const auto toolButton = [this](const QString& text, const QString& key, const QString& tip) {
        auto* b = new QToolButton;
        b->setText(text);
        b->setCheckable(true);
        b->setShortcut(QKeySequence(key));
        b->setToolTip(tip + tr(" (%1)").arg(key));
        return b;
    };
    m_pan = toolButton(tr("Pan"), QStringLiteral("H"), tr("Drag to move the map; the wheel zooms"));
    m_rect =
        toolButton(tr("Rectangle"), QStringLiteral("R"), tr("Drag a rectangle to select; Shift adds, Ctrl removes"));
    m_lasso = toolButton(tr("Lasso"), QStringLiteral("L"), tr("Draw around faces to select; Shift adds, Ctrl removes"));
    auto* tools = new QButtonGroup(this);
    for (QToolButton* b : {m_pan, m_rect, m_lasso})
        tools->addButton(b);
    m_lasso->setChecked(true);
    auto* fit = new QPushButton(tr("Fit"));
    fit->setToolTip(tr("Show the whole map (0)"));
    connect(fit, &QPushButton::clicked, m_view, &PointMapView::fitAll);
    auto* controls = new QHBoxLayout;
    controls->addWidget(m_method);
    controls->addWidget(settingsButton);
    controls->addWidget(m_compute);
    controls->addSpacing(16);
    controls->addWidget(new QLabel(tr("Colour by")));
    controls->addWidget(m_colorBy);
    controls->addSpacing(16);
    for (QWidget* w : {static_cast<QWidget*>(m_pan), static_cast<QWidget*>(m_rect), static_cast<QWidget*>(m_lasso),
                       static_cast<QWidget*>(fit)})
        controls->addWidget(w);
    controls->addStretch();
    return controls;
}

QWidget* MapPage::buildPanel()
{
    // The panel: the face under the cursor and the selection, then "more like this".
    m_selectionPanel = new MapSelectionPanel;
    m_similarPanel = new SimilarFacesPanel(m_session);
    auto* panel = new QVBoxLayout;
    panel->addWidget(m_selectionPanel);
    panel->addSpacing(8);
    panel->addWidget(m_similarPanel, 1);
    auto* panelWidget = new QWidget;
    panelWidget->setLayout(panel);
    panelWidget->setFixedWidth(330);
    return panelWidget;
}

void MapPage::connectView()
{
    connect(m_compute, &QPushButton::clicked, this, &MapPage::computeMapWithChosenMethod);
    // Escape clears the selection (the view's own key): a shortcut, so Help > Keyboard shortcuts lists it.
    auto* clearKey = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    clearKey->setContext(Qt::WidgetWithChildrenShortcut);
    clearKey->setWhatsThis(tr("Clear the selection"));
    connect(clearKey, &QShortcut::activated, m_view, &PointMapView::clearSelection);
    connect(m_colorBy, &QComboBox::currentTextChanged, this, &MapPage::refreshColors);
    connectTools();
    connect(m_view, &PointMapView::selectionChanged, this, &MapPage::selectionChanged);
    connect(m_view, &PointMapView::pointHovered, this, [this](qint64 i) { showPreview(i >= 0 ? i : m_pinned); });
    connect(m_view, &PointMapView::pointClicked, this, [this](qint64 i) {
        m_pinned = i;
        showPreview(i);
        Q_EMIT faceChosen(i);
    });
    connect(m_view, &PointMapView::pointMenuRequested, this, [this](qint64 i, QPoint at) {
        QMenu menu(this);
        menu.addAction(tr("More like this"), this, [this, i] { similarTo(i); });
        menu.addAction(tr("Open in the face panel"), this, [this, i] { Q_EMIT faceChosen(i); });
        menu.exec(at);
    });
}

void MapPage::connectTools()
{
    connect(m_pan, &QToolButton::toggled, this, [this](bool on) {
        if (on)
            m_view->setTool(PointMapView::Tool::Pan);
    });
    connect(m_rect, &QToolButton::toggled, this, [this](bool on) {
        if (on)
            m_view->setTool(PointMapView::Tool::Rectangle);
    });
    connect(m_lasso, &QToolButton::toggled, this, [this](bool on) {
        if (on)
            m_view->setTool(PointMapView::Tool::Lasso);
    });
}

void MapPage::connectPanels()
{
    MapSelectionPanel* selection = m_selectionPanel;
    connect(selection, &MapSelectionPanel::showGridClicked, this, &MapPage::showGrid);
    connect(selection, &MapSelectionPanel::clearClicked, m_view, &PointMapView::clearSelection);
    connect(selection, &MapSelectionPanel::clusterClicked, this, &MapPage::clusterSelection);
    connect(selection, &MapSelectionPanel::sliceClicked, this, &MapPage::requestSlice);
    connect(selection, &MapSelectionPanel::excludeClicked, this, &MapPage::requestExclusion);
    connect(selection, &MapSelectionPanel::exportClicked, this, &MapPage::askExportSelection);
    connect(selection, &MapSelectionPanel::saveClicked, this, &MapPage::askSaveSubset);
    connect(selection, &MapSelectionPanel::subsetChosen, this, &MapPage::loadSubset);
    // "More like this" marks its question and rings its answers on the map.
    SimilarFacesPanel* similar = m_similarPanel;
    connect(similar, &SimilarFacesPanel::queryMarked, m_view, &PointMapView::setMarked);
    connect(similar, &SimilarFacesPanel::resultsShown, m_view, &PointMapView::setRinged);
    connect(similar, &SimilarFacesPanel::faceClicked, this, &MapPage::pinFace);
    connect(similar, &SimilarFacesPanel::faceChosen, this, &MapPage::faceChosen);
}

void MapPage::connectSession(Session* session)
{
    // The order of a switch (see Session): drop everything derived from the old dataset first.
    connect(session, &Session::datasetAboutToChange, this, [this] {
        m_sourceColumns.reset();
        clear(tr("No dataset open."));
    });
    connect(session, &Session::datasetChanged, this, &MapPage::rebuildColorBy);
    connect(session, &Session::datasetChanged, this, &MapPage::findLatestMap);
    connect(session, &Session::codesChanged, this, &MapPage::findLatestMap);
    connect(session, &Session::newestMapChanged, this, &MapPage::findLatestMap);
    connect(session, &Session::predictionsChanged, this, &MapPage::refreshColors);
    connect(session, &Session::clustersChanged, this, &MapPage::refreshColors);
    connect(session, &Session::clusterNamesChanged, this, &MapPage::refreshColors);
}

MapPage::~MapPage() = default;

bool MapPage::hasMap() const
{
    return m_view->pointCount() > 0;
}

QString MapPage::statusText() const
{
    return m_status->text();
}

QString MapPage::selectionText() const
{
    return m_selectionPanel->selectionText();
}

std::vector<qint64> MapPage::selectedRows() const
{
    return m_view->selectedRows();
}

void MapPage::clear(const QString& why)
{
    m_points.reset();
    m_codes.reset();
    m_preserved.reset();
    m_mapDir.clear();
    m_loadingMapDir.clear();
    m_view->setPoints(nullptr);
    m_similarPanel->clear(); // its codes, features, faces and last question
    m_pinned = -1;
    m_view->setColors({}, {});
    m_selectionMean = m_allMean = QImage();
    m_selectionPanel->clear();
    m_statusText = why;
    m_status->setText(why);
}

void MapPage::findLatestMap()
{
    if (!m_session->dataset()) {
        clear(tr("Open and prepare a dataset, train an autoencoder and encode the faces (Clusters page); then "
                 "compute a map here."));
        return;
    }
    // The newest map of the open preparation (the workspace index); never another dataset's.
    const QString map = m_session->newest(OutputKind::Map);
    if (map.isEmpty()) {
        clear((m_session->codesDir().isEmpty()
                   ? tr("Encode the faces first (Clusters page, Encode), then compute a map.")
                   : tr("No map of this preparation yet: press Compute map."))
              + m_session->otherDatasetsNote(OutputKind::Map));
        return;
    }
    if (map == m_mapDir || map == m_loadingMapDir)
        return; // shown already, or on its way
    loadMap(map);
}

void MapPage::computeMapWithChosenMethod()
{
    computeMap(m_method->currentData().toString());
}

void MapPage::computeMap(const QString& method)
{
    const QString codes = m_session->codesDir();
    if (!m_session->dataset() || codes.isEmpty()) {
        m_status->setText(tr("A map needs a prepared dataset and its codes: encode the faces first (Clusters page)."));
        return;
    }
    const auto recorded = readCodesFingerprint(codes.toStdString());
    if (recorded && !m_session->isOpenPreparation(*recorded)) {
        m_status->setText(tr("The codes in %1 were made from another preparation than the open dataset: encode the "
                             "faces again first.")
                              .arg(codes));
        return;
    }
    MapParams p;
    p.codes = codes.toStdString();
    p.method = method.isEmpty() ? projections().front().name : method.toStdString(); // empty: the default
    p.embedding = m_layoutSettings->params(); // a PCA map uses its neighbour search for the preservation
    const QString out = QDir(m_session->workspace())
                            .filePath(QStringLiteral("maps/%1-%2-%3")
                                          .arg(QFileInfo(codes).fileName(), method,
                                               QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss-zzz")));
    p.outDir = out.toStdString();
    const auto job = [p](const CancelToken& cancel, const JobRunner::Report& report) {
        return !faceatlas::computeMap(p, cancel, [&](const JobProgress& jp) {
                    report(QString::fromUtf8(jp.stage), jp.done, jp.total);
                }).cancelled;
    };
    const auto done = [this, out](bool ok, bool cancelled, const QString& error) {
        if (ok && !cancelled)
            loadMap(out);
        else if (!ok)
            m_status->setText(tr("The map failed: %1").arg(error));
    };
    if (!m_session->jobs()->start(tr("Computing the map"), job, done))
        m_status->setText(tr("Cannot compute a map now. %1").arg(m_session->jobs()->busyReason()));
}

void MapPage::loadMap(const QString& dir)
{
    const auto data = m_session->sharedDataset();
    if (!data)
        return;
    const std::vector<std::string> fingerprints = m_session->openFingerprints();
    m_loadingMapDir = dir;
    m_status->setText(tr("Opening the map in %1...").arg(dir));
    m_session->lane()->submit<LoadedMap>(
        QStringLiteral("map-open"), this, [dir, data, fingerprints] { return openMap(dir, *data, fingerprints); },
        [this, dir](LoadedMap loaded) {
            m_mapDir = dir;
            m_loadingMapDir.clear();
            m_points = loaded.layout.xy;
            m_codes = loaded.codes;
            m_similarPanel->setCodes(loaded.codes);
            m_preserved = loaded.preserved;
            m_layoutSettings->showRecorded(loaded.settings);
            m_allMean = QImage();
            m_statusText = loaded.text;
            m_status->setText(loaded.text);
            m_view->setPoints(std::move(loaded.layout));
            m_selectionPanel->setSubsets(subsets());
            refreshColors();
        },
        [this](const QString& error) {
            clear(tr("The map cannot be shown: %1").arg(error));
            m_loadingMapDir.clear();
        });
}

void MapPage::setColorBy(const QString& column)
{
    m_colorBy->setCurrentText(column);
    refreshColors();
}

void MapPage::rebuildColorBy()
{
    const auto data = m_session->sharedDataset();
    // From prepared.json in memory: no file is read here.
    const QStringList names = mapColumnNames(data ? preparedColumnNames(*data) : std::vector<std::string>{});
    if (names == mapColumnNames() && m_colorBy->count() == names.size())
        return; // nothing changes (no further columns before or now)
    const QString chosen = m_colorBy->currentText();
    const QSignalBlocker block(m_colorBy);
    m_colorBy->clear();
    m_colorBy->addItems(names);
    m_colorBy->setCurrentIndex(std::max(0, static_cast<int>(names.indexOf(chosen))));
}

void MapPage::refreshColors()
{
    if (!m_points)
        return;
    MapColumns columns;
    columns.data = m_session->sharedDataset();
    columns.predictions = m_session->sharedPredictions();
    columns.spreads = m_session->sharedPredictionSpreads();
    columns.clusters = m_session->sharedClusterLabels();
    columns.clusterNames = m_session->clusterSummaries();
    columns.suspicion = m_suspicion;
    columns.preserved = m_preserved;
    columns.sourceColumns = m_sourceColumns;
    const QString column = m_colorBy->currentText();
    // A further CSV column's values are read from columns.csv on the lane, once per preparation.
    const bool readColumns = !columns.sourceColumns && column.startsWith(sourceColumnPrefix()) && columns.data;
    struct Colored {
        MapColoring coloring;
        std::shared_ptr<const SourceColumns> sourceColumns;
    };
    m_session->lane()->submit<Colored>(
        QStringLiteral("map-colours"), this,
        [columns, column, readColumns] {
            MapColumns with = columns;
            if (readColumns)
                with.sourceColumns = std::make_shared<const SourceColumns>(readPreparedColumns(*with.data));
            if (column.startsWith(qualityColumnPrefix()) && with.data) // quality.f32, read once per preparation
                with.quality = qualityOf(with.data);
            return Colored{colorPoints(column, with), with.sourceColumns};
        },
        [this, data = columns.data](Colored colored) {
            // Kept only for the preparation they were read from (a switch may have come between).
            if (data == m_session->sharedDataset() && colored.sourceColumns)
                m_sourceColumns = colored.sourceColumns;
            MapColoring& coloring = colored.coloring;
            m_view->setColors(std::move(coloring.colors), std::move(coloring.legend));
            m_colorMissing = coloring.missing;
            m_status->setText(m_colorMissing.isEmpty() ? m_statusText
                                                       : m_statusText + tr(". Colours: %1.").arg(m_colorMissing));
        },
        [this](const QString& error) { m_status->setText(tr("Cannot colour the map: %1").arg(error)); });
}

void MapPage::showPreview(qint64 row)
{
    const PreparedDataset* data = m_session->dataset();
    if (!data || row < 0 || static_cast<size_t>(row) >= data->count()) {
        m_selectionPanel->clearPreview();
        return;
    }
    const QImage face = m_session->face(row);
    const Record& r = data->records()[static_cast<size_t>(row)];
    QString text =
        tr("<b>Face %1</b><br>%2<br>age %3, %4")
            .arg(row)
            .arg(QFileInfo(QString::fromStdString(r.path)).fileName().toHtmlEscaped())
            .arg(r.age ? QString::number(*r.age) : tr("unknown"))
            .arg(r.gender == Gender::Unknown ? tr("gender unknown") : QString::fromUtf8(genderName(r.gender)));
    if (const QString predicted = m_session->predictedAgeOf(static_cast<size_t>(row)); !predicted.isEmpty())
        text += tr("<br>predicted %1").arg(predicted.toHtmlEscaped());
    if (static_cast<size_t>(row) < m_session->clusterLabels().size() && m_session->clusterLabels()[row] >= 0)
        text += tr("<br>cluster %1")
                    .arg(m_session->clusterTitle(m_session->clusterLabels()[static_cast<size_t>(row)]).toHtmlEscaped());
    m_selectionPanel->showPreview(face, text);
}

void MapPage::pinFace(qint64 row)
{
    m_pinned = row;
    showPreview(row);
    m_view->focusPoint(row);
}

void MapPage::setSuspicion(std::shared_ptr<const std::vector<float>> scores)
{
    m_suspicion = std::move(scores);
    refreshColors();
}

void MapPage::similarTo(qint64 row)
{
    m_similarPanel->similarTo(row);
}

void MapPage::similarToImage(const QString& file)
{
    m_similarPanel->similarToImage(file);
}

std::vector<qint64> MapPage::similarFaces() const
{
    return m_similarPanel->similarFaces();
}

} // namespace faceatlas::ui

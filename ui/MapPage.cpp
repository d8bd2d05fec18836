#include "MapPage.h"

#include "AgeHistogram.h"
#include "analysis/EncodeImage.h"
#include "data/CsvExport.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "data/ReviewFile.h"
#include "data/SourceColumns.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MapColoring.h"
#include "MapLayoutSettings.h"
#include "ml/ExactKnn.h"
#include "ml/Inference.h"
#include "ml/MapJob.h"
#include "ml/Projection.h"
#include "ml/Projections.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "PointMapView.h"
#include "Session.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "WriteQueue.h"

#include <algorithm>
#include <cmath>
#include <QButtonGroup>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QShortcut>
#include <QSignalBlocker>
#include <QToolButton>
#include <QVBoxLayout>
#include <unordered_map>

namespace faceatlas::ui {

namespace {

QString kPreviewHint()
{
    return MapPage::tr("Hover a point to see its face; click it to open the face panel; right-click for more "
                       "like it.");
}

QString kSimilarHint()
{
    return MapPage::tr("<b>More like this</b>: right-click a face, or drop an image file on the window.");
}

constexpr int kSimilar = 24;

/** The mean code of `rows` (all when null) decoded by the codes' autoencoder, on the lane. */
QImage decodedMean(InteractiveLane* lane, const Codes& codes, const std::vector<qint64>* rows)
{
    const auto model = lane->model(QString::fromStdString(codes.runDir().string()));
    std::vector<std::int64_t> chosen;
    if (rows)
        chosen.assign(rows->begin(), rows->end());
    const std::vector<std::uint8_t> rgb = decodeMeanCode(*model->model, codes, rows ? &chosen : nullptr);
    const int side = model->model->imageSize();
    return rgb.empty() ? QImage() : rgbImage(rgb.data(), side, side);
}

QString subsetFileName(const QString& name)
{
    QString safe = name.trimmed();
    safe.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9 _.-]")), QStringLiteral("_"));
    return safe.left(80) + QStringLiteral(".json");
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

    // The panel: the face under the cursor and the selection, then "more like this".
    auto* panel = new QVBoxLayout;
    panel->addLayout(buildSelectionPanel());
    panel->addSpacing(8);
    panel->addLayout(buildSimilarPanel(), 1);
    auto* panelWidget = new QWidget;
    panelWidget->setLayout(panel);
    panelWidget->setFixedWidth(330);
    auto* body = new QHBoxLayout;
    body->addWidget(m_view, 1);
    body->addWidget(panelWidget);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_layoutSettings);
    layout->addWidget(m_status);
    layout->addLayout(body, 1);
    connectView();
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

QLayout* MapPage::buildSelectionPanel()
{
    m_preview = new QLabel;
    m_preview->setFixedSize(128, 128);
    m_preview->setAlignment(Qt::AlignCenter);
    m_preview->setStyleSheet("background: #eee");
    m_previewText = new QLabel(kPreviewHint());
    m_previewText->setWordWrap(true);
    auto* previewRow = new QHBoxLayout;
    previewRow->addWidget(m_preview);
    previewRow->addWidget(m_previewText, 1);
    m_selectionLabel = new QLabel(tr("Nothing selected: draw around faces with the lasso."));
    m_selectionLabel->setObjectName("selectionLabel");
    m_selectionLabel->setWordWrap(true);
    m_histogram = new AgeHistogram;
    m_histogram->setFixedHeight(110);
    m_histogram->setToolTip(tr("Ages: every face (grey) and the selection (blue), as shares of each"));
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
    auto* part = new QVBoxLayout;
    part->setContentsMargins(0, 0, 0, 0);
    part->addLayout(previewRow);
    part->addSpacing(8);
    part->addWidget(m_selectionLabel);
    part->addWidget(m_histogram);
    part->addLayout(means);
    part->addLayout(buildSelectionActions());
    return part;
}

QLayout* MapPage::buildSelectionActions()
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
    connect(showGrid, &QPushButton::clicked, this, &MapPage::showGrid);
    connect(clearButton, &QPushButton::clicked, m_view, &PointMapView::clearSelection);
    connect(clusterButton, &QPushButton::clicked, this, &MapPage::clusterSelection);
    connect(sliceButton, &QPushButton::clicked, this, [this] {
        const qint64 n = m_view->selectedCount();
        if (n == 0) {
            m_status->setText(tr("Select faces first: draw around them with the lasso, or choose a saved subset."));
            return;
        }
        // Commas join two attributes in a grouping's name: none in a subset's.
        QString name = m_selectedSubset.isEmpty() ? tr("selection: %1 faces").arg(n)
                                                  : tr("subset %1: %2 faces").arg(m_selectedSubset).arg(n);
        name.replace(QLatin1Char(','), QLatin1Char(' '));
        Q_EMIT sliceRequested(name, std::make_shared<const std::vector<char>>(m_view->selection()));
    });
    connect(excludeButton, &QPushButton::clicked, this, &MapPage::requestExclusion);
    connect(exportButton, &QPushButton::clicked, this, [this] {
        if (m_view->selectedCount() == 0) {
            m_status->setText(tr("Select faces first: draw around them with the lasso."));
            return;
        }
        const QString file = QFileDialog::getSaveFileName(this, tr("Export the selection as a CSV dataset"),
                                                          QStringLiteral("selection.csv"), tr("CSV (*.csv)"));
        if (!file.isEmpty())
            exportSelection(file);
    });
    connect(save, &QPushButton::clicked, this, [this] {
        if (m_view->selectedCount() == 0) {
            m_status->setText(tr("Select faces first: draw around them with the lasso."));
            return;
        }
        const QString name = QInputDialog::getText(this, tr("Save subset"), tr("Name of the subset"));
        if (!name.trimmed().isEmpty())
            saveSubset(name);
    });
    connect(m_subsets, &QComboBox::activated, this, [this](int index) {
        if (index > 0)
            loadSubset(m_subsets->itemText(index));
    });
    return actions;
}

QLayout* MapPage::buildSimilarPanel()
{
    m_similarLabel = new QLabel(kSimilarHint());
    m_similarLabel->setWordWrap(true);
    m_space = new QComboBox;
    m_space->setObjectName("similarSpace");
    m_space->addItem(tr("by their codes (autoencoder)"));
    m_space->addItem(tr("by the age model's features"));
    m_space->setToolTip(tr("What \"more like this\" compares: the autoencoder's codes, or the features the latest "
                           "age model's last conv layer computes (a pass over every face, once)"));
    connect(m_space, &QComboBox::currentIndexChanged, this, [this] {
        // The same question in the other space.
        if (m_lastQueryRow >= 0)
            similarTo(m_lastQueryRow);
        else if (!m_lastQueryFile.isEmpty())
            similarToImage(m_lastQueryFile);
    });
    m_similarList = new QListWidget;
    m_similarList->setObjectName("similar");
    m_similarList->setViewMode(QListView::IconMode);
    m_similarList->setIconSize(QSize(56, 56));
    m_similarList->setGridSize(QSize(70, 84));
    m_similarList->setResizeMode(QListView::Adjust);
    m_similarList->setMovement(QListView::Static);
    connect(m_similarList, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
        const qint64 row = item->data(Qt::UserRole).toLongLong();
        m_pinned = row;
        showPreview(row);
        m_view->focusPoint(row);
    });
    connect(m_similarList, &QListWidget::itemDoubleClicked, this,
            [this](QListWidgetItem* item) { Q_EMIT faceChosen(item->data(Qt::UserRole).toLongLong()); });

    auto* part = new QVBoxLayout;
    part->setContentsMargins(0, 0, 0, 0);
    part->addWidget(m_similarLabel);
    part->addWidget(m_space);
    part->addWidget(m_similarList, 1);
    return part;
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
    return m_selectionLabel->text();
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
    m_features.reset();
    m_mapDir.clear();
    m_loadingMapDir.clear();
    m_view->setPoints(nullptr);
    m_similar.clear();
    m_similarList->clear();
    m_lastQueryRow = -1;
    m_lastQueryFile.clear();
    m_pinned = -1;
    m_preview->clear();
    m_previewText->setText(kPreviewHint());
    m_similarLabel->setText(kSimilarHint());
    m_view->setColors({}, {});
    m_selectionMean = m_allMean = QImage();
    m_meanSelection->clear();
    m_meanAll->clear();
    m_histogram->setShares({}, {});
    m_subsets->clear();
    m_statusText = why;
    m_status->setText(why);
}

QString MapPage::subsetsDir() const
{
    // Subsets name their faces by path, so they outlive a preparation: any dataset holding those
    // faces can select them again.
    return QDir(m_session->workspace()).filePath(QStringLiteral("subsets"));
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
    struct Loaded {
        PointLayout layout;
        std::shared_ptr<const Codes> codes;
        std::shared_ptr<const std::vector<float>> preserved; // null for a map from before the score
        nlohmann::json settings;
        QString text;
    };
    const auto data = m_session->sharedDataset();
    if (!data)
        return;
    const std::vector<std::string> fingerprints = m_session->openFingerprints();
    m_loadingMapDir = dir;
    m_status->setText(tr("Opening the map in %1...").arg(dir));
    m_session->lane()->submit<Loaded>(
        QStringLiteral("map-open"), this,
        [dir, data, fingerprints] {
            MapPoints map = readMap(dir.toStdString());
            const std::string where = displayPath(dir.toStdString());
            if (!map.dataFingerprint.empty()
                && std::find(fingerprints.begin(), fingerprints.end(), map.dataFingerprint) == fingerprints.end())
                throw Error(where + " is a map of another preparation than the open dataset");
            if (map.count() != data->count())
                throw Error(where + " holds " + std::to_string(map.count()) + " faces, the open dataset "
                            + std::to_string(data->count()));
            for (size_t i = 0; i < map.count(); ++i)
                if (map.paths[i] != recordKey(data->records()[i]))
                    throw Error(where + ": face " + std::to_string(i) + " is " + map.paths[i]
                                + ", not the open dataset's " + recordKey(data->records()[i]));
            Loaded loaded;
            loaded.codes = std::make_shared<const Codes>(Codes::open(map.codes));
            if (loaded.codes->count() != data->count())
                throw Error(displayPath(map.codes) + " no longer holds the codes this map was made of");
            loaded.layout = PointMapView::layoutPoints(std::make_shared<const std::vector<float>>(std::move(map.xy)));
            if (!map.preserved.empty())
                loaded.preserved = std::make_shared<const std::vector<float>>(std::move(map.preserved));
            const ProjectionInfo* projection = findProjection(map.method);
            loaded.text = tr(projection ? projection->caption : "Map") + tr(" of %1 faces").arg(map.count());
            const QString parameters = MapLayoutSettings::describe(map.settings);
            if (!parameters.isEmpty())
                loaded.text += tr(" (%1)").arg(parameters);
            if (map.recall >= 0)
                loaded.text += tr("; it keeps %1% of each face's 10 nearest neighbours in code space")
                                   .arg(qRound(map.recall * 100));
            loaded.settings = std::move(map.settings);
            loaded.text += tr(" (%1)").arg(QFileInfo(dir).fileName());
            return loaded;
        },
        [this, dir](Loaded loaded) {
            m_mapDir = dir;
            m_loadingMapDir.clear();
            m_points = loaded.layout.xy;
            m_codes = loaded.codes;
            m_preserved = loaded.preserved;
            m_layoutSettings->showRecorded(loaded.settings);
            m_allMean = QImage();
            m_statusText = loaded.text;
            m_status->setText(loaded.text);
            m_view->setPoints(std::move(loaded.layout));
            m_subsets->clear();
            m_subsets->addItem(tr("Saved subsets..."));
            for (const QString& name : subsets())
                m_subsets->addItem(name);
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

void MapPage::selectionChanged(qint64 count)
{
    m_selectedSubset.clear();
    const qint64 total = m_view->pointCount();
    m_selectionLabel->setText(count > 0
                                  ? tr("<b>%1 of %2 faces selected</b>").arg(count).arg(total)
                                  : tr("Nothing selected: draw around faces with the lasso (%1 faces).").arg(total));
    std::shared_ptr<const std::vector<char>> mask;
    if (count > 0)
        mask = std::make_shared<const std::vector<char>>(m_view->selection());
    Q_EMIT subsetChanged(mask, count);
    const auto data = m_session->sharedDataset();
    const auto codes = m_codes;
    if (!data || !codes || total == 0)
        return;
    struct Summary {
        std::vector<double> all, selection;
        QImage selectionMean, allMean;
    };
    auto rows = std::make_shared<const std::vector<qint64>>(m_view->selectedRows());
    InteractiveLane* lane = m_session->lane();
    const bool needAll = m_allMean.isNull();
    m_session->lane()->submit<Summary>(
        QStringLiteral("map-selection"), this,
        [data, codes, rows, lane, needAll] {
            Summary s;
            s.all = ageShares(*data, nullptr);
            if (!rows->empty()) {
                s.selection = ageShares(*data, rows.get());
                s.selectionMean = decodedMean(lane, *codes, rows.get());
            }
            if (needAll)
                s.allMean = decodedMean(lane, *codes, nullptr);
            return s;
        },
        [this](Summary s) {
            m_histogram->setShares(std::move(s.all), std::move(s.selection));
            if (!s.allMean.isNull())
                m_allMean = s.allMean;
            m_selectionMean = s.selectionMean;
            m_meanAll->setPixmap(
                QPixmap::fromImage(m_allMean).scaled(96, 96, Qt::KeepAspectRatio, Qt::SmoothTransformation));
            if (m_selectionMean.isNull())
                m_meanSelection->clear();
            else
                m_meanSelection->setPixmap(
                    QPixmap::fromImage(m_selectionMean).scaled(96, 96, Qt::KeepAspectRatio, Qt::SmoothTransformation));
        },
        [this](const QString& error) { m_meanSelection->setText(tr("cannot decode:\n%1").arg(error)); });
}

void MapPage::showPreview(qint64 row)
{
    const PreparedDataset* data = m_session->dataset();
    if (!data || row < 0 || static_cast<size_t>(row) >= data->count()) {
        m_preview->clear();
        m_previewText->setText(kPreviewHint());
        return;
    }
    m_preview->setPixmap(
        QPixmap::fromImage(m_session->face(row)).scaled(128, 128, Qt::KeepAspectRatio, Qt::SmoothTransformation));
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
    m_previewText->setText(text);
}

void MapPage::exportSelection(const QString& file)
{
    const auto data = m_session->sharedDataset();
    const std::vector<qint64> rows = m_view->selectedRows();
    if (!data || rows.empty()) {
        m_status->setText(tr("Select faces first: draw around them with the lasso."));
        return;
    }
    const std::vector<std::int64_t> selected(rows.begin(), rows.end());
    m_status->setText(tr("Exporting %1 faces to %2 ...").arg(selected.size()).arg(file));
    m_session->writer()->submit<size_t>(
        this, [data, selected, file] { return exportCsvDataset(*data, selected, file.toStdString()); },
        [this, file](size_t written) {
            m_status->setText(tr("Exported %1 faces to %2 (open it with File > Open CSV).").arg(written).arg(file));
        },
        [this](const QString& error) { m_status->setText(tr("Export failed: %1").arg(error)); });
}

QStringList MapPage::subsets() const
{
    if (!m_session->dataset())
        return {};
    QStringList names;
    for (const QFileInfo& f : QDir(subsetsDir()).entryInfoList({"*.json"}, QDir::Files, QDir::Name))
        names << f.completeBaseName();
    return names;
}

void MapPage::saveSubset(const QString& name)
{
    const auto data = m_session->sharedDataset();
    const std::vector<qint64> rows = m_view->selectedRows();
    if (!data || rows.empty())
        return;
    const QString file = QDir(subsetsDir()).filePath(subsetFileName(name));
    m_session->writer()->submit<bool>(
        this,
        [file, name, data, rows] {
            nlohmann::json paths = nlohmann::json::array();
            for (const qint64 row : rows)
                paths.push_back(recordKey(data->records()[static_cast<size_t>(row)]));
            const nlohmann::json j = {
                {"name", name.toStdString()}, {"source", data->sourceSpec()}, {"count", rows.size()}, {"paths", paths}};
            std::filesystem::create_directories(std::filesystem::path(file.toStdString()).parent_path());
            writeFileAtomic(file.toStdString(), jsonText(j) + "\n");
            return true;
        },
        [this, name, file](bool) {
            const QString shown = QFileInfo(file).completeBaseName();
            if (m_subsets->findText(shown) < 0)
                m_subsets->addItem(shown);
            m_status->setText(tr("Saved the selection as the subset '%1'.").arg(name));
        },
        [this](const QString& error) { m_status->setText(tr("Cannot save the subset: %1").arg(error)); });
}

bool MapPage::loadSubset(const QString& name)
{
    const auto data = m_session->sharedDataset();
    if (!data || !hasMap())
        return false;
    const QString file = QDir(subsetsDir()).filePath(subsetFileName(name));
    struct Found {
        std::vector<char> mask;
        size_t listed = 0, found = 0;
    };
    m_session->lane()->submit<Found>(
        QStringLiteral("subset-open"), this,
        [file, data] {
            const std::string where = displayPath(file.toStdString());
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(readFile(file.toStdString()));
            } catch (const Error&) {
                throw;
            } catch (const std::exception& e) {
                throw Error(where + ": invalid: " + e.what());
            }
            if (!j.is_object() || !j.contains("paths") || !j.at("paths").is_array())
                throw Error(where + ": no list of paths");
            std::unordered_map<std::string, size_t> rowOf;
            rowOf.reserve(data->count());
            for (size_t i = 0; i < data->count(); ++i)
                rowOf.emplace(recordKey(data->records()[i]), i);
            Found f;
            f.mask.assign(data->count(), 0);
            for (const auto& p : j.at("paths")) {
                if (!p.is_string())
                    throw Error(where + ": a path that is not a string");
                ++f.listed;
                const auto it = rowOf.find(p.get<std::string>());
                if (it != rowOf.end() && !f.mask[it->second]) {
                    f.mask[it->second] = 1;
                    ++f.found;
                }
            }
            return f;
        },
        [this, name](Found f) {
            m_view->setSelection(std::move(f.mask));
            m_selectedSubset = name; // after setSelection, whose selectionChanged forgets the last one
            m_status->setText(f.found == f.listed
                                  ? tr("Selected the subset '%1' (%2 faces).").arg(name).arg(f.found)
                                  : tr("Selected %1 faces of the subset '%2': %3 of its faces are not in this dataset.")
                                        .arg(f.found)
                                        .arg(name)
                                        .arg(f.listed - f.found));
        },
        [this](const QString& error) { m_status->setText(tr("Cannot open the subset: %1").arg(error)); });
    return true;
}

void MapPage::clusterSelection()
{
    const std::vector<qint64> rows = m_view->selectedRows();
    if (rows.size() < 3) {
        m_status->setText(tr("Select at least 3 faces to cluster."));
        return;
    }
    Q_EMIT clusterRows(std::vector<std::int64_t>(rows.begin(), rows.end()));
}

/** The vectors "more like this" compares: the codes, or an age model's features of every face. */
struct SearchSpace {
    VectorSet values;                   // [N, D]
    QString run;                        // the model that turns a dropped image into such a vector
    QString name;                       // for the panel: "code space"
    std::shared_ptr<const Codes> codes; // keeps mapped codes alive while `values` views them
};

std::shared_ptr<const SearchSpace> MapPage::searchSpace(const std::function<void()>& retry)
{
    if (m_space->currentIndex() == 0) {
        if (!m_codes) {
            m_similarLabel->setText(tr("Compute or open a map first: faces are compared by their codes."));
            return nullptr;
        }
        auto space = std::make_shared<SearchSpace>();
        space->codes = m_codes;
        space->values = VectorSet(m_codes->tensor());
        space->run = QString::fromStdString(m_codes->runDir().string());
        space->name = tr("code space");
        return space;
    }
    // The latest age model's features: computed once per run and dataset, as a job (a forward pass
    // over every face), then searched on the lane like the codes.
    const QString run = m_session->latestAgeRun();
    const auto data = m_session->sharedDataset();
    if (run.isEmpty() || !data) {
        m_similarLabel->setText(tr("Train an age model first (Train page) to compare faces by its features."));
        return nullptr;
    }
    if (const QString why = m_session->runMismatch(run); !why.isEmpty()) {
        m_similarLabel->setText(tr("The latest age model cannot read these faces: %1").arg(why));
        return nullptr;
    }
    if (m_features && m_features->run == run)
        return m_features;
    auto features = std::make_shared<SearchSpace>();
    features->run = run;
    features->name = tr("the age model's feature space");
    const auto job = [features, data](const CancelToken& cancel, const JobRunner::Report& report) {
        LoadedModel loaded = loadRunModel(features->run.toStdString());
        features->values =
            VectorSet(embedDataset(*loaded.model, *data, resolveDevice("auto"), cancel,
                                   [&](const JobProgress& p) { report(QString::fromUtf8(p.stage), p.done, p.total); }));
        return !features->values.empty();
    };
    const auto done = [this, features, data, retry](bool ok, bool cancelled, const QString& error) {
        if (!ok) {
            m_similarLabel->setText(tr("The age model's features could not be computed: %1").arg(error));
        } else if (!cancelled && data == m_session->sharedDataset()) {
            m_features = features;
            retry();
        }
    };
    m_similarLabel->setText(tr("Computing every face's features with the latest age model (once)..."));
    if (!m_session->jobs()->start(tr("Computing age-model features"), job, done))
        m_similarLabel->setText(
            tr("Cannot compute the age model's features now. %1").arg(m_session->jobs()->busyReason()));
    return nullptr;
}

void MapPage::setSuspicion(std::shared_ptr<const std::vector<float>> scores)
{
    m_suspicion = std::move(scores);
    refreshColors();
}

void MapPage::similarTo(qint64 row)
{
    m_lastQueryRow = row;
    m_lastQueryFile.clear();
    const auto space = searchSpace([this, row] { similarTo(row); });
    if (!space || row < 0 || row >= space->values.count())
        return;
    m_similarLabel->setText(tr("<b>More like face %1</b> (distance in %2):").arg(row).arg(space->name));
    m_view->setMarked(row);
    m_session->lane()->submit<Neighbours>(
        QStringLiteral("map-similar"), this, [space, row] { return space->values.nearestToRow(row, kSimilar); },
        [this](Neighbours found) { showSimilar(found.indices, found.distances); },
        [this](const QString& error) { m_similarLabel->setText(tr("Cannot search: %1").arg(error)); });
}

void MapPage::showSimilar(const std::vector<std::int64_t>& rows, const std::vector<float>& distances)
{
    m_similar.assign(rows.begin(), rows.end());
    m_similarList->clear();
    for (size_t i = 0; i < rows.size() && i < distances.size(); ++i) {
        auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(m_session->face(rows[i]))),
                                         QString::number(distances[i], 'f', 2));
        item->setData(Qt::UserRole, static_cast<qint64>(rows[i]));
        item->setToolTip(tr("face %1, distance %2").arg(rows[i]).arg(distances[i]));
        m_similarList->addItem(item);
    }
    m_view->setRinged(m_similar);
}

void MapPage::similarToImage(const QString& file)
{
    m_lastQueryRow = -1;
    m_lastQueryFile = file;
    const auto space = searchSpace([this, file] { similarToImage(file); });
    if (!space)
        return;
    m_similarLabel->setText(
        tr("<b>More like %1</b> (distance in %2):").arg(QFileInfo(file).fileName().toHtmlEscaped(), space->name));
    m_view->setMarked(-1);
    InteractiveLane* lane = m_session->lane();
    m_session->lane()->submit<Neighbours>(
        QStringLiteral("map-similar"), this,
        [space, file, lane] {
            const auto model = lane->model(space->run);
            std::vector<float> v =
                embedImageFile(*model->model, parseFraming(checkpointFraming(model->metaJson)), file.toStdString());
            if (static_cast<int64_t>(v.size()) != space->values.dim())
                throw Error(displayPath(space->run.toStdString()) + " does not make the vectors of this search");
            return space->values.nearestTo(v, kSimilar);
        },
        [this](Neighbours found) { showSimilar(found.indices, found.distances); },
        [this](const QString& error) { m_similarLabel->setText(tr("Cannot search: %1").arg(error)); });
}

} // namespace faceatlas::ui

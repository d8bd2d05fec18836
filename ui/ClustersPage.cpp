#include "ClustersPage.h"

#include "Charts.h"

#include "data/Provenance.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/ModelKinds.h"
#include "ml/Runs.h"
#include "NextStep.h"
#include "Session.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHorizontalBarSeries>
#include <QLabel>
#include <QLineSeries>
#include <QListWidget>
#include <QPainter>
#include <QPushButton>
#include <QScatterSeries>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QValueAxis>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

QLabel* pictureLabel(const QString& caption)
{
    auto* label = new QLabel(caption);
    label->setAlignment(Qt::AlignCenter);
    label->setMinimumSize(140, 140);
    label->setFrameShape(QFrame::StyledPanel);
    return label;
}

/** A picture scaled to `height`; small ones (a 64 px face) are enlarged with sharp pixels. */
void showPixmap(QLabel* label, const QPixmap& pixmap, int height)
{
    if (pixmap.isNull())
        label->setText(QObject::tr("(none)"));
    else
        label->setPixmap(pixmap.scaledToHeight(height, pixmap.height() * 2 <= height ? Qt::FastTransformation
                                                                                     : Qt::SmoothTransformation));
}

/**
 * The gallery scaled to `height` with its bottom row named: the core leaves that row's first tile
 * empty (under the centroid), and "outliers" is written there.
 */
QPixmap labelledGallery(const QPixmap& gallery, int height)
{
    if (gallery.isNull())
        return gallery;
    QPixmap out = gallery.scaledToHeight(height, gallery.height() * 2 <= height ? Qt::FastTransformation
                                                                                : Qt::SmoothTransformation);
    const double tile = out.height() / 2.0; // two rows of square tiles, with thin gaps
    QPainter painter(&out);
    QFont font = painter.font();
    font.setPixelSize(std::max(9, static_cast<int>(tile / 6)));
    font.setBold(true);
    painter.setFont(font);
    painter.setPen(Qt::white);
    painter.drawText(QRectF(0, tile, tile, tile), Qt::AlignCenter | Qt::TextWordWrap, QObject::tr("outliers\n→"));
    return out;
}

void showPicture(QLabel* label, const QString& file, int height)
{
    showPixmap(label, QPixmap(file), height);
}

} // namespace

ClustersPage::ClustersPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    m_encode = new QPushButton(tr("Encode faces with the latest autoencoder"));
    m_k = new QSpinBox;
    m_k->setRange(2, 200);
    m_k->setValue(8);
    m_sweep = new QCheckBox(tr("sweep up to"));
    m_kMax = new QSpinBox;
    m_kMax->setRange(2, 200);
    m_kMax->setValue(16);
    m_run = new QPushButton(tr("Cluster"));
    auto* exportButton = new QPushButton(tr("Export assignments..."));
    auto* sheetButton = new QPushButton(tr("Export contact sheet..."));
    auto* membersButton = new QPushButton(tr("Show its faces in the grid"));
    membersButton->setToolTip(tr("Every face of the selected cluster, on the Dataset page"));
    connect(membersButton, &QPushButton::clicked, this, [this] {
        if (m_list->currentRow() >= 0)
            Q_EMIT showMembers(m_list->currentRow());
    });
    auto* controls = new QHBoxLayout;
    controls->addWidget(m_encode);
    controls->addSpacing(20);
    controls->addWidget(new QLabel(tr("k")));
    controls->addWidget(m_k);
    controls->addWidget(m_sweep);
    controls->addWidget(m_kMax);
    controls->addWidget(m_run);
    controls->addWidget(exportButton);
    controls->addWidget(sheetButton);
    controls->addWidget(membersButton);
    controls->addStretch();

    m_summary = new QLabel(clusteringNextStep(*m_session));
    m_summary->setWordWrap(true);
    m_list = new QListWidget;
    m_list->setMinimumWidth(240);
    m_list->setMaximumWidth(300);
    m_sweepView = new QChartView;
    m_sweepView->setRenderHint(QPainter::Antialiasing);
    m_sweepView->setMinimumHeight(240);
    m_ageView = new QChartView;
    m_ageView->setRenderHint(QPainter::Antialiasing);
    m_ageView->setMinimumHeight(180);
    // The left column is as wide as the cluster list; the charts must not widen it.
    for (QChartView* view : {m_ageView, m_sweepView})
        view->setMaximumWidth(m_list->maximumWidth());
    auto* left = new QVBoxLayout;
    left->addWidget(m_list, 2);
    left->addWidget(m_ageView, 1);
    left->addWidget(m_sweepView, 1);

    m_gallery = pictureLabel(tr("gallery"));
    m_centroid = pictureLabel(tr("decoded centroid"));
    m_medoid = pictureLabel(tr("medoid"));
    m_interpolation = pictureLabel(tr("interpolation"));
    m_ageDirection = pictureLabel(tr("age direction"));
    auto* grid = new QGridLayout;
    grid->addWidget(new QLabel(tr("<b>Decoded centroid</b> (the capstone's averaged code)")), 0, 0);
    grid->addWidget(new QLabel(tr("<b>Medoid</b> (the real face nearest the centre)")), 0, 1);
    grid->addWidget(m_centroid, 1, 0);
    grid->addWidget(m_medoid, 1, 1);
    auto* galleryCaption = new QLabel(tr("<b>Gallery</b>: top row, the decoded centroid then the faces nearest the "
                                         "centre; bottom row (marked <i>outliers</i>), the faces farthest from it"));
    galleryCaption->setObjectName("galleryCaption");
    galleryCaption->setWordWrap(true);
    grid->addWidget(galleryCaption, 2, 0, 1, 2);
    grid->addWidget(m_gallery, 3, 0, 1, 2);
    // The members themselves, clickable: a face opens on the Attention page.
    m_members = new QListWidget;
    m_members->setObjectName("members");
    m_members->setViewMode(QListView::IconMode);
    m_members->setIconSize(QSize(48, 48));
    m_members->setFixedHeight(76);
    m_members->setFlow(QListView::LeftToRight);
    m_members->setWrapping(false);
    m_members->setToolTip(tr("Faces of this cluster in the open dataset: click one to see its attention"));
    connect(m_members, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { Q_EMIT faceChosen(item->data(Qt::UserRole).toLongLong()); });
    // Any two clusters (the two largest at first): their centres joined and decoded.
    m_from = new QSpinBox;
    m_to = new QSpinBox;
    auto* between = new QHBoxLayout;
    between->addWidget(new QLabel(tr("<b>Between cluster</b>")));
    between->addWidget(m_from);
    between->addWidget(new QLabel(tr("<b>and cluster</b>")));
    between->addWidget(m_to);
    between->addStretch(1);
    grid->addWidget(m_members, 4, 0, 1, 2);
    grid->addLayout(between, 5, 0, 1, 2);
    grid->addWidget(m_interpolation, 6, 0, 1, 2);
    grid->addWidget(new QLabel(tr("<b>Age direction</b>: younger to older")), 7, 0, 1, 2);
    grid->addWidget(m_ageDirection, 8, 0, 1, 2);
    grid->setRowStretch(9, 1);

    auto* body = new QHBoxLayout;
    body->addLayout(left);
    body->addLayout(grid, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(m_summary);
    layout->addLayout(body, 1);

    connect(m_encode, &QPushButton::clicked, this, &ClustersPage::encode);
    for (QSpinBox* box : {m_from, m_to})
        connect(box, &QSpinBox::valueChanged, this, &ClustersPage::showInterpolation);
    connect(m_run, &QPushButton::clicked, this, &ClustersPage::cluster);
    connect(m_list, &QListWidget::currentRowChanged, this, &ClustersPage::showCluster);
    connect(exportButton, &QPushButton::clicked, this, [this] {
        const QString from = QDir(m_session->clustersDir()).filePath("assignments.csv");
        if (!QFileInfo::exists(from))
            return;
        const QString to =
            QFileDialog::getSaveFileName(this, tr("Export assignments"), "assignments.csv", tr("CSV (*.csv)"));
        if (to.isEmpty())
            return;
        try { // written beside and renamed: a failed copy never loses the file it would replace
            copyFileAtomic(from.toStdString(), to.toStdString());
            m_summary->setText(tr("Saved the assignments to %1.").arg(to.toHtmlEscaped()));
        } catch (const std::exception& e) {
            m_summary->setText(tr("Could not write %1: %2").arg(to.toHtmlEscaped(), QString::fromUtf8(e.what())));
        }
    });
    connect(sheetButton, &QPushButton::clicked, this, [this] {
        const QString from =
            QDir(m_session->clustersDir()).filePath(QStringLiteral("galleries/%1.png").arg(m_list->currentRow()));
        if (m_list->currentRow() < 0 || !QFileInfo::exists(from))
            return;
        const QString to =
            QFileDialog::getSaveFileName(this, tr("Export contact sheet"),
                                         QStringLiteral("cluster-%1.png").arg(m_list->currentRow()), tr("PNG (*.png)"));
        if (to.isEmpty())
            return;
        try {
            copyFileAtomic(from.toStdString(), to.toStdString());
            m_summary->setText(
                tr("Saved the contact sheet of cluster %1 to %2.").arg(m_list->currentRow()).arg(to.toHtmlEscaped()));
        } catch (const std::exception& e) {
            m_summary->setText(tr("Could not write %1: %2").arg(to.toHtmlEscaped(), QString::fromUtf8(e.what())));
        }
    });
    connect(session, &Session::clustersChanged, this, &ClustersPage::loadResults);
    // A new autoencoder run changes what the summary must say about this clustering.
    connect(session, &Session::runsChanged, this, [this] {
        if (!m_session->clustersDir().isEmpty() && !m_session->jobs()->isRunning())
            loadResults();
        else if (m_session->clustersDir().isEmpty()) // the next step, now that a run (an autoencoder?) is there
            m_summary->setText(clusteringNextStep(*m_session));
    });
    if (!m_session->clustersDir().isEmpty())
        loadResults();
}

QChartView* ClustersPage::sweepView() const
{
    return m_sweepView;
}

void ClustersPage::sweep(int kMin, int kMax)
{
    m_k->setValue(kMin);
    m_kMax->setValue(kMax);
    m_sweep->setChecked(true);
    cluster();
}

void ClustersPage::setK(int k)
{
    m_k->setValue(k);
    m_sweep->setChecked(false);
}

int ClustersPage::memberCount() const
{
    return m_members->count();
}

int ClustersPage::clusterCount() const
{
    return m_list->count();
}

void ClustersPage::selectCluster(int row)
{
    m_list->setCurrentRow(row);
}

void ClustersPage::setInterpolation(int from, int to)
{
    const QSignalBlocker block(m_from);
    m_from->setValue(from);
    m_to->setValue(to); // redraws
}

QPixmap ClustersPage::interpolationPixmap() const
{
    return m_interpolation->pixmap();
}

void ClustersPage::clearResults()
{
    const std::pair<QLabel*, QString> pictures[] = {{m_gallery, tr("gallery")},
                                                    {m_centroid, tr("decoded centroid")},
                                                    {m_medoid, tr("medoid")},
                                                    {m_interpolation, tr("interpolation")},
                                                    {m_ageDirection, tr("age direction")}};
    for (const auto& [label, caption] : pictures) {
        label->clear();
        label->setText(caption);
    }
    m_members->clear();
    for (QSpinBox* box : {m_from, m_to}) { // no clustering: no cluster to pick between
        const QSignalBlocker block(box);
        box->setRange(0, 0);
    }
    for (QChartView* view : {m_sweepView, m_ageView}) {
        QChart* old = view->chart();
        view->setChart(new QChart);
        delete old;
    }
    m_summary->setText(clusteringNextStep(*m_session) + m_session->otherDatasetsNote(OutputKind::Clustering));
}

void ClustersPage::loadResults()
{
    m_list->clear();
    m_paths.reset();
    if (m_session->clustersDir().isEmpty()) {
        clearResults();
        return;
    }
    try {
        showResults();
    } catch (const std::exception& e) {
        // A damaged or foreign clustering folder: say so, the rest of the window goes on.
        m_list->clear();
        m_summary->setText(tr("Cannot show the clustering in %1: %2")
                               .arg(m_session->clustersDir(), QString::fromUtf8(e.what()).toHtmlEscaped()));
    }
}

void ClustersPage::showResults()
{
    const QDir dir(m_session->clustersDir());
    if (m_session->clustersDir().isEmpty())
        return;
    const nlohmann::json clusters = nlohmann::json::parse(readFile(dir.filePath("clusters.json").toStdString()));
    const nlohmann::json metrics = nlohmann::json::parse(readFile(dir.filePath("metrics.json").toStdString()));
    for (const auto& c : clusters) {
        const QString age = c.value("age_mean", nlohmann::json()).is_number()
                                ? QString::number(c.at("age_mean").get<double>(), 'f', 1)
                                : tr("?");
        const auto& g = c.at("gender");
        auto* item = new QListWidgetItem(
            tr("#%1  %2 faces, age %3").arg(c.at("cluster").get<int>()).arg(c.at("size").get<long long>()).arg(age));
        item->setToolTip(tr("%1 male, %2 female").arg(g.at("M").get<long long>()).arg(g.at("F").get<long long>()));
        m_list->addItem(item);
    }
    const auto number = [](const nlohmann::json& v) {
        return v.is_number() ? QString::number(v.get<double>(), 'f', 3) : QStringLiteral("-");
    };
    const nlohmann::json none;
    const auto& labels = metrics.contains("labels") ? metrics.at("labels") : none;
    const auto labelFigure = [&](const char* what, const char* figure) {
        return labels.contains(what) && labels.at(what).contains(figure) ? labels.at(what).at(figure) : none;
    };
    const auto figure = [&](const char* name) { return metrics.contains(name) ? metrics.at(name) : none; };
    m_summary->setText(tr("<b>k = %1</b> (%2). Silhouette %3, Davies-Bouldin %4. Against age decades: NMI %5, ARI %6. "
                          "Against gender: NMI %7, ARI %8. Values near 0 mean the clusters follow something else: "
                          "lighting, background, pose.")
                           .arg(metrics.value("k", 0))
                           .arg(QString::fromStdString(metrics.value("reason", "")))
                           .arg(number(figure("silhouette")), number(figure("davies_bouldin")),
                                number(labelFigure("age_decade", "nmi")), number(labelFigure("age_decade", "ari")),
                                number(labelFigure("gender", "nmi")), number(labelFigure("gender", "ari"))));
    m_summary->setText(m_summary->text() + "<br>" + provenance(metrics));
    if (!m_session->clusterMismatch().isEmpty())
        m_summary->setText(m_summary->text() + "<br><b>" + m_session->clusterMismatch().toHtmlEscaped() + "</b>");
    loadInterpolation(clusters);
    showPicture(m_ageDirection, dir.filePath("age_direction.png"), 90);
    // Inertia and silhouette against k, when a range was swept.
    m_sweepView->setVisible(metrics.contains("sweep"));
    if (metrics.contains("sweep")) {
        auto* chart = new QChart;
        chart->setTitle(tr("Sweep of k (chosen: k = %1)").arg(metrics.value("k", 0)));
        auto* inertia = new QLineSeries;
        inertia->setName(tr("inertia"));
        auto* silhouette = new QLineSeries;
        silhouette->setName(tr("silhouette"));
        double top = 0, low = 1e300, sTop = 0;
        for (const auto& s : metrics.at("sweep")) {
            inertia->append(s.at("k").get<int>(), s.at("inertia").get<double>());
            silhouette->append(s.at("k").get<int>(), s.at("silhouette").get<double>());
            top = std::max(top, s.at("inertia").get<double>());
            low = std::min(low, s.at("inertia").get<double>());
            sTop = std::max(sTop, s.at("silhouette").get<double>());
        }
        showPoints(inertia);
        showPoints(silhouette);
        chart->addSeries(inertia);
        chart->addSeries(silhouette);
        // The k the clustering kept, marked on the silhouette curve.
        auto* chosen = new QScatterSeries;
        const int k = metrics.value("k", 0);
        chosen->setName(tr("chosen k = %1").arg(k));
        chosen->setMarkerSize(12);
        for (const auto& s : metrics.at("sweep"))
            if (s.at("k").get<int>() == k)
                chosen->append(k, s.at("silhouette").get<double>());
        chart->addSeries(chosen);
        auto* x = new QValueAxis;
        x->setTitleText(tr("k"));
        int kLow = k, kHigh = k;
        for (const auto& s : metrics.at("sweep")) {
            kLow = std::min(kLow, s.at("k").get<int>());
            kHigh = std::max(kHigh, s.at("k").get<int>());
        }
        setIntegerAxis(x, kLow, kHigh, 8);
        // Inertia's values are large and only its bend (the elbow) matters: its axis is named, not numbered.
        auto* y = new QValueAxis;
        y->setTitleText(tr("inertia"));
        y->setRange(low * 0.95, top * 1.05);
        y->setLabelsVisible(false);
        auto* y2 = new QValueAxis;
        y2->setTitleText(tr("silhouette"));
        y2->setRange(0, sTop * 1.2);
        y2->setLabelFormat("%.2f");
        y2->setTickCount(3);
        chart->addAxis(x, Qt::AlignBottom);
        chart->addAxis(y, Qt::AlignLeft);
        chart->addAxis(y2, Qt::AlignRight);
        inertia->attachAxis(x);
        inertia->attachAxis(y);
        silhouette->attachAxis(x);
        silhouette->attachAxis(y2);
        chosen->attachAxis(x);
        chosen->attachAxis(y2);
        // Clicking a k of the sweep clusters with that k and shows it.
        for (QXYSeries* series : {static_cast<QXYSeries*>(inertia), static_cast<QXYSeries*>(silhouette)})
            connect(series, &QXYSeries::clicked, this, [this](const QPointF& point) {
                const int picked = static_cast<int>(std::lround(point.x()));
                if (picked < 2 || picked == m_k->value())
                    return;
                setK(picked);
                cluster();
            });
        m_sweepView->setToolTip(tr("Click a point to cluster with that k"));
        chart->setMargins(QMargins(2, 2, 2, 2));
        chart->legend()->setFont(QFont(chart->legend()->font().family(), 7));
        chart->legend()->setAlignment(Qt::AlignBottom);
        replaceChart(m_sweepView, chart);
    }
    if (m_list->count() > 0)
        m_list->setCurrentRow(0);
}

QString ClustersPage::provenance(const nlohmann::json& metrics) const
{
    // Which codes and which autoencoder run this clustering shows, and whether a newer run exists.
    if (!metrics.contains("codes") || !metrics.at("codes").is_string())
        return {};
    const QString codes = QString::fromStdString(metrics.at("codes").get<std::string>());
    QString run;
    try {
        run = QString::fromStdString(
            nlohmann::json::parse(readFile((codes + "/codes.json").toStdString())).value("run", std::string()));
    } catch (const std::exception&) {
        return tr("Codes: %1 (their codes.json cannot be read).").arg(codes.toHtmlEscaped());
    }
    QString text = tr("Codes %1, encoded with autoencoder run %2.")
                       .arg(QFileInfo(codes).fileName().toHtmlEscaped(), QFileInfo(run).fileName().toHtmlEscaped());
    if (metrics.contains("subset") && metrics.at("subset").is_number_integer())
        text += tr(" <b>Only a selection of %1 faces (from the Map page) was clustered</b>; the others belong to no "
                   "cluster.")
                    .arg(metrics.at("subset").get<qint64>());
    try {
        const auto history = parseMetricsCsv(readFile((run + "/metrics.csv").toStdString()));
        double best = -1;
        for (const auto& m : history)
            if (std::isfinite(m.valPsnr))
                best = std::max(best, m.valPsnr);
        if (best >= 0) {
            text += tr(" Its best validation PSNR is %1 dB.").arg(best, 0, 'f', 1);
            if (best < 18)
                text += tr(" <b>That is too low for the decoded centroids to look like faces: they show the blur the "
                           "autoencoder can make; train it longer.</b>");
        }
    } catch (const std::exception&) {
    }
    const QString latest = m_session->latestRunFor(ModelRole::Autoencoder);
    if (!latest.isEmpty() && QDir(latest).absolutePath() != QDir(run).absolutePath())
        text += tr(" <b>A newer autoencoder run (%1) exists: encode and cluster again to use it.</b>")
                    .arg(QFileInfo(latest).fileName().toHtmlEscaped());
    return text;
}

QString ClustersPage::summaryText() const
{
    return m_summary->text();
}

void ClustersPage::loadInterpolation(const nlohmann::json& clusters)
{
    // Start with the two largest clusters, as interpolation.png does.
    std::vector<std::pair<long long, int>> bySize;
    for (const auto& c : clusters)
        bySize.emplace_back(c.at("size").get<long long>(), c.at("cluster").get<int>());
    std::sort(bySize.rbegin(), bySize.rend());
    for (QSpinBox* box : {m_from, m_to}) {
        const QSignalBlocker block(box);
        box->setEnabled(false);
        box->setRange(0, std::max(0, static_cast<int>(bySize.size()) - 1));
    }
    if (bySize.size() >= 2) {
        const QSignalBlocker blockFrom(m_from), blockTo(m_to);
        m_from->setValue(bySize[0].second);
        m_to->setValue(bySize[1].second);
    }
    showPicture(m_interpolation, QDir(m_session->clustersDir()).filePath("interpolation.png"), 90);
    // Opening the centres loads the autoencoder's checkpoint: on the interactive lane.
    const QString dir = m_session->clustersDir();
    m_session->lane()->submit<std::shared_ptr<CentroidPaths>>(
        QStringLiteral("centroid-open"), this,
        [dir] { return std::make_shared<CentroidPaths>(CentroidPaths::open(dir.toStdString())); },
        [this, dir](std::shared_ptr<CentroidPaths> paths) {
            if (dir != m_session->clustersDir())
                return;
            m_paths = std::move(paths);
            for (QSpinBox* box : {m_from, m_to})
                box->setEnabled(true);
            showInterpolation();
        },
        [](const QString&) {}); // a clustering from before centroids.f32: only the saved picture
}

void ClustersPage::showInterpolation()
{
    if (!m_paths)
        return;
    // Decoding the path is a forward pass of the decoder: on the interactive lane, newest request wins.
    const std::shared_ptr<CentroidPaths> paths = m_paths;
    const int from = m_from->value(), to = m_to->value();
    m_session->lane()->submit<QImage>(
        QStringLiteral("centroid-path"), this,
        [paths, from, to] {
            const int steps = 8, s = paths->imageSize();
            const auto rgb = paths->between(from, to, steps);
            std::vector<const std::uint8_t*> row;
            for (int i = 0; i < steps; ++i)
                row.push_back(rgb.data() + static_cast<size_t>(i) * s * s * 3);
            const ContactSheet sheet = contactSheet({row}, s);
            return rgbImage(sheet.rgb.data(), sheet.width, sheet.height);
        },
        [this, from, to](QImage strip) {
            showPixmap(m_interpolation, QPixmap::fromImage(strip), 90);
            m_interpolation->setToolTip(
                tr("From the centre of cluster %1 (left) to the centre of cluster %2 (right)").arg(from).arg(to));
        },
        [this](const QString& error) { m_interpolation->setText(error); });
}

void ClustersPage::showCluster(int row)
{
    if (row < 0)
        return;
    const QDir dir(m_session->clustersDir());
    // The cluster's age histogram by decade.
    try {
        const auto clusters = nlohmann::json::parse(readFile(dir.filePath("clusters.json").toStdString()));
        const auto& histogram = clusters.at(static_cast<size_t>(row)).at("age_histogram");
        // Horizontal bars: the decades ("10-19") read in full on the left, however narrow the panel.
        auto* set = new QBarSet(tr("faces"));
        QStringList labels;
        double top = 1;
        for (const auto& [decade, n] : histogram.items()) {
            *set << n.get<double>();
            labels << QString::fromStdString(decade);
            top = std::max(top, n.get<double>());
        }
        auto* series = new QHorizontalBarSeries;
        series->append(set);
        series->setBarWidth(0.8);
        auto* chart = new QChart;
        chart->setTitle(tr("Ages in cluster %1").arg(row));
        chart->addSeries(series);
        chart->setMargins(QMargins(2, 2, 2, 2));
        chart->legend()->setFont(QFont(chart->legend()->font().family(), 7));
        auto* decades = new QBarCategoryAxis;
        decades->append(labels);
        auto* faces = new QValueAxis;
        setIntegerAxis(faces, 0, top, 3);
        chart->addAxis(decades, Qt::AlignLeft);
        chart->addAxis(faces, Qt::AlignBottom);
        series->attachAxis(decades);
        series->attachAxis(faces);
        chart->legend()->hide();
        replaceChart(m_ageView, chart);
    } catch (const std::exception&) {
        // clusters.json without ages (a folder of faces): no histogram
    }
    showPixmap(m_gallery, labelledGallery(QPixmap(dir.filePath(QStringLiteral("galleries/%1.png").arg(row))), 180),
               180);
    m_members->clear();
    const auto members = m_session->clusterMembers(row);
    for (size_t i = 0; i < members.size() && i < 60; ++i) {
        auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(m_session->face(members[i]))), {});
        item->setData(Qt::UserRole, members[i]);
        item->setToolTip(tr("Face %1").arg(members[i]));
        m_members->addItem(item);
    }
    showPicture(m_centroid, dir.filePath(QStringLiteral("centroids/%1.png").arg(row)), 140);
    showPicture(m_medoid, dir.filePath(QStringLiteral("medoids/%1.png").arg(row)), 140);
}

} // namespace faceatlas::ui

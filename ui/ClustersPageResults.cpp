// The Clusters page's showing of a clustering: the cluster list, the quality summary and its
// provenance, the sweep chart, the interpolation between two centres and the selected cluster's
// pictures and age histogram.
#include "ClustersPage.h"

#include "Charts.h"
#include "data/Provenance.h"
#include "InteractiveLane.h"
#include "ml/ClusterJob.h"
#include "ml/ModelKinds.h"
#include "ml/Runs.h"
#include "NextStep.h"
#include "Session.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QDir>
#include <QFileInfo>
#include <QHorizontalBarSeries>
#include <QLabel>
#include <QLineSeries>
#include <QListWidget>
#include <QPainter>
#include <QScatterSeries>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QValueAxis>

namespace faceatlas::ui {

namespace {

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

// The sweep chart's series: inertia and silhouette against k, the chosen k, and the ranges of their values.
struct SweepCurves {
    QLineSeries* inertia = nullptr;
    QLineSeries* silhouette = nullptr;
    QScatterSeries* chosen = nullptr;
    double top = 0, low = 1e300, sTop = 0; // inertia's highest and lowest, silhouette's highest
};

// Adds the swept inertia and silhouette curves to `chart`, and the chosen k marked on the silhouette curve.
SweepCurves addSweepCurves(QChart* chart, const nlohmann::json& metrics)
{
    SweepCurves curves;
    auto* inertia = new QLineSeries;
    inertia->setName(ClustersPage::tr("inertia"));
    auto* silhouette = new QLineSeries;
    silhouette->setName(ClustersPage::tr("silhouette"));
    for (const auto& s : metrics.at("sweep")) {
        inertia->append(s.at("k").get<int>(), s.at("inertia").get<double>());
        silhouette->append(s.at("k").get<int>(), s.at("silhouette").get<double>());
        curves.top = std::max(curves.top, s.at("inertia").get<double>());
        curves.low = std::min(curves.low, s.at("inertia").get<double>());
        curves.sTop = std::max(curves.sTop, s.at("silhouette").get<double>());
    }
    showPoints(inertia);
    showPoints(silhouette);
    chart->addSeries(inertia);
    chart->addSeries(silhouette);
    // The k the clustering kept, marked on the silhouette curve.
    auto* chosen = new QScatterSeries;
    const int k = metrics.value("k", 0);
    chosen->setName(ClustersPage::tr("chosen k = %1").arg(k));
    chosen->setMarkerSize(12);
    for (const auto& s : metrics.at("sweep"))
        if (s.at("k").get<int>() == k)
            chosen->append(k, s.at("silhouette").get<double>());
    chart->addSeries(chosen);
    curves.inertia = inertia;
    curves.silhouette = silhouette;
    curves.chosen = chosen;
    return curves;
}

// Adds the sweep chart's axes: k along the bottom, inertia on the left, silhouette on the right.
void addSweepAxes(QChart* chart, const nlohmann::json& metrics, const SweepCurves& curves)
{
    auto* x = new QValueAxis;
    x->setTitleText(ClustersPage::tr("k"));
    const int k = metrics.value("k", 0);
    int kLow = k, kHigh = k;
    for (const auto& s : metrics.at("sweep")) {
        kLow = std::min(kLow, s.at("k").get<int>());
        kHigh = std::max(kHigh, s.at("k").get<int>());
    }
    setIntegerAxis(x, kLow, kHigh, 8);
    // Inertia's values are large and only its bend (the elbow) matters: its axis is named, not numbered.
    auto* y = new QValueAxis;
    y->setTitleText(ClustersPage::tr("inertia"));
    y->setRange(curves.low * 0.95, curves.top * 1.05);
    y->setLabelsVisible(false);
    auto* y2 = new QValueAxis;
    y2->setTitleText(ClustersPage::tr("silhouette"));
    y2->setRange(0, curves.sTop * 1.2);
    y2->setLabelFormat("%.2f");
    y2->setTickCount(3);
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    chart->addAxis(y2, Qt::AlignRight);
    curves.inertia->attachAxis(x);
    curves.inertia->attachAxis(y);
    curves.silhouette->attachAxis(x);
    curves.silhouette->attachAxis(y2);
    curves.chosen->attachAxis(x);
    curves.chosen->attachAxis(y2);
}

} // namespace

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
    showClusterSummary(-1);                // no cluster: no name to edit, no summary
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
    showClusterList(clusters);
    showNames();
    showMetrics(metrics);
    loadInterpolation(clusters);
    showPicture(m_ageDirection, dir.filePath("age_direction.png"), 90);
    showSweep(metrics);
    if (m_list->count() > 0)
        m_list->setCurrentRow(0);
}

void ClustersPage::showClusterList(const nlohmann::json& clusters)
{
    for (const auto& c : clusters) {
        const QString age = c.value("age_mean", nlohmann::json()).is_number()
                                ? QString::number(c.at("age_mean").get<double>(), 'f', 1)
                                : tr("?");
        const auto& g = c.at("gender");
        const QString figures = tr("%1 faces, age %2").arg(c.at("size").get<long long>()).arg(age);
        auto* item = new QListWidgetItem(QStringLiteral("#%1  %2").arg(c.at("cluster").get<int>()).arg(figures));
        item->setData(Qt::UserRole, figures); // showNames() puts the name or label before these figures
        item->setToolTip(tr("%1 male, %2 female").arg(g.at("M").get<long long>()).arg(g.at("F").get<long long>()));
        m_list->addItem(item);
    }
}

void ClustersPage::showMetrics(const nlohmann::json& metrics)
{
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
}

void ClustersPage::showSweep(const nlohmann::json& metrics)
{
    // Inertia and silhouette against k, when a range was swept.
    m_sweepView->setVisible(metrics.contains("sweep"));
    if (!metrics.contains("sweep"))
        return;
    auto* chart = new QChart;
    chart->setTitle(tr("Sweep of k (chosen: k = %1)").arg(metrics.value("k", 0)));
    const SweepCurves curves = addSweepCurves(chart, metrics);
    addSweepAxes(chart, metrics, curves);
    // Clicking a k of the sweep clusters with that k and shows it.
    for (QXYSeries* series : {static_cast<QXYSeries*>(curves.inertia), static_cast<QXYSeries*>(curves.silhouette)})
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
    showClusterSummary(row);
    const QDir dir(m_session->clustersDir());
    showAgeHistogram(dir, row);
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

void ClustersPage::showAgeHistogram(const QDir& dir, int row)
{
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
}

} // namespace faceatlas::ui

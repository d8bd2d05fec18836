#include "ClustersPage.h"

#include "Charts.h"

#include "data/ClusterSummaries.h"
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
#include "WriteQueue.h"

#include <algorithm>
#include <cmath>
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
#include <QLineEdit>
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

QString percent(std::int64_t n, std::int64_t of)
{
    return of > 0 ? QStringLiteral("%1%").arg(100.0 * static_cast<double>(n) / static_cast<double>(of), 0, 'f', 0)
                  : QStringLiteral("-");
}

/** A cluster's figures, each beside the whole clustering's, and its automatic label. */
QString summaryHtml(const ClusterSummary& c, const GroupSummary& all)
{
    const GroupSummary& g = c.figures;
    QStringList parts;
    parts << QObject::tr("<b>%1 faces</b> (%2 of those clustered)").arg(g.size).arg(percent(g.size, all.size));
    if (g.aged > 0)
        parts << QObject::tr("age: median %1, IQR %2–%3 (all: %4)")
                     .arg(g.ageMedian, 0, 'f', 0)
                     .arg(g.ageQ1, 0, 'f', 0)
                     .arg(g.ageQ3, 0, 'f', 0)
                     .arg(all.ageMedian, 0, 'f', 0);
    if (g.female + g.male > 0)
        parts << QObject::tr("%1 female of %2 with a gender (all: %3)")
                     .arg(percent(g.female, g.female + g.male))
                     .arg(g.female + g.male)
                     .arg(percent(all.female, all.female + all.male));
    if (!g.races.empty()) {
        QStringList races;
        for (const auto& [race, n] : g.races)
            races << QStringLiteral("%1 %2").arg(QString::fromStdString(race), percent(n, g.raced()));
        parts << QObject::tr("race: %1").arg(races.join(", "));
    }
    if (g.flagged >= 0)
        parts << QObject::tr("%1 flagged by the label audit (all: %2)")
                     .arg(percent(g.flagged, g.size), percent(all.flagged, all.size));
    if (g.framed)
        parts << QObject::tr("framing: %1 aligned, %2 no face found, %3 from group photos")
                     .arg(g.aligned)
                     .arg(g.noFaceFound)
                     .arg(g.severalFaces);
    if (std::isfinite(g.qualityMedian))
        parts << QObject::tr("quality: median %1 (all: %2)")
                     .arg(g.qualityMedian, 0, 'g', 3)
                     .arg(all.qualityMedian, 0, 'g', 3);
    parts << QObject::tr("automatic label: <i>%1</i>").arg(QString::fromStdString(c.label).toHtmlEscaped());
    return parts.join(QStringLiteral("; "));
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
    // The selected cluster's name, editable (Enter or leaving the field saves it), and its summary.
    m_name = new QLineEdit;
    m_name->setObjectName("clusterName");
    m_name->setToolTip(tr("A name for this cluster, kept with the clustering and shown on the map and in the grid's "
                          "filter; empty: its automatic label"));
    m_clusterSummary = new QLabel;
    m_clusterSummary->setObjectName("clusterSummary");
    m_clusterSummary->setWordWrap(true);
    m_clusterSummary->setMaximumWidth(m_list->maximumWidth());
    m_nameStatus = new QLabel;
    m_nameStatus->setObjectName("nameStatus");
    m_nameStatus->setWordWrap(true);
    m_nameStatus->setMaximumWidth(m_list->maximumWidth());
    m_nameStatus->setStyleSheet("color: #b03000");
    m_nameStatus->hide();
    auto* nameRow = new QHBoxLayout;
    nameRow->addWidget(new QLabel(tr("Name")));
    nameRow->addWidget(m_name, 1);
    auto* left = new QVBoxLayout;
    left->addWidget(m_list, 2);
    left->addLayout(nameRow);
    left->addWidget(m_clusterSummary);
    left->addWidget(m_nameStatus);
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
    connect(m_name, &QLineEdit::editingFinished, this, [this] { nameSelectedCluster(m_name->text()); });
    connect(session, &Session::clusterNamesChanged, this, &ClustersPage::showNames);
    connect(session, &Session::clusterNameWritten, this, [this](const QString& error) {
        if (!error.isEmpty()) {
            m_nameStatus->setText(error.toHtmlEscaped());
            m_nameStatus->show();
        }
    });
    connect(exportButton, &QPushButton::clicked, this, [this] {
        const QString from = QDir(m_session->clustersDir()).filePath("assignments.csv");
        if (!QFileInfo::exists(from))
            return;
        const QString to =
            QFileDialog::getSaveFileName(this, tr("Export assignments"), "assignments.csv", tr("CSV (*.csv)"));
        if (to.isEmpty())
            return;
        exportAssignments(to);
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

void ClustersPage::exportAssignments(const QString& to)
{
    const QString from = QDir(m_session->clustersDir()).filePath("assignments.csv");
    // Its JSON companion beside it (x.csv -> x.json): the clusters' names, labels and summaries as they are now.
    const QString companion = (to.endsWith(".csv", Qt::CaseInsensitive) ? to.chopped(4) : to) + ".json";
    const auto names = m_session->clusterSummaries();
    // Through the write queue: in order after the names being saved, never dropped. Each file is
    // written beside and renamed: a failed copy never loses the file it would replace.
    m_session->writer()->submit<bool>(
        this,
        [from = from.toStdString(), to = to.toStdString(), companion = companion.toStdString(), names] {
            copyFileAtomic(from, to);
            if (names)
                writeFileAtomic(companion, clusterNamesJson(*names));
            return names != nullptr;
        },
        [this, to, companion](bool withNames) {
            m_summary->setText(withNames
                                   ? tr("Saved the assignments to %1 and the clusters' names and summaries to %2.")
                                         .arg(to.toHtmlEscaped(), companion.toHtmlEscaped())
                                   : tr("Saved the assignments to %1.").arg(to.toHtmlEscaped()));
        },
        [this, to](const QString& error) {
            m_summary->setText(tr("Could not write %1: %2").arg(to.toHtmlEscaped(), error));
        });
}

void ClustersPage::nameSelectedCluster(const QString& name)
{
    const int row = m_list->currentRow();
    if (row < 0)
        return;
    const QString why = m_session->renameCluster(row, name);
    m_nameStatus->setText(why.toHtmlEscaped());
    m_nameStatus->setVisible(!why.isEmpty());
}

QString ClustersPage::clusterText(int row) const
{
    const QListWidgetItem* item = m_list->item(row);
    return item ? item->text() : QString();
}

QString ClustersPage::clusterSummaryText() const
{
    return m_clusterSummary->text();
}

void ClustersPage::showNames()
{
    const auto names = m_session->clusterSummaries();
    for (int row = 0; row < m_list->count(); ++row) {
        QListWidgetItem* item = m_list->item(row);
        const QString figures = item->data(Qt::UserRole).toString();
        const QString shown = names && static_cast<size_t>(row) < names->clusters.size()
                                  ? QString::fromStdString(names->clusters[static_cast<size_t>(row)].shown())
                                  : QString();
        item->setText(shown.isEmpty() ? QStringLiteral("#%1  %2").arg(row).arg(figures)
                                      : QStringLiteral("#%1  %2\n       %3").arg(row).arg(shown, figures));
    }
    showClusterSummary(m_list->currentRow());
}

void ClustersPage::showClusterSummary(int row)
{
    const auto names = m_session->clusterSummaries();
    const bool known = names && row >= 0 && static_cast<size_t>(row) < names->clusters.size();
    {
        const QSignalBlocker block(m_name);
        m_name->setText(known ? QString::fromStdString(names->clusters[static_cast<size_t>(row)].name) : QString());
        m_name->setPlaceholderText(
            known ? tr("automatic: %1").arg(QString::fromStdString(names->clusters[static_cast<size_t>(row)].label))
                  : QString());
    }
    m_name->setEnabled(known);
    m_clusterSummary->setText(known ? summaryHtml(names->clusters[static_cast<size_t>(row)], names->all) : QString());
    // A names file that cannot be read, or summaries computed on opening: said under the summary.
    const QString note = m_session->clusterNamesNote();
    if (m_nameStatus->text().isEmpty() || !note.isEmpty()) {
        m_nameStatus->setText(note.toHtmlEscaped());
        m_nameStatus->setVisible(!note.isEmpty());
    }
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
    showNames();
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
    showClusterSummary(row);
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

// The Clusters page's construction: its row of controls, the cluster list with the selected
// cluster's name and charts, the pictures panel, and the signals between them and the session.
#include "ClustersPage.h"

#include "JobRunner.h"
#include "NextStep.h"
#include "Session.h"

#include <QChartView>
#include <QCheckBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPainter>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

// A framed, centred label that shows one of the page's pictures (its caption until there is one).
QLabel* pictureLabel(const QString& caption)
{
    auto* label = new QLabel(caption);
    label->setAlignment(Qt::AlignCenter);
    label->setMinimumSize(140, 140);
    label->setFrameShape(QFrame::StyledPanel);
    return label;
}

} // namespace

QLayout* ClustersPage::buildControls()
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
    connect(exportButton, &QPushButton::clicked, this, &ClustersPage::exportAssignmentsAs);
    connect(sheetButton, &QPushButton::clicked, this, &ClustersPage::exportContactSheetAs);
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
    return controls;
}

QLayout* ClustersPage::buildClusterPanel()
{
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
    return left;
}

QLayout* ClustersPage::buildPicturesPanel()
{
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
    return grid;
}

void ClustersPage::connectControls()
{
    connect(m_encode, &QPushButton::clicked, this, &ClustersPage::encode);
    for (QSpinBox* box : {m_from, m_to})
        connect(box, &QSpinBox::valueChanged, this, &ClustersPage::showInterpolation);
    connect(m_run, &QPushButton::clicked, this, &ClustersPage::cluster);
    connect(m_list, &QListWidget::currentRowChanged, this, &ClustersPage::showCluster);
    connect(m_name, &QLineEdit::editingFinished, this, [this] { nameSelectedCluster(m_name->text()); });
}

void ClustersPage::connectSession(Session* session)
{
    connect(session, &Session::clusterNamesChanged, this, &ClustersPage::showNames);
    connect(session, &Session::clusterNameWritten, this, [this](const QString& error) {
        if (!error.isEmpty()) {
            m_nameStatus->setText(error.toHtmlEscaped());
            m_nameStatus->show();
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
}

} // namespace faceatlas::ui

#include "Tour.h"

#include "AttentionPage.h"
#include "ClustersPage.h"
#include "DatasetPage.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "MainWindow.h"
#include "MapPage.h"
#include "ml/ModelKinds.h"
#include "PointMapView.h"
#include "ReviewPage.h"
#include "RunsPage.h"
#include "Session.h"
#include "SlicesPage.h"
#include "StallProbe.h"
#include "TrainPage.h"

#include <cmath>
#include <cstdio>
#include <QApplication>
#include <QDir>
#include <QSpinBox>
#include <QTimer>
#include <QToolButton>

using faceatlas::ui::MainWindow;
using faceatlas::ui::PointMapView;

namespace {

// The tour's lasso: a ring of 24 points left of the map view's centre.
QPolygonF tourLasso(const PointMapView& view)
{
    const QPointF c = view.rect().center();
    QPolygonF lasso;
    for (int i = 0; i < 24; ++i) {
        const double a = 2 * M_PI * i / 24;
        lasso << c + QPointF(-view.width() / 5.0 + view.width() / 8.0 * std::cos(a), view.height() / 8.0 * std::sin(a));
    }
    return lasso;
}

} // namespace

Tour::Tour(MainWindow& window, QString dir)
    : m_window(window)
    , m_dir(std::move(dir))
{
}

void Tour::start()
{
    m_window.setConfirmClose(false);
    m_window.setJobFailuresAsWarnings(true); // printed: nobody is there to close a message box
    m_window.stallProbe()->reset();
    m_window.stallProbe()->start();
    QDir().mkpath(m_dir);
    // Each job's end starts the next step, a moment later (the window's own handlers run first).
    QObject::connect(m_window.session()->jobs(), &faceatlas::ui::JobRunner::finished, &m_context,
                     [this] { QTimer::singleShot(200, &m_context, [this] { step(); }); });
    m_step = 0;
    m_window.openPath("demo:800");
}

void Tour::shoot(const QString& name)
{
    m_window.session()->lane()->waitIdle(60000); // the overlays and charts the lane computes for this page
    QApplication::processEvents();
    m_window.grab().save(QDir(m_dir).filePath(name));
}

void Tour::step()
{
    // Each step starts a job; the job's end calls step() again.
    switch (m_step++) {
    case 0: m_window.datasetPage()->prepare(); break;
    case 1:
        m_window.showPage(MainWindow::TrainIndex);
        m_window.trainPage()->setModel(QString::fromUtf8(faceatlas::defaultModelName(faceatlas::ModelRole::AgeModel)));
        m_window.trainPage()->setEpochs(4);
        m_window.trainPage()->start();
        break;
    case 2:
        shoot("2-train-age.png");
        m_window.trainPage()->setModel(
            QString::fromUtf8(faceatlas::defaultModelName(faceatlas::ModelRole::Autoencoder)));
        m_window.trainPage()->start();
        break;
    case 3:
        shoot("2-train-autoencoder.png");
        m_window.showPage(MainWindow::ClustersIndex);
        m_window.clustersPage()->encode();
        break;
    case 4:
        m_window.clustersPage()->setK(6);
        m_window.clustersPage()->cluster();
        break;
    case 5:
        m_window.clustersPage()->selectCluster(1);
        shoot("3-clusters.png");
        m_window.showPage(MainWindow::DatasetIndex);
        m_window.datasetPage()->predictAll();
        break;
    case 6:
        shoot("1-dataset.png");
        m_window.showPage(MainWindow::MapIndex);
        m_window.mapPage()->computeMap(); // the default projection
        break;
    case 7:
        shootMap();
        startAudit();
        break;
    case 8:
        shootReviewAttentionAndRuns();
        m_window.showPage(MainWindow::SlicesIndex);
        m_window.slicesPage()->setGrouping(QStringLiteral("gender"));
        m_window.slicesPage()->compute();
        break;
    case 9:
        shoot("6-slices.png");
        m_window.slicesPage()->setGrouping(QStringLiteral("gender"), QStringLiteral("age_decade"));
        m_window.slicesPage()->compute();
        break;
    case 10:
        shoot("6b-slices-gender-decade.png");
        finish();
        break;
    default: break;
    }
}

void Tour::shootMap()
{
    // The map coloured by true age, with a lasso selection and the faces like one of them.
    m_window.session()->lane()->waitIdle(60000);
    PointMapView* view = m_window.mapPage()->view();
    view->selectPolygon(tourLasso(*view));
    m_window.mapPage()->similarTo(3);
    shoot("3b-map.png");
    view->clearSelection();
    view->focusPoint(3);
    shoot("3c-map-faces.png");
    view->fitAll();
    // The layout's settings and where the map keeps each face's neighbourhood.
    if (auto* settings = m_window.mapPage()->findChild<QToolButton*>("mapSettingsButton"))
        settings->setChecked(true);
    m_window.mapPage()->setColorBy(QStringLiteral("neighbourhood kept by the map"));
    m_window.session()->lane()->waitIdle(60000);
    shoot("3d-map-settings.png");
    if (auto* settings = m_window.mapPage()->findChild<QToolButton*>("mapSettingsButton"))
        settings->setChecked(false);
    m_window.mapPage()->setColorBy(QStringLiteral("true age"));
}

void Tour::startAudit()
{
    m_window.showPage(MainWindow::ReviewIndex);
    m_window.reviewPage()->findChild<QSpinBox*>("folds")->setValue(3);
    m_window.reviewPage()->findChild<QSpinBox*>("epochs")->setValue(3);
    m_window.reviewPage()->audit();
}

void Tour::shootReviewAttentionAndRuns()
{
    m_window.session()->lane()->waitIdle(60000);
    shoot("3d-review.png");
    m_window.showPage(MainWindow::AttentionIndex);
    m_window.attentionPage()->setFace(3);
    m_window.attentionPage()->render();
    shoot("4-attention.png");
    m_window.showPage(MainWindow::RunsIndex);
    m_window.runsPage()->refresh();
    m_window.runsPage()->selectAll();
    shoot("5-runs.png");
}

void Tour::finish()
{
    const auto* probe = m_window.stallProbe();
    std::printf("tour: screenshots in %s; GUI thread lateness over the whole tour: p99 %.1f ms, max %.0f ms "
                "over %llu samples\n",
                qPrintable(m_dir), probe->p99(), probe->max(), static_cast<unsigned long long>(probe->taken()));
    std::fflush(stdout);
    QTimer::singleShot(0, qApp, &QApplication::quit);
}

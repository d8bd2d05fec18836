#pragma once

#include <QObject>
#include <QString>

namespace faceatlas::ui {
class MainWindow;
}

/**
 * `faceatlas --tour DIR`: walks every page of a window on the demo as a person would (prepare,
 * train the age model and the autoencoder, encode, cluster, predict, the map with a lasso, an
 * audit, attention, runs, slices), saves a screenshot of each page into DIR, prints how late the
 * GUI thread answered over the whole walk, and quits. Each step starts a job; the job's end starts
 * the next step. The tour drives the window through its public API only, as a test does.
 *
 * Ownership: the tour lives on main()'s stack beside the window and must not outlive it. Its
 * connection to the window's jobs has the tour's own context object, so it ends with the tour: a
 * job that finishes while the window is torn down after the tour is gone calls nothing.
 */
class Tour {
public:
    Tour(faceatlas::ui::MainWindow& window, QString dir);
    void start();

private:
    void step();
    /** The map page's screenshots: a lasso selection with the faces like one, a face's neighbours, the settings. */
    void shootMap();
    /** Opens the Review page and starts a short label audit (3 folds, 3 epochs). */
    void startAudit();
    /** The Review page's screenshot, then the Attention page's and the Runs page's. */
    void shootReviewAttentionAndRuns();
    void shoot(const QString& name);
    void finish();
    faceatlas::ui::MainWindow& m_window;
    QString m_dir;
    int m_step = 0;
    QObject m_context; // the receiver of the tour's connections: destroyed with the tour, disconnecting them
};

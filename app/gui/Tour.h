#pragma once

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
 * Ownership: the tour lives on main()'s stack beside the window and must not outlive it.
 */
class Tour {
public:
    Tour(faceatlas::ui::MainWindow& window, QString dir);
    void start();

private:
    void step();
    void shoot(const QString& name);
    void finish();
    faceatlas::ui::MainWindow& m_window;
    QString m_dir;
    int m_step = 0;
};

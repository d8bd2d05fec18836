#pragma once

#include <QStringList>
#include <QWidget>

class QChartView;
class QTabWidget;
class QTableWidget;

namespace faceatlas::ui {

class CrossDatasetTable;
class Session;

/** Every run in the workspace in one sortable table; selected runs' curves overlaid on one chart. */
class RunsPage : public QWidget {
    Q_OBJECT
public:
    explicit RunsPage(Session* session, QWidget* parent = nullptr);
    void refresh();
    /** Refreshes now if the page is visible, else when it is next shown. */
    void refreshSoon();
    int runCount() const;
    /** Selects every run, so their curves are overlaid. */
    void selectAll();
    /** The run this window is training now ("running" is honest only for it). */
    void setActiveRun(const QString& dir);
    /** The folders of the selected runs and of the curves on the chart (they agree). */
    QStringList selectedRuns() const;
    QStringList plottedRuns() const;
    /** The "Compare across datasets" tab: every age run on every preparation. */
    CrossDatasetTable* crossDatasets() const { return m_matrix; }
    /** Shows that tab. */
    void showCrossDatasets();

Q_SIGNALS:
    /** The user chose a run to continue training, to encode with, or to predict with. */
    void continueRun(const QString& model);
    void encodeWith();
    void predictWith();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void overlaySelected();
    bool m_stale = false;
    static constexpr int kColumns = 16;
    static constexpr int kDirColumn = 15;
    Session* m_session;
    QString m_activeRun;
    QStringList m_plotted;
    QTableWidget* m_table;
    QChartView* m_chart;
    QTabWidget* m_tabs;
    CrossDatasetTable* m_matrix;
};

} // namespace faceatlas::ui

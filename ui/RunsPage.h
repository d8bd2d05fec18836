#pragma once

#include <QWidget>

class QChartView;
class QTableWidget;

namespace faceatlas::ui {

class Session;

/** Every run in the workspace in one sortable table; selected runs' curves overlaid on one chart. */
class RunsPage : public QWidget {
    Q_OBJECT
public:
    explicit RunsPage(Session* session, QWidget* parent = nullptr);
    void refresh();
    int runCount() const;
    /** Selects every run, so their curves are overlaid. */
    void selectAll();

Q_SIGNALS:
    /** The user chose a run to continue training, to encode with, or to predict with. */
    void continueRun(const QString& model);
    void encodeWith();
    void predictWith();

private:
    void overlaySelected();
    Session* m_session;
    QTableWidget* m_table;
    QChartView* m_chart;
};

} // namespace faceatlas::ui

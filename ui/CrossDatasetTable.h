#pragma once

#include <memory>
#include <QColor>
#include <QString>
#include <QWidget>
#include <vector>

class QComboBox;
class QLabel;
class QPushButton;
class QTableWidget;

namespace faceatlas {
struct AgeMatrixCell;
}

namespace faceatlas::ui {

class Session;

/**
 * "Compare across datasets" (issue 27): every age-model run of the workspace on every preparation of
 * it, one cell per pair with MAE (n) and signed bias, coloured by MAE against the baseline of that
 * preparation (always predicting the run's training median age): green well under it, red at or
 * above. Computed on the job runner by the same core function as `faceatlas-cli evaluate --run
 * R1,R2 --data P1,P2` (evaluateAgeMatrix), with progress and Cancel.
 */
class CrossDatasetTable : public QWidget {
    Q_OBJECT
public:
    explicit CrossDatasetTable(Session* session, QWidget* parent = nullptr);

    /** Every labelled face (true) or the validation split's (false). */
    void setAllFaces(bool all);
    /** Starts the matrix job (the status line says why when it cannot). */
    void compute();
    /** Cancels the matrix job this table started, if it runs. */
    void cancel();
    QTableWidget* table() const { return m_table; }
    QString statusText() const;
    /** The cells of the last matrix, runs-major; empty before one was computed. */
    const std::vector<AgeMatrixCell>& cells() const;
    /**
     * A measured cell's colour: green at an MAE of 0.6 times the baseline MAE or less, yellow at 0.8,
     * red at the baseline or above (in between, blended).
     */
    static QColor colourAgainstBaseline(double mae, double baselineMae);

private:
    Session* m_session;
    QComboBox* m_split;
    QPushButton* m_compute;
    QPushButton* m_cancel;
    QLabel* m_status;
    QTableWidget* m_table;
    quint64 m_job = 0;
    std::shared_ptr<const std::vector<AgeMatrixCell>> m_cells;
};

} // namespace faceatlas::ui

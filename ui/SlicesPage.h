#pragma once

#include <memory>
#include <QString>
#include <QWidget>
#include <string>
#include <utility>
#include <vector>

class QComboBox;
class QLabel;
class QPushButton;

namespace faceatlas {
struct SliceJobParams;
struct SliceJobResult;
} // namespace faceatlas

namespace faceatlas::ui {

class ForestPlot;
class Session;

/**
 * An age model's error by slice on the open preparation (issue 27): a run, one attribute or two to
 * group by and a split; Compute runs the slice job on the job runner and draws its report as a
 * forest plot. A click on a slice shows its faces in the Dataset page's grid; the report exports as
 * CSV (through the write queue) and the plot as PNG.
 */
class SlicesPage : public QWidget {
    Q_OBJECT
public:
    explicit SlicesPage(Session* session, QWidget* parent = nullptr);
    ~SlicesPage() override;

    /** Lists the workspace's age-model runs again, keeping the chosen one (else the session's latest). */
    void refreshRuns();
    /** Chooses the run in `dir`; false when the list does not hold it. */
    bool setRun(const QString& dir);
    QString run() const;
    /** Groups by attribute `by` and, when `andBy` is not empty, its intersections with `andBy`. */
    void setGrouping(const QString& by, const QString& andBy = {});
    /** Every labelled face (true) or the validation split's (false). */
    void setAllFaces(bool all);
    /** Starts the slice job on the runner (the page says why when it cannot). */
    void compute();
    /** The last report computed for the open dataset; null when none. */
    std::shared_ptr<const SliceJobResult> result() const { return m_result; }
    ForestPlot* plot() const { return m_plot; }
    QString statusText() const;
    /** Emits showFaces with the faces of `slice` of grouping `by` in the last result. */
    void showSlice(const QString& by, const QString& slice);
    /** Writes the report as slices.csv to `file` through the write queue. */
    void exportCsv(const QString& file);
    /** Saves the plot as an image; false (and says so) when it cannot be written. */
    bool savePng(const QString& file);
    /**
     * "These faces against everyone": adds the faces flagged in `faces` (one flag per face of the open
     * preparation) as the attribute `name` with the slices "selected" and "others", chooses it and
     * computes. False (and says why) when the flags are not of the open preparation.
     */
    bool addFacesSlice(const QString& name, std::shared_ptr<const std::vector<char>> faces);

Q_SIGNALS:
    /** The faces of a clicked slice (one flag per face of the open dataset) and how many. */
    void showFaces(std::shared_ptr<const std::vector<char>> mask, qint64 count, const QString& what);

private:
    /** The page's own attributes a grouping names (clusters, face sets) into `params`; returns the
     *  names left for the worker to read (CSV and quality columns). */
    std::vector<std::string> addPageAttributes(const std::vector<std::string>& grouping, SliceJobParams& params) const;
    void connectControls();
    void clear(const QString& why);
    void showResult(std::shared_ptr<const SliceJobResult> result, const QString& what);
    QString whyNot() const;
    /** Lists "cluster" (when the open preparation has a clustering) and the added face sets in the combos. */
    void refreshExtraAttributes();
    Session* m_session;
    QComboBox* m_run;
    /** The user picked the run: a new run keeps that choice; until then the latest age run is shown. */
    bool m_runPicked = false;
    QComboBox* m_by;
    QComboBox* m_and;
    QComboBox* m_split;
    QComboBox* m_sort;
    QPushButton* m_compute;
    QPushButton* m_exportCsv;
    QPushButton* m_savePng;
    QLabel* m_status;
    QLabel* m_summary;
    ForestPlot* m_plot;
    std::shared_ptr<const SliceJobResult> m_result;
    /** The face sets added by addFacesSlice: a name and each face's slice, of the open preparation only. */
    std::vector<std::pair<std::string, std::vector<std::string>>> m_faceSets;
};

} // namespace faceatlas::ui

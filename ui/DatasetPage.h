#pragma once

#include <memory>
#include <optional>
#include <QVariantMap>
#include <QWidget>
#include <string>
#include <vector>

class QChartView;
class QLabel;
class QListView;
class QListWidget;
class QPushButton;
class QTableWidget;

namespace faceatlas {
struct LoadedDataset;
struct ImageProbe;
struct PrepareReport;
struct StepReport;
struct StepPreview;
struct PrepareParams;
struct SkippedFile;
struct LoadedModel;
class PreparedDataset;
} // namespace faceatlas

namespace faceatlas::ui {

class Session;
class ThumbnailModel;
class FaceFilter;
class CleaningPanel;
class FaceGrid;
class FacePanel;

/** Opens a dataset, shows the capstone's cleaning steps with live counts, prepares it, and browses the faces. */
class DatasetPage : public QWidget {
    Q_OBJECT
public:
    explicit DatasetPage(Session* session, QWidget* parent = nullptr);
    ~DatasetPage() override;
    /** Reads the source's metadata and image headers on the worker thread, then shows live counts. */
    void loadSource(const QString& spec);
    /**
     * Runs the prepare job with the settings on screen. When the review decisions it would apply
     * remove more than a tenth of the open preparation's faces, it stops first (counted on the job's
     * thread with applyReview) and shows a warning under the button: Prepare anyway or Review decisions.
     */
    void prepare();
    /** Prepare after that warning: the decisions are applied whatever they remove. */
    void prepareAnyway();
    /** The warning under Prepare about what the decisions remove (empty when none is shown). */
    QString prepareWarning() const;
    int faceCount() const;
    /** The dataset the grid shows (tests compare it with the session's). */
    const PreparedDataset* gridDataset() const;
    QListView* grid() const;
    /** The face the panel shows (a row of the open dataset), -1 when none. */
    qint64 shownFace() const { return m_shownFace; }
    /** Puts the keyboard focus on the grid's age filter (Find). */
    void focusFilter();
    /** Shows only the members of `cluster` in the grid (-1: all). */
    void filterToCluster(int cluster);
    /** "N of M faces match", and why a sort shows nothing new. */
    QString matchText() const;
    /** The problems listed under the cleaning steps (bad lines, skipped files, what to do). */
    QStringList problems() const;
    /** The line above them: the problems grouped by kind with counts, and what to do. */
    QString problemSummary() const;
    /** At most this many problems are listed; the rest are counted ("and N more"). */
    static constexpr int kMaxProblemLines = 1000;
    /** Predicts every face's age with the latest age run (a job), so faces can be sorted by error. */
    void predictAll();
    /** Selects the first face of the grid (in its current order) and shows it in the detail panel. */
    void selectFirstFace();
    /**
     * Shows only the faces flagged in `mask` (the map's selection; one flag per face of the open
     * dataset), with a line saying so and a button that shows every face again. Null: every face.
     */
    void setSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count);
    /** setSubset with its line naming what the faces are ("the slice gender = female"). */
    void setNamedSubset(std::shared_ptr<const std::vector<char>> mask, qint64 count, const QString& what);
    bool showsSubset() const;
    /** The line above the grid that says which subset it shows (empty when none). */
    QString subsetText() const;
    /** Says whether the workspace has review decisions for Prepare to apply. */
    void refreshReview();
    /** Shows face `row` of the open dataset in the panel (and selects it in the grid when it is shown there). */
    void showDatasetFace(qint64 row);

Q_SIGNALS:
    void faceActivated(qint64 index);
    /** "Show attention" from the grid's context menu. */
    void showAttention(qint64 index);
    /** "More like this" from the grid's context menu. */
    void moreLikeThis(qint64 index);
    /** The faces selected in the grid (rows of the open dataset), for the map to mark. */
    void gridSelectionChanged(const std::vector<qint64>& rows);
    /** The user dropped the map's selection filter ("Show all faces"). */
    void subsetCleared();
    /** "Review decisions" in Prepare's warning: show the Review page's Decided view. */
    void reviewDecisionsRequested();

private:
    // The page in parts, built in this order by the constructor: the cleaning column (the Cleaning
    // box, a CleaningPanel, with the step table and what goes below it), the face grid with its
    // filter bar (a FaceGrid), the face panel (a FacePanel); then the signals of each part.
    /** The Cleaning box with the step table, the problems and the training ages' histogram below it. */
    QWidget* buildCleaningColumn();
    void connectCleaning();
    void connectGrid();
    void connectSession();

    // Opening a source, counting its steps, preparing it (DatasetPage.cpp).
    /** A source read (loadSource's job): it becomes the page's, with its settings and its preparation. */
    void showSourceRead(const QString& spec, std::shared_ptr<LoadedDataset> loaded,
                        std::shared_ptr<std::vector<ImageProbe>> probes, const QString& imagesBelow);
    QString currentSourceText() const;
    void updateCounts();
    /** A step preview counted for the open source: its problems, Prepare on or off, the steps, the grid's line. */
    void showCountedSteps(const StepPreview& preview);
    /** Prepare; `removalConfirmed`: without the check of what the review decisions remove. */
    void startPrepare(bool removalConfirmed);
    /** Offers "Every face of each photo" when the open source is of photos. */
    void showEveryFace();

    // A preparation's manifest and the steps (DatasetPageReport.cpp, DatasetPageProblems.cpp).
    /** Shows a preparation's manifest: its settings in the controls, its problems, steps, ages and header line. */
    void showManifest(const QString& manifestText);
    /** Lists the problems (the first kMaxProblemLines, then "and N more") under a one-line summary. */
    void showProblems(const QStringList& lines, size_t more, const QString& summary = {});
    void showCleaningProblems(const std::vector<SkippedFile>& skipped, size_t recordsRead);
    /** "N records", or what was found instead (files that are not images, images that are missing). */
    QString sourceSummary() const;
    /**
     * The steps before Prepare, as Prepare will count them (previewSteps); when pictures have not been
     * looked at by the detector yet, a line says how many, and "Detect faces now" offers to.
     */
    void showPreviewSteps(const StepPreview& preview);
    /** The settings on screen as Prepare takes them (the step preview's; see prepare()). */
    PrepareParams previewParams() const;
    /**
     * When the open preparation is this source's, made with the settings on screen, the review
     * decisions it applied (prepared.json's settings.review_decisions, reviewFingerprint; "" when it
     * applied no review); nullopt otherwise, and for a preparation that applied a review without
     * naming its decisions (an older one): the preview counts then. Reads no file: GUI thread.
     */
    std::optional<std::string> preparedWith() const;
    /** The open preparation's own steps (prepared.json's counts, decoding failures included) in the table. */
    void showPreparedSteps();
    /** The steps of a manifest's report in the table. */
    void showReportSteps(const QString& manifestText);
    /** Runs the detector on the pictures the preview lacks findings of (a job: progress, Cancel), then counts again. */
    void detectFacesNow();
    /** The step table as tall as its rows and its columns as wide as their numbers: nothing cut, no scroll. */
    void fitStepTable();
    /** Fits the step table again whenever its width changes (its names wrap to the Step column). */
    void watchStepTableWidth();

    // The cleaning settings, remembered per source (DatasetPageSettings.cpp).
    /**
     * The face-score threshold's scale: the source's own scores (IMDB-WIKI, the demo) or FaceAtlas's
     * detector confidence (photos). Each has its default (the command line's) and its remembered value.
     */
    void setScoreScale(bool ownScores);
    /** Remembers the controls' values for the open source (not while restoring them). */
    void saveCleaningSettings() const;
    /** The controls as `spec` last had them, or the defaults for a source never seen (never the last source's). */
    void restoreCleaningSettings(const QString& spec, bool ownScores);

    // The grid's session and lane parts, and the face panel's (DatasetPage.cpp, DatasetPageFaces.cpp).
    /** The grid's predictions and cluster labels, and the cluster filter's entries, from the session. */
    void refreshExtras();
    /** What the grid shows changed: "N of M faces match", the grid at its top, the panel cleared when hidden. */
    void filterChanged();
    /** The column box for the open preparation (its prepared.json's names), no column chosen. */
    void refreshColumnFilter();
    /** The chosen column's values into the value box, counted on the lane. */
    void listColumnValues();
    /** The faces with the chosen value, matched on the lane, into the grid's filter. */
    void applyColumnFilter();
    /** Reads the open preparation's quality columns on the lane into the grid's filter. */
    void refreshQuality();
    /** Shows a face in the panel; `activate` also tells the Attention page (a click, not a refresh). */
    void showFace(const QModelIndex& index, bool activate = true);
    /** The face's picture with its landmarks, decoded on the lane, into the panel. */
    void requestFacePicture(const std::shared_ptr<const PreparedDataset>& data, qint64 row);
    /** The source's further columns of the face (columns.csv, read on the lane), added to the panel's details. */
    void requestFaceColumns(const std::shared_ptr<const PreparedDataset>& data, qint64 row);
    /** The latest age model's Grad-CAM over the face, computed on the lane, into the panel. */
    void requestFaceGradCam(const std::shared_ptr<const PreparedDataset>& data, qint64 row);
    void clearFacePanel();

    Session* m_session;
    std::shared_ptr<LoadedDataset> m_loaded;
    std::shared_ptr<std::vector<ImageProbe>> m_probes;
    /** For a folder source without images: where below it the images are ("" when nowhere near). */
    QString m_imagesBelow;
    QLabel* m_sourceLabel;
    // The cleaning column.
    CleaningPanel* m_cleaning;
    bool m_imdbScores = false; // the face-score threshold is on the source's own scale, not the detector's
    bool m_restoringSettings = false;
    QVariantMap m_cleaningDefaults; // the controls' values before any source was opened
    QTableWidget* m_steps;
    // Under the steps: how many pictures the detector has not looked at yet, and the button that looks.
    QLabel* m_previewNote;
    QPushButton* m_detectNow;
    quint64 m_previewGeneration = 0; // the newest updateCounts: an older preview's result is not shown
    QListWidget* m_problems;
    QLabel* m_problemSummary; // the problems grouped by kind, with counts, above the list
    QChartView* m_histogram;
    // The grid, and its model and filter (the grid's: the page sets what needs the session or the lane).
    FaceGrid* m_faceGrid;
    ThumbnailModel* m_model;
    FaceFilter* m_filter;
    // The face panel, and the face it shows (a row of the open dataset, -1 when none).
    FacePanel* m_facePanel;
    qint64 m_shownFace = -1;
};

} // namespace faceatlas::ui

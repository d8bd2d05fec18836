#pragma once

#include <functional>
#include <QElapsedTimer>
#include <QMainWindow>
#include <QPointer>
#include <QStringList>
#include <QUrl>
#include <vector>

class QLabel;
class QListWidget;
class QProgressBar;
class QProgressDialog;
class QPushButton;
class QStackedWidget;
class QTimer;

namespace faceatlas::ui {

class AttentionPage;
class ClustersPage;
class DatasetPage;
class MapPage;
class ReviewPage;
class RunsPage;
class Session;
class SlicesPage;
class StallProbe;
class TrainPage;

/** The FaceAtlas window: Dataset, Train, Clusters, Map, Review, Attention, Runs and Slices pages, and the job status
 * bar. */
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    /** The pages, in the order the navigation lists them. */
    enum Page {
        DatasetIndex,
        TrainIndex,
        ClustersIndex,
        MapIndex,
        ReviewIndex,
        AttentionIndex,
        RunsIndex,
        SlicesIndex
    };
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    Session* session() const { return m_session; }
    DatasetPage* datasetPage() const { return m_dataset; }
    TrainPage* trainPage() const { return m_train; }
    ClustersPage* clustersPage() const { return m_clusters; }
    AttentionPage* attentionPage() const { return m_attention; }
    MapPage* mapPage() const { return m_map; }
    ReviewPage* reviewPage() const { return m_review; }
    RunsPage* runsPage() const { return m_runs; }
    SlicesPage* slicesPage() const { return m_slices; }
    void showPage(int index);
    /** Opens a dataset: a SPEC, or a path whose kind is guessed (.mat, .csv, a UTKFace or plain folder). */
    void openPath(const QString& pathOrSpec);
    /**
     * The GUI thread's stalls (how late a 20 ms timer fires). It runs only when asked for: started by
     * the window when FACEATLAS_STALL_PROBE is set, or by whoever calls stallProbe()->start() (the
     * tour, the monkey, `faceatlas --probe`). Owned by the window.
     */
    StallProbe* stallProbe() const { return m_stallProbe; }
    /** A failed job is printed as a warning instead of shown in a message box (the tour, unattended runs). */
    void setJobFailuresAsWarnings(bool warn) { m_failuresAsWarnings = warn; }
    /** Whether closing during a job asks first (on; tests and the tour turn it off). */
    void setConfirmClose(bool confirm) { m_confirmClose = confirm; }
    /** Every keyboard shortcut, read from the menus' actions and the pages' buttons and keys: where, what, keys. */
    QList<QStringList> shortcutRows() const;
    /** Help > Keyboard shortcuts: a dialog listing shortcutRows(). */
    void showShortcuts();
    /** Help > User guide: opens the README (installed, or the source tree's) with the desktop's viewer. */
    void openUserGuide();
    /** The user guide's file, empty when none is found. */
    static QString userGuidePath();
    /** What opens the guide's URL (tests: a recorder instead of a browser); empty: QDesktopServices. */
    void setUrlOpener(std::function<bool(const QUrl&)> opener) { m_openUrl = std::move(opener); }

protected:
    void closeEvent(class QCloseEvent* event) override;
    void dragEnterEvent(class QDragEnterEvent* event) override;
    void dropEvent(class QDropEvent* event) override;

private:
    /** The message of a failed job; a Retry button when it failed for lack of disk space. */
    void showJobFailure(const QString& title, const QString& error);
    /** Closing with writes queued: the window waits for them (a note after half a second), then closes. */
    void waitForWritesThenClose();
    // The window in parts: the pages (from the page table in MainWindow.cpp), the signals between
    // them, the job status bar and the menus.
    void buildPages();
    void connectFaceRequests();
    void connectPages();
    void buildStatusBar();
    void buildFileMenu();
    void buildMenus(); // the File, Actions and Help menus
    /** One entry per page, with the key that shows it. */
    void addPageShortcuts(class QMenu* menu);
    void showJobProgress(const QString& stage, qint64 done, qint64 total);
    void showJobEnd(const QString& title, bool ok, bool cancelled, const QString& error);
    void restoreRemembered();
    Session* m_session;
    QListWidget* m_nav;
    QStackedWidget* m_pages;
    DatasetPage* m_dataset;
    TrainPage* m_train;
    ClustersPage* m_clusters;
    AttentionPage* m_attention;
    MapPage* m_map;
    ReviewPage* m_review;
    RunsPage* m_runs;
    SlicesPage* m_slices;
    QLabel* m_jobLabel;
    QProgressBar* m_progress;
    QLabel* m_eta;
    QPushButton* m_cancel;
    QElapsedTimer m_jobClock; // since the current stage began
    qint64 m_stageTotal = -1;
    qint64 m_stageStartDone = 0;
    qint64 m_stageLastDone = 0;
    StallProbe* m_stallProbe;
    bool m_failuresAsWarnings = false;
    bool m_confirmClose = true;
    bool m_closing = false;          // the user closed the window (asked once)
    bool m_waitingForWrites = false; // the close waits for the write queue
    QPointer<QProgressDialog> m_closingNote;
    std::function<bool(const QUrl&)> m_openUrl;
};

} // namespace faceatlas::ui

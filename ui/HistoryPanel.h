#pragma once

#include <memory>
#include <QDialog>
#include <vector>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QPushButton;
class QTableWidget;
class QTabWidget;

namespace faceatlas {
struct PreparationDiff;
struct PreparationVersion;
} // namespace faceatlas

namespace faceatlas::ui {

class Session;

/**
 * The Dataset page's History: the versions (preparations) of the open dataset's source with when,
 * settings, review decisions, counts and disk; two of them compared (the faces removed, added and
 * relabelled, each with what did it, a click shows the face); a version removed on request. Reads run
 * on the session's interactive lane and the removal on its write queue: the GUI thread only shows.
 */
class HistoryPanel : public QDialog {
    Q_OBJECT
public:
    explicit HistoryPanel(Session* session, QWidget* parent = nullptr);
    ~HistoryPanel() override;
    /** The History panel of `page` (made on first use), shown, raised and refreshed. */
    static HistoryPanel* showFor(QWidget* page, Session* session);

    /** Reads the versions of the open preparation's source again. */
    void refresh();
    int versionCount() const;
    /** The folder of version `row` (oldest first). */
    QString versionDir(int row) const;
    /** Compares two versions (rows; the older is A whichever order they come in). */
    void compare(int rowA, int rowB);
    /** Removes version `row` (the Remove button asks first); the open one is refused. */
    void removeVersion(int row);
    /** The line under the versions: what was read, compared or removed, or what went wrong. */
    QString statusText() const;
    /** The faces of one kind of change: 0 removed, 1 added, 2 relabelled. */
    QListWidget* changeList(int kind) const;
    /** What the face shown beside the lists is (its path, change and cause); empty when none. */
    QString shownFaceText() const;

Q_SIGNALS:
    /** The versions were read (or failed to be). */
    void historyShown();
    /** A diff was read and shown. */
    void diffShown();

private:
    struct Shown;
    /** The upper pane: the versions table, its Compare and Remove buttons and the status line. */
    QWidget* buildVersionsPane();
    /** The lower pane: the diff's title, its three lists of changed faces and the face pane. */
    QWidget* buildDiffPane();
    /** The face chosen in a list, large, with its path, change and cause. */
    QWidget* buildFacePane();
    /** Double-click or Enter on a face of the open preparation: the Dataset page's face panel shows it too. */
    void openInDatasetPage(QListWidgetItem* item);
    /** Connects the buttons, the versions' selection and the session's dataset changes. */
    void connectSignals();
    void showVersions(std::shared_ptr<const std::vector<PreparationVersion>> versions, const QString& problems);
    void showDiff(const std::shared_ptr<const Shown>& shown);
    void showFace(QListWidgetItem* item);
    void selectionChanged();
    void askToRemove();

    Session* m_session;
    QLabel* m_title;
    QTableWidget* m_versions;
    QPushButton* m_compare;
    QPushButton* m_remove;
    QLabel* m_status;
    QLabel* m_diffTitle;
    QTabWidget* m_tabs;
    QListWidget* m_lists[3];
    QLabel* m_face;
    QLabel* m_faceText;
    std::shared_ptr<const std::vector<PreparationVersion>> m_shownVersions;
    std::shared_ptr<const Shown> m_shownDiff;
    QString m_lastAction; // what the last removal did, said above the totals
};

} // namespace faceatlas::ui

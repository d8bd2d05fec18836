#pragma once

#include <map>
#include <memory>
#include <QWidget>
#include <string>
#include <unordered_set>
#include <vector>

class QComboBox;
class QGridLayout;
class QHBoxLayout;
class QLabel;
class QListWidget;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QTableView;

namespace faceatlas {
struct AuditResult;
class ReviewFile;
enum class ReviewOrder;
struct ReviewQueue;
} // namespace faceatlas

namespace faceatlas::ui {

class DecisionsModel;
class PredictionBar;
class Session;

/**
 * The label audit and its review queue. Audit trains K age models out of fold (a job) and finds
 * metadata problems, duplicate groups, label conflicts and split leaks; the queue lists the faces
 * with a reason, most suspect first, filterable by reason. The selected face is shown large with
 * its label, its out-of-fold prediction and spread, its reasons and its copies side by side.
 * Keep (K), exclude (X), correct the age (type it, Enter) or the gender (M, F), or keep one copy of
 * a duplicate group and exclude the others (D): each decision is appended to the workspace's
 * review file through the write queue (one synced line each, in order, never dropped, drained when
 * the window closes) and marked in the queue once it is written; preparing again with the review
 * applies them.
 *
 * Its Decided view lists every decision of the open dataset, whatever made it (this queue, the
 * Map's Exclude, the command line: all append to the same review file), read on the lane, with
 * counts per action; Undo (Ctrl+Z) appends an `undo` row for each selected face, through the
 * same write queue, so the next Prepare keeps those faces and their labels again.
 *
 * The queue's order is chosen above it (ReviewPageOrder.cpp): the audit's score, the model's
 * uncertainty, or most informative (core's orderReview); the order is made on the lane and the line
 * under the combo says which order the queue is in, and why when the one chosen is not available.
 *
 * Ownership: the audit result is held by shared_ptr and dropped when the open dataset changes; an
 * audit is shown only for the preparation it was made of. The order made of it is held likewise and
 * shown only with the result it was made of.
 */
class ReviewPage : public QWidget {
    Q_OBJECT
public:
    explicit ReviewPage(Session* session, QWidget* parent = nullptr);
    ~ReviewPage() override;

    /** Audits the open dataset (a job) with the folds and epochs on the page. */
    void audit();
    /** Shows the audit in `dir` (read on the lane) when it belongs to the open dataset. */
    void loadAudit(const QString& dir);
    /** The review file of the workspace (workspace/review.csv). */
    QString reviewFile() const;
    /** Faces in the queue as filtered. */
    int queueCount() const;
    /** Shows only the faces with this reason ("" for every reason). */
    void setReasonFilter(const QString& reason);
    void selectItem(int row);
    /** The face shown (a row of the open dataset), -1 when none. */
    qint64 currentFace() const { return m_current; }
    QString statusText() const;
    QString detailText() const;
    /** Decisions on the shown face; each is saved at once and the queue moves on. */
    void keep();
    void exclude();
    void correctAge(int age);
    void correctGender(bool male);
    /** Keeps the shown face and excludes the other members of its duplicate groups. */
    void keepOnlyThisCopy();
    /** The queue's order (the combo above it; remembered in the settings); a new order is made on the lane. */
    ReviewOrder order() const;
    void setOrder(ReviewOrder order);
    /** The line under the order: which order the queue is in, or why the one chosen is not available. */
    QString orderText() const;
    /** The suspicion score of every face of the open dataset (NaN without one); empty without an audit. */
    std::shared_ptr<const std::vector<float>> suspicion() const { return m_suspicion; }

    /** Shows the audit's queue (the default view). */
    void showQueue();
    /** Shows the Decided view: every decision of the open dataset, read again from the review file. */
    void showDecisions();
    bool showsDecisions() const;
    /** Reads the open dataset's decisions from the review file on the lane (newest request wins). */
    void refreshDecisions();
    /** Rows of the Decided view (latest decision per face of the open dataset). */
    int decisionCount() const;
    /** The line above the Decided view: the decisions counted by action. */
    QString decisionCountsText() const;
    /** Takes back the decisions selected in the Decided view (an `undo` row each, appended). */
    void undoSelected();

protected:
    void showEvent(QShowEvent* event) override;

Q_SIGNALS:
    /** A new audit is shown (or none): the map can colour by its scores. */
    void suspicionChanged(std::shared_ptr<const std::vector<float>> scores);
    /** A decision was saved. */
    void decided();
    void faceChosen(qint64 row);

private:
    // ReviewPageLayout.cpp: the page's construction.
    /** The Audit button, its folds and epochs, and the reason filter, in a row (the view switch joins it). */
    QHBoxLayout* buildAuditControls();
    /** The audit's status line, the line of decisions saved, and the warning above the queue. */
    void buildStatusLines();
    /** The queue view: the order controls and the queue beside the shown face, its evidence and decisions. */
    QWidget* buildQueueView();
    /** The shown face, its detail, its prediction bar and its copies. */
    void buildFaceWidgets();
    /** Keep, Exclude, the age box and Set age, the genders and Keep this copy, connected to their decisions. */
    QGridLayout* buildDecisionButtons();
    /** The audit button, the reason filter, the queue and the copies: what they show or do. */
    void connectQueue();
    /** One key per decision (K, X, D, M, F, and A to type an age) while the page has the focus. */
    void addDecisionKeys();
    /** A dataset switch clears the page; a new dataset or a new audit is shown. */
    void connectSession();

    void clear(const QString& why);
    void findLatestAudit();
    void fillQueue();
    /** The reason filter's items for the shown audit: every reason, then each with its count (no signal). */
    void fillReasonFilter();
    void showCurrent();
    void decide(int action, const QString& newLabel, const QString& note = {});
    void appendDecision(int action, qint64 row, const QString& newLabel, const QString& note);
    /**
     * Marks the decisions written to the review file (m_decisions) on the queue's items, or unmarks
     * undone ones: the items of `paths`, or every item when null. One pass over the queue (up to
     * kMaxQueue items), however many paths: the GUI thread does no per-path scan of it.
     */
    void showDecided(const std::unordered_set<std::string>* paths = nullptr);
    /** The line that says how many decisions are saved and how many are still being written. */
    void showWriting();
    /** The audit header again, with its "(N so far)" as the decisions stand now. */
    void showDecisionCount();
    // ReviewPageDecided.cpp: the Decided view.
    /** Builds the Decided view (counts, the table, Undo) and its Queue | Decided switch. */
    QWidget* makeDecidedView();
    /** The Queue | Decided switch, its buttons checkable in one group. */
    void makeDecidedTabs();
    /** The Decided view's table and its model. */
    void makeDecidedTable();
    /** Undo (its button and Ctrl+Z), the table's selection and double-click, and the dataset switch. */
    void connectDecidedView();
    QString auditsPrefix() const;
    // ReviewPageNotes.cpp: what the page says about an audit, and the settings it keeps.
    /** The header of a shown audit: its MAE beside the baseline's, groups, conflicts, leaks. */
    QString auditHeader(const QString& dir) const;
    /** The note shown before a first audit, with the folds and epochs the button would use. */
    QString noAuditNote() const;
    /** Shows the audit's warning above the queue (a model no better than the baseline), or hides it. */
    void showAuditWarning();
    /** Keep, Exclude, Set age, the genders and Keep this copy: enabled only with a face shown. */
    void updateDecisionButtons();
    /** Folds and epochs from the settings, and saved there when changed; the note follows them. */
    void rememberAuditSettings();
    // ReviewPageOrder.cpp: the queue's order.
    /** The order combo, its Reorder button and the note under them, in a column for the queue's side. */
    QLayout* makeOrderControls();
    /** Orders the audit's flagged faces as the combo says, on the lane (newest wins); fillQueue() follows. */
    void requestOrder();
    /** Shows the audit's own order: drops the order made, refilling the queue when there was one. */
    void showAuditOrder();
    /** The note under the combo: the order the queue is in, computing, or why the chosen one is not available. */
    void showOrderNote();
    /** The flagged suspects (indices into m_result->suspects) in the order shown: the order made, or the audit's. */
    std::vector<size_t> queueSequence() const;
    Session* m_session;
    QPushButton* m_audit;
    QSpinBox* m_folds;
    QSpinBox* m_epochs;
    QComboBox* m_reason;
    QLabel* m_status;
    QLabel* m_saved;
    QLabel* m_queueWarning;
    std::vector<QPushButton*> m_decisionButtons;
    QListWidget* m_queue;
    QLabel* m_face;
    QLabel* m_detail;
    PredictionBar* m_prediction;
    QListWidget* m_copies;
    QSpinBox* m_age;
    QStackedWidget* m_views; // the queue, or the Decided view
    QPushButton* m_queueTab; // the switch between them
    QPushButton* m_decidedTab;
    QLabel* m_decidedCounts;
    QTableView* m_decidedTable;
    DecisionsModel* m_decidedModel; // owned by the page (Qt parent)
    QPushButton* m_undo;
    std::shared_ptr<const AuditResult> m_result;
    QComboBox* m_order;
    QPushButton* m_reorder; // informative only: counts the decisions made since as reviewed
    QLabel* m_orderNote;
    std::shared_ptr<const ReviewQueue> m_ordered; // the order made, shown only with m_orderedFor
    const AuditResult* m_orderedFor = nullptr;
    QString m_orderCodes;    // the codes the informative order was made with (the note names them)
    QString m_orderError;    // why the last order could not be made; empty when it was
    QString m_orderFallback; // why the order made is not the one chosen (the codes' side said by the page)
    bool m_ordering = false; // an order is being made on the lane
    std::shared_ptr<const std::vector<float>> m_suspicion;
    std::vector<size_t> m_shown;                  // suspects (indices into m_result->suspects) in the queue
    std::vector<std::vector<int>> m_groupsOfFace; // per record: the duplicate groups it belongs to
    std::map<std::string, QString> m_decisions;   // path -> what was decided, this dataset's only (queue marks, count)
    qint64 m_current = -1;
    QString m_auditDir;
    QString m_loadingAuditDir; // an audit being read on the lane (findLatestAudit does not ask twice)
    int m_writing = 0;         // decisions handed to the write queue and not written yet
    int m_written = 0;         // decisions written this session
};

} // namespace faceatlas::ui

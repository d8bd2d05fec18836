// The Review page's Decided view: every decision of the open dataset as the review file holds it
// (from the queue, the Map's Exclude or the command line), counted by action, with Undo.
#include "ReviewPage.h"

#include "analysis/AuditJob.h"
#include "data/PreparedDataset.h"
#include "data/ReviewFile.h"
#include "InteractiveLane.h"
#include "Session.h"
#include "WriteQueue.h"

#include <algorithm>
#include <map>
#include <QAbstractTableModel>
#include <QButtonGroup>
#include <QColor>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QShortcut>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <unordered_map>
#include <unordered_set>

namespace faceatlas::ui {

namespace {

/** A row of the Decided view: the latest decision about a face and the face's row in the open dataset. */
struct DecidedRow {
    ReviewDecision decision;
    qint64 face = -1; // -1: no face of the open dataset has that key (a photo's face not taken)
};

/** What the lane reads for the Decided view. */
struct Decided {
    std::vector<DecidedRow> rows; // newest first
    size_t otherRows = 0;         // rows of the file about other datasets
    size_t problems = 0;          // rows skipped as unreadable
};

QString markOf(const ReviewDecision& d)
{
    return QString::fromUtf8(reviewActionName(d.action))
           + (d.newLabel.empty() ? QString() : " " + QString::fromStdString(d.newLabel));
}

/** What the write queue did with an Undo. */
struct Undone {
    std::vector<std::string> paths;   // undone
    std::vector<std::string> changed; // not undone: their latest decision is no longer the one shown
};

// Reads the open dataset's decisions from the review file `file`, the latest of each face with its
// row in `data`, newest first. On the lane.
Decided readDecided(const PreparedDataset& data, const QString& file)
{
    // This dataset's decisions only; the filter (a set of every record's path) is built
    // here on the lane, as each decision, undo and Map Exclude asks again.
    const ReviewFile review = ReviewFile::load(file.toStdString(), decisionsAboutFolders(data.records()));
    // A decision names a face by recordKey(), or a photo by its bare path (its best face shown).
    std::unordered_map<std::string, qint64> faceOf;
    const auto& records = data.records();
    faceOf.reserve(records.size() * 2);
    for (size_t i = 0; i < records.size(); ++i) {
        faceOf.try_emplace(recordKey(records[i]), static_cast<qint64>(i));
        faceOf.try_emplace(records[i].path, static_cast<qint64>(i));
    }
    Decided out;
    for (ReviewDecision& d : review.latest()) {
        const auto it = faceOf.find(d.path);
        out.rows.push_back({std::move(d), it == faceOf.end() ? qint64(-1) : it->second});
    }
    std::reverse(out.rows.begin(), out.rows.end()); // the newest first
    out.otherRows = review.otherRows();
    out.problems = review.problems().size();
    return out;
}

// The line above the Decided view: the decisions counted by action, those of faces not prepared,
// the file's rows about other datasets and its unreadable rows.
QString decidedCountsText(const Decided& decided, const QString& file, const QLocale& locale)
{
    std::map<QString, size_t> byAction;
    for (const DecidedRow& row : decided.rows)
        ++byAction[QString::fromUtf8(reviewActionName(row.decision.action))];
    QStringList parts;
    for (const auto& [action, count] : byAction)
        parts << QStringLiteral("%1 %2").arg(locale.toString(static_cast<qulonglong>(count)), action);
    QString text =
        decided.rows.empty()
            ? ReviewPage::tr("No decisions about this dataset in %1 yet. Decide in the queue, or exclude faces on "
                             "the Map.")
                  .arg(file)
            : (decided.rows.size() == 1 ? ReviewPage::tr("<b>1 decision about this dataset</b>: %2. From %3; "
                                                         "Prepare applies it.")
                                        : ReviewPage::tr("<b>%1 decisions about this dataset</b>: %2. From %3; "
                                                         "Prepare applies them."))
                  .arg(locale.toString(static_cast<qulonglong>(decided.rows.size())), parts.join(", "), file);
    const auto absent =
        std::count_if(decided.rows.begin(), decided.rows.end(), [](const DecidedRow& row) { return row.face < 0; });
    if (absent > 0)
        text += ReviewPage::tr(" %1 of them name faces the open preparation does not hold (its cleaning or an "
                               "exclusion left them out; grey, without a picture).")
                    .arg(locale.toString(static_cast<qulonglong>(absent)));
    if (decided.otherRows > 0)
        text +=
            (decided.otherRows == 1 ? ReviewPage::tr(" The file also holds 1 row about another dataset (not listed).")
                                    : ReviewPage::tr(" The file also holds %1 rows about other datasets (not listed).")
                                          .arg(locale.toString(static_cast<qulonglong>(decided.otherRows))));
    if (decided.problems > 0)
        text += ReviewPage::tr(" %1 unreadable rows were skipped.").arg(decided.problems);
    return text;
}

// The undo rows for the Decided view's `rows` at `selected` into `undos`, and the decisions they
// take back, as shown, into `shown`.
void undosFor(const std::vector<DecidedRow>& rows, const QModelIndexList& selected, std::vector<ReviewDecision>& undos,
              std::vector<ReviewDecision>& shown)
{
    // Each undo names the decision it takes back (the row shown): the face's latest decision may
    // have changed since the list was read (a script, the command line), and an undo would then
    // take back that newer one, which the user never saw.
    for (const QModelIndex& index : selected) {
        const ReviewDecision& d = rows[static_cast<size_t>(index.row())].decision;
        ReviewDecision undo;
        undo.path = d.path;
        undo.action = ReviewAction::Undo;
        undo.oldLabel = d.oldLabel;
        undo.reason = "undid " + markOf(d).toStdString() + " on the Review page";
        undos.push_back(std::move(undo));
        shown.push_back(d);
    }
}

// Appends the undo rows to `file` whose face's latest decision is still the one shown; the others
// are left out as changed. On the write queue's thread.
Undone writeUndos(WriteQueue& writer, const std::string& file, const std::vector<ReviewDecision>& undos,
                  const std::vector<ReviewDecision>& shown)
{
    // Checked on the writing side, just before the undo rows are written: a fresh read of
    // the decisions about these faces (only theirs are kept).
    std::unordered_set<std::string> paths;
    for (const ReviewDecision& undo : undos)
        paths.insert(undo.path);
    const ReviewFile now = ReviewFile::load(file, [&paths](const std::string& path) { return paths.count(path) > 0; });
    Undone out;
    for (size_t k = 0; k < undos.size(); ++k) {
        const ReviewDecision* latest = now.latestFor(undos[k].path);
        if (!latest || latest->action != shown[k].action || latest->time != shown[k].time
            || latest->newLabel != shown[k].newLabel) {
            out.changed.push_back(undos[k].path);
            continue;
        }
        writer.reviewFile(file).append(undos[k]);
        out.paths.push_back(undos[k].path);
    }
    return out;
}

// What Undo says once no write is left: the decisions undone (an undo row each in `file`), and
// those not undone because they changed since the list was read.
QString undoneText(const Undone& undone, const QString& file)
{
    QString text = (undone.paths.size() == 1
                        ? ReviewPage::tr("1 decision undone (an undo row in %2); the next Prepare keeps that face "
                                         "with its labels.")
                        : ReviewPage::tr("%1 decisions undone (an undo row each in %2); the next Prepare keeps those "
                                         "faces with their labels."))
                       .arg(undone.paths.size())
                       .arg(file);
    if (!undone.changed.empty())
        text += ReviewPage::tr(" %1 not undone: their latest decision changed since the list was read (%2); the "
                               "list shows them as they are now.")
                    .arg(undone.changed.size())
                    .arg(QString::fromStdString(undone.changed.front())
                         + (undone.changed.size() > 1 ? QStringLiteral(", ...") : QString()));
    return text;
}

} // namespace

/** The Decided view's table: face, action, old -> new, source or reason, time. Thumbnails are drawn as rows show. */
class DecisionsModel : public QAbstractTableModel {
public:
    DecisionsModel(Session* session, QObject* parent)
        : QAbstractTableModel(parent)
        , m_session(session)
    {
    }
    void setRows(std::vector<DecidedRow> rows)
    {
        beginResetModel();
        m_rows = std::move(rows);
        endResetModel();
    }
    const std::vector<DecidedRow>& rows() const { return m_rows; }
    int rowCount(const QModelIndex& parent = {}) const override
    {
        return parent.isValid() ? 0 : static_cast<int>(m_rows.size());
    }
    int columnCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : 5; }
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override
    {
        if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
            return {};
        switch (section) {
        case 0: return tr("Face");
        case 1: return tr("Action");
        case 2: return tr("Old → new");
        case 3: return tr("Source / reason");
        case 4: return tr("Time (UTC)");
        }
        return {};
    }
    QVariant data(const QModelIndex& index, int role) const override
    {
        if (!index.isValid() || index.row() >= rowCount())
            return {};
        const DecidedRow& row = m_rows[static_cast<size_t>(index.row())];
        const ReviewDecision& d = row.decision;
        if (role == Qt::DecorationRole && index.column() == 0 && row.face >= 0)
            return QPixmap::fromImage(m_session->face(row.face))
                .scaled(40, 40, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        if (role == Qt::ForegroundRole && row.face < 0)
            return QColor(Qt::darkGray); // no face of the preparation: left out by its cleaning or a decision
        if (role == Qt::ToolTipRole && index.column() == 0)
            return QString::fromStdString(d.path)
                   + (row.face >= 0 ? tr("\nface %1 of the open dataset (double-click shows it)").arg(row.face)
                                    : tr("\nnot among the open preparation's faces (left out by Prepare)"));
        if (role != Qt::DisplayRole)
            return {};
        switch (index.column()) {
        case 0: {
            // The file name (and #faceN) fits the column; the tooltip has the whole path.
            const QString key = QString::fromStdString(d.path);
            const QString name = QFileInfo(key).fileName().isEmpty() ? key : QFileInfo(key).fileName();
            return row.face >= 0 ? name : tr("%1 (not prepared)").arg(name);
        }
        case 1: return QString::fromUtf8(reviewActionName(d.action));
        case 2: {
            const QString old = d.oldLabel.empty() ? QStringLiteral("–") : QString::fromStdString(d.oldLabel);
            return d.newLabel.empty() ? old : old + QStringLiteral(" → ") + QString::fromStdString(d.newLabel);
        }
        case 3: return QString::fromStdString(d.reason);
        case 4: return QString::fromStdString(d.time).replace('T', ' ').remove('Z');
        }
        return {};
    }

private:
    Session* m_session;
    std::vector<DecidedRow> m_rows;
};

QWidget* ReviewPage::makeDecidedView()
{
    makeDecidedTabs();
    m_decidedCounts = new QLabel;
    m_decidedCounts->setObjectName("decidedCounts");
    m_decidedCounts->setWordWrap(true);
    makeDecidedTable();
    m_undo = new QPushButton(tr("Undo (Ctrl+Z)"));
    m_undo->setObjectName("undoDecisions");
    m_undo->setToolTip(tr("Takes back the selected decisions (Ctrl+Z): an undo row each is added to the review "
                          "file, and the next Prepare keeps those faces with their labels"));
    m_undo->setEnabled(false);
    auto* undoRow = new QHBoxLayout;
    undoRow->addWidget(m_undo);
    undoRow->addWidget(new QLabel(tr("Select rows (Shift, Ctrl) to undo; double-click shows the face.")), 1);
    auto* view = new QWidget;
    auto* layout = new QVBoxLayout(view);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_decidedCounts);
    layout->addWidget(m_decidedTable, 1);
    layout->addLayout(undoRow);
    connectDecidedView();
    return view;
}

void ReviewPage::makeDecidedTabs()
{
    // The switch: the audit's queue, or what was decided (by anyone) about this dataset.
    m_queueTab = new QPushButton(tr("Queue"));
    m_queueTab->setObjectName("queueView");
    m_queueTab->setToolTip(tr("The audit's suspects, most suspect first"));
    m_decidedTab = new QPushButton(tr("Decided"));
    m_decidedTab->setObjectName("decidedView");
    m_decidedTab->setToolTip(tr("Every decision about this dataset's faces: from the queue, the Map's Exclude or the "
                                "command line; Undo takes them back"));
    auto* tabs = new QButtonGroup(this);
    for (QPushButton* tab : {m_queueTab, m_decidedTab}) {
        tab->setCheckable(true);
        tabs->addButton(tab);
    }
    m_queueTab->setChecked(true);
    connect(m_queueTab, &QPushButton::clicked, this, &ReviewPage::showQueue);
    connect(m_decidedTab, &QPushButton::clicked, this, &ReviewPage::showDecisions);
}

void ReviewPage::makeDecidedTable()
{
    m_decidedModel = new DecisionsModel(m_session, this);
    m_decidedTable = new QTableView;
    m_decidedTable->setObjectName("decisions");
    m_decidedTable->setModel(m_decidedModel);
    m_decidedTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_decidedTable->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_decidedTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_decidedTable->setIconSize(QSize(40, 40));
    m_decidedTable->verticalHeader()->hide();
    m_decidedTable->verticalHeader()->setDefaultSectionSize(44); // fixed: no row is measured (thousands of them)
    m_decidedTable->setWordWrap(false);
    m_decidedTable->setTextElideMode(Qt::ElideMiddle);
    QHeaderView* header = m_decidedTable->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setStretchLastSection(false);
    header->resizeSection(0, 300);
    header->resizeSection(1, 80);
    header->resizeSection(2, 110);
    header->setSectionResizeMode(3, QHeaderView::Stretch);
    header->resizeSection(4, 160);
}

void ReviewPage::connectDecidedView()
{
    connect(m_undo, &QPushButton::clicked, this, &ReviewPage::undoSelected);
    connect(m_decidedTable->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            [this] { m_undo->setEnabled(m_decidedTable->selectionModel()->hasSelection()); });
    connect(m_decidedModel, &QAbstractItemModel::modelReset, this, [this] { m_undo->setEnabled(false); });
    connect(m_decidedTable, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        const auto& rows = m_decidedModel->rows();
        if (index.isValid() && static_cast<size_t>(index.row()) < rows.size()
            && rows[static_cast<size_t>(index.row())].face >= 0)
            Q_EMIT faceChosen(rows[static_cast<size_t>(index.row())].face);
    });
    auto* undoKey = new QShortcut(QKeySequence::Undo, this);
    undoKey->setContext(Qt::WidgetWithChildrenShortcut);
    undoKey->setWhatsThis(tr("Undo the selected decisions (Review page, Decided view)")); // Help lists it
    connect(undoKey, &QShortcut::activated, this, [this] {
        if (showsDecisions())
            undoSelected();
    });
    // Another dataset's decisions are never shown under this one's name.
    connect(m_session, &Session::datasetAboutToChange, this, [this] {
        m_decidedModel->setRows({});
        m_decidedCounts->setText(tr("No dataset open."));
        m_decidedTab->setText(tr("Decided"));
    });
}

void ReviewPage::showQueue()
{
    m_queueTab->setChecked(true);
    m_views->setCurrentIndex(0);
}

void ReviewPage::showDecisions()
{
    m_decidedTab->setChecked(true);
    m_views->setCurrentIndex(1);
    refreshDecisions(); // the command line may have written since
}

void ReviewPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    refreshDecisions(); // a script may have written to the review file while another page was shown
}

bool ReviewPage::showsDecisions() const
{
    return m_views->currentIndex() == 1;
}

int ReviewPage::decisionCount() const
{
    return m_decidedModel->rowCount();
}

QString ReviewPage::decisionCountsText() const
{
    return m_decidedCounts->text();
}

void ReviewPage::refreshDecisions()
{
    const auto data = m_session->sharedDataset();
    if (!data) {
        m_decidedModel->setRows({});
        m_decidedCounts->setText(tr("Open and prepare a dataset to see its decisions."));
        return;
    }
    const QString file = reviewFile();
    m_session->lane()->submit<Decided>(
        QStringLiteral("review-decided"), this, [data, file] { return readDecided(*data, file); },
        [this, file](Decided decided) {
            m_decisions.clear();
            for (const DecidedRow& row : decided.rows)
                m_decisions[row.decision.path] = markOf(row.decision);
            const QLocale locale;
            m_decidedCounts->setText(decidedCountsText(decided, file, locale));
            m_decidedTab->setText(
                tr("Decided (%1)").arg(locale.toString(static_cast<qulonglong>(decided.rows.size()))));
            m_decidedModel->setRows(std::move(decided.rows));
            // The queue's marks and the header's count follow the file (map excludes, undos, the command line).
            showDecided(); // every queue item, in one pass
            showDecisionCount();
        },
        [this](const QString& error) { m_decidedCounts->setText(tr("The decisions cannot be read: %1").arg(error)); });
}

void ReviewPage::undoSelected()
{
    const QModelIndexList selected = m_decidedTable->selectionModel()->selectedRows();
    if (selected.isEmpty()) {
        m_saved->setText(tr("Select the decisions to undo first (Decided view)."));
        return;
    }
    std::vector<ReviewDecision> undos, shown;
    undosFor(m_decidedModel->rows(), selected, undos, shown);
    // Appended like every decision (the write queue: in order, synced, never dropped); the file
    // is never rewritten, so what was decided stays readable in it.
    const std::string file = reviewFile().toStdString();
    WriteQueue* writer = m_session->writer();
    ++m_writing;
    showWriting();
    writer->submit<Undone>(
        this, [writer, file, undos, shown] { return writeUndos(*writer, file, undos, shown); },
        [this](Undone undone) {
            --m_writing;
            std::unordered_set<std::string> marks;
            for (const std::string& path : undone.paths) {
                m_decisions.erase(path);
                marks.insert(path);
            }
            showDecided(&marks);
            showWriting();
            if (m_writing == 0)
                m_saved->setText(undoneText(undone, reviewFile()));
            showDecisionCount();
            refreshDecisions();
            Q_EMIT decided();
        },
        [this](const QString& error) {
            --m_writing;
            showWriting();
            m_saved->setText(tr("The undo could not be saved: %1").arg(error));
        });
}

} // namespace faceatlas::ui

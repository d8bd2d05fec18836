#include "HistoryPanel.h"

#include "data/DatasetHistory.h"
#include "data/PreparedDataset.h"
#include "DatasetPage.h"
#include "InteractiveLane.h"
#include "Session.h"
#include "util/OutputFolder.h"
#include "WriteQueue.h"

#include <algorithm>
#include <QFileInfo>
#include <QFont>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QMessageBox>
#include <QPixmap>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTabWidget>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

/** Faces shown with a picture per kind of change; the rest are listed by path (memory stays bounded). */
constexpr int kMaxPictures = 2000;
constexpr int kPictureSide = 96;

QString text(const std::string& s)
{
    return QString::fromStdString(s);
}

QString ageText(const std::optional<int>& age)
{
    return age ? QString::number(*age) : QStringLiteral("-");
}

QString labelChange(const FaceChange& c)
{
    QStringList parts;
    if (c.oldAge != c.newAge)
        parts << QObject::tr("age %1 \u2192 %2").arg(ageText(c.oldAge), ageText(c.newAge));
    if (c.oldGender != c.newGender)
        parts << QObject::tr("gender %1 \u2192 %2")
                     .arg(QString::fromLatin1(genderName(c.oldGender)), QString::fromLatin1(genderName(c.newGender)));
    return parts.join(QStringLiteral(", "));
}

} // namespace

/** A diff as the panel shows it: the changes and a picture of each (of A for a removed face, else of B). */
struct HistoryPanel::Shown {
    PreparationDiff diff;
    std::vector<QImage> pictures; // one per change, null past kMaxPictures of a kind
};

HistoryPanel::HistoryPanel(Session* session, QWidget* parent)
    : QDialog(parent)
    , m_session(session)
{
    setObjectName("historyPanel");
    setWindowTitle(tr("Dataset history"));
    QWidget* top = buildVersionsPane();
    QWidget* bottom = buildDiffPane();
    auto* split = new QSplitter(Qt::Vertical);
    split->addWidget(top);
    split->addWidget(bottom);
    split->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(split);
    resize(980, 640);
    connectSignals();
    selectionChanged();
}

QWidget* HistoryPanel::buildVersionsPane()
{
    m_title = new QLabel;
    m_title->setWordWrap(true);
    m_versions = new QTableWidget(0, 7);
    m_versions->setObjectName("versions");
    m_versions->setHorizontalHeaderLabels({tr("Prepared"), tr("Faces"), tr("Train / val"), tr("Review decisions"),
                                           tr("Settings"), tr("Disk"), tr("Folder")});
    m_versions->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_versions->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_versions->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_versions->verticalHeader()->hide();
    m_versions->horizontalHeader()->setStretchLastSection(true);
    m_compare = new QPushButton(tr("Compare the two selected"));
    m_compare->setObjectName("compareVersions");
    m_compare->setToolTip(tr("Select two versions (Ctrl+click): the faces removed, added and relabelled from the "
                             "older to the newer, and what did it"));
    m_remove = new QPushButton(tr("Remove version..."));
    m_remove->setObjectName("removeVersion");
    m_remove->setToolTip(tr("Deletes the files FaceAtlas wrote in that preparation's folder (not the open one)"));
    m_status = new QLabel;
    m_status->setObjectName("historyStatus");
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_compare);
    buttons->addWidget(m_remove);
    buttons->addStretch(1);
    auto* top = new QWidget;
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addWidget(m_title);
    topLayout->addWidget(m_versions, 1);
    topLayout->addLayout(buttons);
    topLayout->addWidget(m_status);
    return top;
}

QWidget* HistoryPanel::buildDiffPane()
{
    m_diffTitle = new QLabel(tr("Select two versions and compare them."));
    m_diffTitle->setObjectName("diffTitle");
    m_diffTitle->setWordWrap(true);
    m_tabs = new QTabWidget;
    m_tabs->setObjectName("diffTabs");
    const char* names[3] = {"removedFaces", "addedFaces", "relabelledFaces"};
    for (int k = 0; k < 3; ++k) {
        m_lists[k] = new QListWidget;
        m_lists[k]->setObjectName(names[k]);
        m_lists[k]->setIconSize(QSize(48, 48));
        m_lists[k]->setUniformItemSizes(true);
        connect(m_lists[k], &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) { showFace(item); });
        connect(m_lists[k], &QListWidget::itemActivated, this, &HistoryPanel::openInDatasetPage);
    }
    m_tabs->addTab(m_lists[0], tr("Removed"));
    m_tabs->addTab(m_lists[1], tr("Added"));
    m_tabs->addTab(m_lists[2], tr("Relabelled"));
    auto* diffRow = new QHBoxLayout;
    diffRow->addWidget(m_tabs, 1);
    diffRow->addWidget(buildFacePane());
    auto* bottom = new QWidget;
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addWidget(m_diffTitle);
    bottomLayout->addLayout(diffRow, 1);
    return bottom;
}

QWidget* HistoryPanel::buildFacePane()
{
    m_face = new QLabel;
    m_face->setObjectName("diffFace");
    m_face->setFixedSize(2 * kPictureSide, 2 * kPictureSide);
    m_face->setAlignment(Qt::AlignCenter);
    m_faceText = new QLabel;
    m_faceText->setObjectName("diffFaceText");
    m_faceText->setWordWrap(true);
    m_faceText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_faceText->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    auto* facePane = new QWidget;
    auto* faceLayout = new QVBoxLayout(facePane);
    faceLayout->addWidget(m_face);
    faceLayout->addWidget(m_faceText, 1);
    facePane->setMinimumWidth(2 * kPictureSide + 20);
    facePane->setMaximumWidth(320);
    return facePane;
}

void HistoryPanel::openInDatasetPage(QListWidgetItem* item)
{
    // Double-click or Enter: a face of the open preparation is shown in the Dataset page's panel too.
    const qint64 row = item->data(Qt::UserRole + 1).toLongLong();
    if (row >= 0)
        if (auto* page = qobject_cast<DatasetPage*>(parentWidget()))
            page->showDatasetFace(row);
}

void HistoryPanel::connectSignals()
{
    connect(m_versions, &QTableWidget::itemSelectionChanged, this, &HistoryPanel::selectionChanged);
    connect(m_compare, &QPushButton::clicked, this, [this] {
        const auto rows = m_versions->selectionModel()->selectedRows();
        if (rows.size() == 2)
            compare(rows[0].row(), rows[1].row());
    });
    connect(m_remove, &QPushButton::clicked, this, &HistoryPanel::askToRemove);
    // Another preparation opened (a Prepare made a new version): the list follows it.
    connect(m_session, &Session::datasetChanged, this, [this] {
        if (isVisible())
            refresh();
    });
}

HistoryPanel::~HistoryPanel() = default;

HistoryPanel* HistoryPanel::showFor(QWidget* page, Session* session)
{
    auto* panel = page->findChild<HistoryPanel*>(QStringLiteral("historyPanel"), Qt::FindDirectChildrenOnly);
    if (!panel)
        panel = new HistoryPanel(session, page);
    panel->show();
    panel->raise();
    panel->activateWindow();
    panel->refresh();
    return panel;
}

void HistoryPanel::refresh()
{
    const QString dir = m_session->datasetDir();
    if (dir.isEmpty()) {
        m_title->setText(tr("No dataset is open: open and prepare one, and its versions are listed here."));
        showVersions(std::make_shared<const std::vector<PreparationVersion>>(), {});
        return;
    }
    m_status->setText(tr("Reading the versions ..."));
    using Result = std::pair<std::shared_ptr<const std::vector<PreparationVersion>>, QString>;
    const std::string path = dir.toStdString();
    m_session->lane()->submit<Result>(
        QStringLiteral("history-versions"), this,
        [path] {
            std::vector<std::string> problems;
            auto versions =
                std::make_shared<const std::vector<PreparationVersion>>(preparationHistory(path, &problems));
            QStringList lines;
            for (const auto& p : problems)
                lines << text(p);
            return Result{versions, lines.join(QLatin1Char('\n'))};
        },
        [this](Result result) { showVersions(result.first, result.second); },
        [this](const QString& error) {
            m_status->setText(tr("The versions cannot be read: %1").arg(error));
            Q_EMIT historyShown();
        });
}

void HistoryPanel::showVersions(std::shared_ptr<const std::vector<PreparationVersion>> versions,
                                const QString& problems)
{
    m_shownVersions = std::move(versions);
    const auto& list = *m_shownVersions;
    const QString open = QFileInfo(m_session->datasetDir()).absoluteFilePath();
    m_versions->setRowCount(static_cast<int>(list.size()));
    const QLocale locale;
    std::uint64_t total = 0;
    for (int row = 0; row < static_cast<int>(list.size()); ++row) {
        const PreparationVersion& v = list[static_cast<size_t>(row)];
        const bool isOpen = QFileInfo(text(v.dir.string())).absoluteFilePath() == open;
        QString review = tr("none");
        if (!v.reviewFile.empty())
            review = tr("%1: %2 excluded, %3 relabelled")
                         .arg(v.reviewDecisions)
                         .arg(v.reviewExcluded)
                         .arg(v.reviewAgeCorrected + v.reviewGenderCorrected);
        QString disk = text(byteText(v.bytes));
        if (v.sharedBytes)
            disk += tr(" (%1 shared)").arg(text(byteText(v.sharedBytes)));
        const QStringList cells = {text(v.created) + (isOpen ? tr(" (open)") : QString()),
                                   locale.toString(static_cast<qulonglong>(v.count)),
                                   QStringLiteral("%1 / %2").arg(v.train).arg(v.val),
                                   review,
                                   text(v.settings),
                                   disk,
                                   text(v.dir.filename().string()) + (v.kept ? tr(" (kept)") : QString())};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setToolTip(c == 6 ? text(v.dir.string()) : cells[c]);
            if (isOpen) {
                QFont font = item->font();
                font.setBold(true);
                item->setFont(font);
            }
            m_versions->setItem(row, c, item);
        }
        total += v.bytes;
    }
    m_versions->resizeColumnsToContents();
    m_versions->setColumnWidth(4, std::min(m_versions->columnWidth(4), 320));
    if (!list.empty())
        m_title->setText(list.size() == 1
                             ? tr("<b>%1</b>: one version, the one open (a Prepare that changes it keeps it here).")
                                   .arg(text(list.front().source).toHtmlEscaped())
                             : tr("<b>%1</b>: %2 versions, oldest first; the open one in bold.")
                                   .arg(text(list.front().source).toHtmlEscaped(), QString::number(list.size())));
    QString status = tr("%1 on disk in all. A version's images shared with another (reused) are freed with the last.")
                         .arg(text(byteText(total)));
    if (!m_lastAction.isEmpty())
        status = m_lastAction + QLatin1Char('\n') + status;
    if (!problems.isEmpty())
        status += tr("\nNot read: %1").arg(problems);
    m_status->setText(status);
    // The newest two selected, so Compare is one click away.
    if (list.size() >= 2 && m_versions->selectionModel()->selectedRows().isEmpty()) {
        m_versions->selectRow(static_cast<int>(list.size()) - 2);
        m_versions->selectionModel()->select(m_versions->model()->index(static_cast<int>(list.size()) - 1, 0),
                                             QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }
    selectionChanged();
    Q_EMIT historyShown();
}

int HistoryPanel::versionCount() const
{
    return m_shownVersions ? static_cast<int>(m_shownVersions->size()) : 0;
}

QString HistoryPanel::versionDir(int row) const
{
    if (row < 0 || row >= versionCount())
        return {};
    return text((*m_shownVersions)[static_cast<size_t>(row)].dir.string());
}

void HistoryPanel::selectionChanged()
{
    const int selected = m_versions->selectionModel() ? m_versions->selectionModel()->selectedRows().size() : 0;
    m_compare->setEnabled(selected == 2);
    m_remove->setEnabled(selected == 1);
}

void HistoryPanel::compare(int rowA, int rowB)
{
    if (rowA > rowB)
        std::swap(rowA, rowB);
    const QString a = versionDir(rowA), b = versionDir(rowB);
    if (a.isEmpty() || b.isEmpty())
        return;
    m_diffTitle->setText(tr("Comparing ..."));
    // The open preparation's rows, so a double-click can show a face in the Dataset page.
    const QString open = QFileInfo(m_session->datasetDir()).absoluteFilePath();
    const bool bOpen = QFileInfo(b).absoluteFilePath() == open, aOpen = QFileInfo(a).absoluteFilePath() == open;
    m_session->lane()->submit<std::shared_ptr<const Shown>>(
        QStringLiteral("history-diff"), this,
        [a = a.toStdString(), b = b.toStdString()](const CancelToken& cancel) {
            auto shown = std::make_shared<Shown>();
            shown->diff = diffPreparations(a, b);
            if (cancel.isCancelled())
                return std::shared_ptr<const Shown>();
            const PreparedDataset da = PreparedDataset::open(a), db = PreparedDataset::open(b);
            int pictures[3] = {0, 0, 0};
            shown->pictures.reserve(shown->diff.changes.size());
            for (const FaceChange& c : shown->diff.changes) {
                const int k = static_cast<int>(c.change);
                const PreparedDataset& from = c.change == FaceChangeKind::Removed ? da : db;
                const long long row = c.change == FaceChangeKind::Removed ? c.aRow : c.bRow;
                QImage picture;
                if (row >= 0 && static_cast<size_t>(row) < from.count() && pictures[k]++ < kMaxPictures)
                    picture = rgbImage(from.image(static_cast<size_t>(row)), from.imageSize(), from.imageSize())
                                  .scaled(kPictureSide, kPictureSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
                shown->pictures.push_back(std::move(picture));
            }
            return std::shared_ptr<const Shown>(std::move(shown));
        },
        [this, aOpen, bOpen](std::shared_ptr<const Shown> shown) {
            if (!shown)
                return;
            // Rows of the open preparation: B's for added and relabelled faces, A's for removed ones.
            auto copy = std::make_shared<Shown>(*shown);
            for (FaceChange& c : copy->diff.changes) {
                const bool fromOpen = c.change == FaceChangeKind::Removed ? aOpen : bOpen;
                if (!fromOpen)
                    c.aRow = c.bRow = -1; // nothing in the grid to show
            }
            showDiff(copy);
        },
        [this](const QString& error) {
            m_diffTitle->setText(tr("The versions cannot be compared: %1").arg(error.toHtmlEscaped()));
            for (QListWidget* list : m_lists)
                list->clear();
            Q_EMIT diffShown();
        });
}

void HistoryPanel::showDiff(const std::shared_ptr<const Shown>& shown)
{
    m_shownDiff = shown;
    const PreparationDiff& d = shown->diff;
    for (QListWidget* list : m_lists)
        list->clear();
    for (size_t i = 0; i < d.changes.size(); ++i) {
        const FaceChange& c = d.changes[i];
        QString line = text(c.key);
        QString what = text(c.detail);
        if (c.change == FaceChangeKind::Relabelled)
            what = labelChange(c) + QStringLiteral(": ") + what;
        line += QStringLiteral("\n") + tr("by %1: %2").arg(text(c.cause), what);
        auto* item = new QListWidgetItem(line);
        if (!shown->pictures[i].isNull())
            item->setIcon(QIcon(QPixmap::fromImage(shown->pictures[i])));
        item->setData(Qt::UserRole, static_cast<qulonglong>(i));
        // The face's row in the open preparation (-1: it is in the other version only).
        item->setData(Qt::UserRole + 1, static_cast<qlonglong>(c.change == FaceChangeKind::Removed ? c.aRow : c.bRow));
        item->setToolTip(line);
        m_lists[static_cast<int>(c.change)]->addItem(item);
    }
    const QString names[3] = {tr("Removed"), tr("Added"), tr("Relabelled")};
    for (int k = 0; k < 3; ++k)
        m_tabs->setTabText(k, QStringLiteral("%1 (%2)").arg(names[k]).arg(m_lists[k]->count()));
    QString title =
        tr("From <b>%1</b> (%2 faces) to <b>%3</b> (%4 faces): %5 removed, %6 added, %7 relabelled, %8 "
           "unchanged.")
            .arg(text(d.a.created), QString::number(d.a.count), text(d.b.created), QString::number(d.b.count))
            .arg(d.count(FaceChangeKind::Removed))
            .arg(d.count(FaceChangeKind::Added))
            .arg(d.count(FaceChangeKind::Relabelled))
            .arg(d.unchanged);
    for (const auto& note : d.notes)
        title += QStringLiteral("<br>") + text(note).toHtmlEscaped();
    m_diffTitle->setText(title);
    // The first kind with faces is shown, its first face selected.
    for (int k = 0; k < 3; ++k)
        if (m_lists[k]->count() > 0) {
            m_tabs->setCurrentIndex(k);
            m_lists[k]->setCurrentRow(0);
            break;
        }
    if (d.changes.empty()) {
        m_face->clear();
        m_faceText->setText(tr("The two versions hold the same faces with the same labels."));
    }
    Q_EMIT diffShown();
}

void HistoryPanel::showFace(QListWidgetItem* item)
{
    if (!item || !m_shownDiff) {
        m_face->clear();
        m_faceText->clear();
        return;
    }
    const size_t i = item->data(Qt::UserRole).toULongLong();
    if (i >= m_shownDiff->diff.changes.size())
        return;
    const FaceChange& c = m_shownDiff->diff.changes[i];
    const QImage& picture = m_shownDiff->pictures[i];
    if (picture.isNull())
        m_face->setText(tr("(no picture: more than %1 faces)").arg(kMaxPictures));
    else
        m_face->setPixmap(QPixmap::fromImage(
            picture.scaled(2 * kPictureSide, 2 * kPictureSide, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
    QString body = tr("<b>%1</b> by <b>%2</b><br>%3<br><br>%4")
                       .arg(QString::fromLatin1(faceChangeName(c.change)), text(c.cause),
                            text(c.detail).toHtmlEscaped(), text(c.key).toHtmlEscaped());
    if (c.change == FaceChangeKind::Relabelled)
        body += QStringLiteral("<br>") + labelChange(c);
    else
        body +=
            tr("<br>age %1, gender %2")
                .arg(ageText(c.change == FaceChangeKind::Removed ? c.oldAge : c.newAge),
                     QString::fromLatin1(genderName(c.change == FaceChangeKind::Removed ? c.oldGender : c.newGender)));
    if (item->data(Qt::UserRole + 1).toLongLong() >= 0)
        body += tr("<br><i>Double-click: show it in the Dataset page.</i>");
    m_faceText->setText(body);
}

void HistoryPanel::askToRemove()
{
    const auto rows = m_versions->selectionModel()->selectedRows();
    if (rows.size() != 1)
        return;
    const int row = rows.front().row();
    const PreparationVersion& v = (*m_shownVersions)[static_cast<size_t>(row)];
    const auto answer = QMessageBox::question(
        this, tr("Remove this version?"),
        tr("Remove the preparation of %1 in %2? It frees up to %3. Only the files FaceAtlas wrote there are deleted.")
            .arg(text(v.created), text(v.dir.string()), text(byteText(v.bytes - v.sharedBytes))));
    if (answer == QMessageBox::Yes)
        removeVersion(row);
}

void HistoryPanel::removeVersion(int row)
{
    const QString dir = versionDir(row);
    if (dir.isEmpty())
        return;
    // A write (it deletes files): on the write queue, which never drops one; the open preparation is refused.
    const std::string path = dir.toStdString(), open = m_session->datasetDir().toStdString();
    m_status->setText(tr("Removing %1 ...").arg(dir));
    m_session->writer()->submit<RemovedPreparation>(
        this, [path, open] { return removePreparation(path, open); },
        [this, dir](RemovedPreparation removed) {
            m_lastAction = tr("Removed %1: %2 freed.").arg(dir, text(byteText(removed.freed)));
            if (!removed.leftFiles.empty())
                m_lastAction += tr(" The folder stays: it holds %n entries FaceAtlas did not write.", "",
                                   static_cast<int>(removed.leftFiles.size()));
            m_status->setText(m_lastAction);
            refresh();
        },
        [this](const QString& error) {
            m_lastAction = tr("Not removed: %1").arg(error);
            m_status->setText(m_lastAction);
        });
}

QString HistoryPanel::statusText() const
{
    return m_status->text();
}

QListWidget* HistoryPanel::changeList(int kind) const
{
    return kind >= 0 && kind < 3 ? m_lists[kind] : nullptr;
}

QString HistoryPanel::shownFaceText() const
{
    return m_faceText->text();
}

} // namespace faceatlas::ui

#include "WorkspaceDialog.h"

#include "Session.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

QString kindName(OutputKind kind)
{
    switch (kind) {
    case OutputKind::Run: return QObject::tr("training run");
    case OutputKind::Codes: return QObject::tr("codes");
    case OutputKind::Clustering: return QObject::tr("clustering");
    case OutputKind::Map: return QObject::tr("map");
    case OutputKind::Audit: return QObject::tr("audit");
    default: return QString::fromLatin1(outputKindName(kind));
    }
}

/**
 * The preparation an artifact was made from, in words the same for every kind: its prepared folder's
 * name (a map names its codes, whose manifest names the folder), with the source where it is known.
 */
QString datasetOf(const Artifact& a, const WorkspaceIndex& index)
{
    std::filesystem::path data = a.data;
    if (data.empty() && !a.madeFrom.empty())
        if (const Artifact* from = index.find(a.madeFrom))
            data = from->data;
    QString text = data.empty()
                       ? QObject::tr("preparation %1").arg(QString::fromStdString(a.dataFingerprint.substr(0, 8)))
                       : QFileInfo(QString::fromStdString(data.string())).fileName();
    if (!a.source.empty())
        text += QStringLiteral(" (%1)").arg(QString::fromStdString(a.source));
    return a.dataFingerprint.empty() && data.empty() ? QObject::tr("(not recorded)") : text;
}

} // namespace

WorkspaceDialog::WorkspaceDialog(Session* session, QWidget* parent)
    : QDialog(parent)
    , m_session(session)
    , m_tree(new QTreeWidget)
{
    setWindowTitle(tr("What the workspace holds"));
    auto* note = new QLabel(tr("Everything FaceAtlas made in %1, newest first. The pages show only the newest of "
                               "the open dataset; work made from other datasets stays here and is never drawn as "
                               "this one's.")
                                .arg(QDir::toNativeSeparators(session->workspace())));
    note->setWordWrap(true);
    m_tree->setObjectName("workspaceArtifacts");
    m_tree->setRootIsDecorated(false);
    m_tree->setHeaderLabels({tr("What"), tr("Folder"), tr("Made from"), tr("State"), tr("Modified")});
    m_tree->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_tree->header()->setStretchLastSection(false);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(note);
    layout->addWidget(m_tree, 1);
    layout->addWidget(buttons);
    resize(1180, 460);
    fill();
}

void WorkspaceDialog::fill()
{
    m_session->refreshIndex();
    m_tree->clear();
    for (const Artifact& a : m_session->index().artifacts()) {
        const QString dir = QString::fromStdString(a.dir.string());
        QString state;
        if (!a.usable())
            state = tr("damaged: %1").arg(QString::fromStdString(a.damaged));
        else if (m_session->isOpenPreparation(a.dataFingerprint))
            state = m_session->newest(a.kind) == dir ? tr("shown now") : tr("of the open preparation");
        else
            state = tr("of another preparation");
        if (a.kind == OutputKind::Run && a.usable() && !a.status.empty())
            state += QStringLiteral(" (%1)").arg(QString::fromStdString(a.status));
        const auto modified = QDateTime::fromMSecsSinceEpoch(a.modifiedNs / 1000000);
        auto* item = new QTreeWidgetItem(
            {kindName(a.kind)
                 + (a.model.empty() ? QString() : QStringLiteral(" (%1)").arg(QString::fromStdString(a.model))),
             QFileInfo(dir).fileName(), datasetOf(a, m_session->index()), state,
             modified.toString("yyyy-MM-dd HH:mm")});
        item->setToolTip(1, dir);
        item->setToolTip(3, state);
        if (!a.usable())
            item->setForeground(3, QBrush(Qt::darkRed));
        m_tree->addTopLevelItem(item);
    }
    if (m_tree->topLevelItemCount() == 0)
        m_tree->addTopLevelItem(new QTreeWidgetItem({tr("Nothing yet: prepare a dataset and train a model.")}));
}

QStringList WorkspaceDialog::rows() const
{
    QStringList rows;
    for (int i = 0; i < m_tree->topLevelItemCount(); ++i) {
        QStringList cells;
        for (int c = 0; c < m_tree->columnCount(); ++c)
            cells << m_tree->topLevelItem(i)->text(c);
        rows << cells.join('\t');
    }
    return rows;
}

} // namespace faceatlas::ui

// The window's menus, the keyboard shortcuts list and the user guide.
#include "MainWindow.h"

#include "ClustersPage.h"
#include "data/SourceKinds.h"
#include "DatasetPage.h"
#include "JobRunner.h"
#include "MapPage.h"
#include "ml/Runtime.h"
#include "ReviewPage.h"
#include "Session.h"
#include "SlicesPage.h"
#include "TrainPage.h"
#include "WorkspaceDialog.h"

#include <QAbstractButton>
#include <QAction>
#include <QCoreApplication>
#include <QDesktopServices>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QShortcut>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

QString plain(QString text)
{
    return text.remove(QLatin1Char('&')).remove(QStringLiteral("...")).trimmed();
}

/** Every action with a shortcut in a menu and its submenus, as rows of (where, what, keys). */
void addMenuRows(const QMenu* menu, const QString& where, QList<QStringList>& rows)
{
    for (QAction* action : menu->actions()) {
        if (action->menu())
            addMenuRows(action->menu(), where + QStringLiteral(" > ") + plain(action->text()), rows);
        else if (!action->shortcut().isEmpty())
            rows.append({where, plain(action->text()), action->shortcut().toString(QKeySequence::NativeText)});
    }
}

/** The keys a page answers to: its buttons' shortcuts, its QShortcuts and its actions (each says what it does). */
void addPageRows(QWidget* page, const QString& where, QList<QStringList>& rows)
{
    for (const QAbstractButton* button : page->findChildren<QAbstractButton*>())
        if (!button->shortcut().isEmpty())
            rows.append({where, plain(button->text()), button->shortcut().toString(QKeySequence::NativeText)});
    for (const QShortcut* shortcut : page->findChildren<QShortcut*>())
        if (!shortcut->key().isEmpty())
            rows.append({where, shortcut->whatsThis(), shortcut->key().toString(QKeySequence::NativeText)});
    for (QAction* action : page->findChildren<QAction*>())
        if (!action->shortcut().isEmpty() && !action->menu())
            rows.append({where, plain(action->text()), action->shortcut().toString(QKeySequence::NativeText)});
}

} // namespace

QList<QStringList> MainWindow::shortcutRows() const
{
    QList<QStringList> rows;
    for (QAction* menu : menuBar()->actions())
        if (menu->menu())
            addMenuRows(menu->menu(), plain(menu->text()), rows);
    for (int i = 0; i < m_pages->count() && i < m_nav->count(); ++i)
        addPageRows(m_pages->widget(i), tr("%1 page").arg(m_nav->item(i)->text()), rows);
    return rows;
}

void MainWindow::showShortcuts()
{
    const QList<QStringList> rows = shortcutRows();
    auto* dialog = new QDialog(this);
    dialog->setObjectName("shortcutsDialog");
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Keyboard shortcuts"));
    auto* table = new QTableWidget(static_cast<int>(rows.size()), 3, dialog);
    table->setObjectName("shortcutTable");
    table->setHorizontalHeaderLabels({tr("Where"), tr("What"), tr("Keys")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    for (int r = 0; r < rows.size(); ++r)
        for (int c = 0; c < 3; ++c)
            table->setItem(r, c, new QTableWidgetItem(rows[r].value(c)));
    table->resizeColumnsToContents();
    table->horizontalHeader()->setStretchLastSection(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(table);
    layout->addWidget(buttons);
    dialog->resize(620, 560);
    dialog->show();
}

QString MainWindow::userGuidePath()
{
    // Installed (share/doc/faceatlas), else the README of the source tree beside the build (bin/ or tests/).
    const QDir app(QCoreApplication::applicationDirPath());
    for (const QString& candidate : {QStringLiteral("../share/doc/faceatlas/README.md"),
                                     QStringLiteral("../../README.md"), QStringLiteral("../README.md")})
        if (QFileInfo::exists(app.filePath(candidate)))
            return QFileInfo(app.filePath(candidate)).canonicalFilePath();
    return {};
}

void MainWindow::openUserGuide()
{
    const QString guide = userGuidePath();
    if (guide.isEmpty()) {
        statusBar()->showMessage(tr("The user guide (README.md) is not installed beside FaceAtlas."), 15000);
        return;
    }
    const QUrl url = QUrl::fromLocalFile(guide);
    const bool opened = m_openUrl ? m_openUrl(url) : QDesktopServices::openUrl(url);
    if (!opened)
        statusBar()->showMessage(tr("No program opens %1; read it in any text editor.").arg(guide), 15000);
}

void MainWindow::buildFileMenu()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open the &demo dataset"), QKeySequence(tr("Ctrl+D")), this, [this] { openPath("demo"); });
    // Each kind of source that is opened from a file or a folder (core's table, data/SourceKinds).
    for (const SourceKindInfo& source : sourceKinds()) {
        if (!*source.menuText)
            continue;
        file->addAction(tr(source.menuText), QKeySequence(QString::fromLatin1(source.shortcut)), this, [this, &source] {
            // Dialogs start in the folder the last one ended in.
            const QString start = QSettings().value("lastFolder").toString();
            const QString title = tr(source.dialogTitle);
            const QString path = *source.fileFilter
                                     ? QFileDialog::getOpenFileName(this, title, start, tr(source.fileFilter))
                                     : QFileDialog::getExistingDirectory(this, title, start);
            if (path.isEmpty())
                return;
            const QFileInfo chosen(path);
            QSettings().setValue("lastFolder", chosen.isDir() ? chosen.absoluteFilePath() : chosen.absolutePath());
            openPath(QString::fromLatin1(source.name) + QLatin1Char(':') + path);
        });
    }
    QMenu* recent = file->addMenu(tr("&Recent"));
    connect(recent, &QMenu::aboutToShow, this, [this, recent] {
        recent->clear();
        for (const QString& spec : QSettings().value("recentSources").toStringList())
            recent->addAction(spec, this, [this, spec] { openPath(spec); });
    });
    file->addAction(tr("Choose &workspace..."), this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Workspace folder"), m_session->workspace());
        if (!d.isEmpty())
            m_session->setWorkspace(d);
    });
    file->addAction(tr("What the works&pace holds..."), this, [this] {
        WorkspaceDialog dialog(m_session, this);
        dialog.exec();
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
}

void MainWindow::buildMenus()
{
    buildFileMenu();
    // The common actions from the keyboard: each shows its page, then starts what it names there.
    struct PageAction {
        Page page;
        const char* text;
        const char* key;
        void (*run)(MainWindow&);
    };
    static const PageAction actions[] = {
        {DatasetIndex, QT_TR_NOOP("&Prepare the dataset"), "Ctrl+P", [](MainWindow& w) { w.m_dataset->prepare(); }},
        {TrainIndex, QT_TR_NOOP("Start &training"), "Ctrl+T", [](MainWindow& w) { w.m_train->start(); }},
        {TrainIndex, QT_TR_NOOP("&Resume the latest training"), "Ctrl+R",
         [](MainWindow& w) { w.m_train->start(/*resume=*/true); }},
        {ClustersIndex, QT_TR_NOOP("&Encode the faces"), "Ctrl+E", [](MainWindow& w) { w.m_clusters->encode(); }},
        {ClustersIndex, QT_TR_NOOP("&Cluster the faces"), "Ctrl+K", [](MainWindow& w) { w.m_clusters->cluster(); }},
        {MapIndex, QT_TR_NOOP("Compute the &map"), "Ctrl+M",
         [](MainWindow& w) { w.m_map->computeMapWithChosenMethod(); }},
        {ReviewIndex, QT_TR_NOOP("&Audit the labels"), "Ctrl+Shift+A", [](MainWindow& w) { w.m_review->audit(); }},
        {SlicesIndex, QT_TR_NOOP("Error by &slice"), "Ctrl+Shift+L", [](MainWindow& w) { w.m_slices->compute(); }},
    };
    QMenu* go = menuBar()->addMenu(tr("&Actions"));
    for (const PageAction& action : actions)
        go->addAction(tr(action.text), QKeySequence(QString::fromLatin1(action.key)), this, [this, &action] {
            showPage(action.page);
            action.run(*this);
        });
    go->addAction(tr("&Stop the running job"), QKeySequence(tr("Ctrl+.")), m_session->jobs(), &JobRunner::cancel);
    go->addAction(tr("&Find faces (age filter)"), QKeySequence::Find, this, [this] {
        showPage(DatasetIndex);
        m_dataset->focusFilter();
    });
    go->addSeparator();
    addPageShortcuts(go->addMenu(tr("&Go to")));
    go->addAction(tr("&Next page"), QKeySequence(tr("Ctrl+PgDown")), this,
                  [this] { showPage((m_nav->currentRow() + 1) % m_nav->count()); });
    go->addAction(tr("P&revious page"), QKeySequence(tr("Ctrl+PgUp")), this,
                  [this] { showPage((m_nav->currentRow() + m_nav->count() - 1) % m_nav->count()); });
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard shortcuts"), QKeySequence(tr("Ctrl+/")), this, &MainWindow::showShortcuts);
    help->addAction(tr("&User guide"), QKeySequence::HelpContents, this, &MainWindow::openUserGuide);
    help->addAction(tr("&About FaceAtlas"), this, [this] {
        QMessageBox::about(this, tr("About FaceAtlas"),
                           tr("<b>FaceAtlas %1</b><br>Explore face-image datasets with deep learning.<br>%2<br>%3")
                               .arg(FACEATLAS_VERSION, QString::fromStdString(torchDescription()),
                                    QString::fromStdString(blasDescription()).toHtmlEscaped()));
    });
}

} // namespace faceatlas::ui

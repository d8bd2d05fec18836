#pragma once

#include <QDialog>

class QTreeWidget;

namespace faceatlas::ui {

class Session;

/**
 * What the workspace holds (File > What the workspace holds): every run, encoding, clustering, map
 * and audit the workspace index found, newest first, each with the dataset it was made from and
 * whether it is the one shown now, of this dataset, of another dataset, or damaged (with why).
 * Read from the session's index, which is refreshed first; nothing is opened or changed here.
 */
class WorkspaceDialog : public QDialog {
    Q_OBJECT
public:
    explicit WorkspaceDialog(Session* session, QWidget* parent = nullptr);

    /** The rows as text, tab-separated (for tests and copying). */
    QStringList rows() const;

private:
    void fill();
    Session* m_session;
    QTreeWidget* m_tree;
};

} // namespace faceatlas::ui

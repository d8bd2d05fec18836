#include "GuardedApplication.h"

#include <atomic>
#include <cstdio>
#include <exception>
#include <QMessageBox>
#include <QWidget>

namespace faceatlas::ui {

namespace {
std::atomic<int> g_caught{0};
QString g_last;
bool g_showMessages = true;
} // namespace

GuardedApplication::GuardedApplication(int& argc, char** argv)
    : QApplication(argc, argv)
{
}

int GuardedApplication::caughtExceptions()
{
    return g_caught.load();
}

QString GuardedApplication::lastException()
{
    return g_last;
}

void GuardedApplication::setShowMessages(bool show)
{
    g_showMessages = show;
}

bool GuardedApplication::notify(QObject* receiver, QEvent* event)
{
    try {
        return QApplication::notify(receiver, event);
    } catch (const std::exception& e) {
        reportError(QString::fromUtf8(e.what()));
    } catch (...) {
        reportError(QStringLiteral("unknown error"));
    }
    return false;
}

void GuardedApplication::reportError(const QString& message)
{
    ++g_caught;
    g_last = message;
    std::fprintf(stderr, "faceatlas: an action failed: %s\n", qPrintable(message));
    if (!g_showMessages)
        return;
    // Not exec(): a nested event loop inside notify() is what we are protecting against.
    if (!qobject_cast<QApplication*>(QCoreApplication::instance()))
        return;
    auto* box =
        new QMessageBox(QMessageBox::Warning, QObject::tr("FaceAtlas"),
                        QObject::tr("That did not work:\n\n%1\n\nNothing was lost; the window goes on.").arg(message),
                        QMessageBox::Ok, QApplication::activeWindow());
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setModal(false);
    box->show();
}

} // namespace faceatlas::ui

// Keeping the window on a laptop's screen (1366x768): restored geometries clamped to the screen,
// tall panels that scroll.
#include "ScreenFit.h"

#include <algorithm>
#include <QFrame>
#include <QGuiApplication>
#include <QScreen>
#include <QScrollArea>
#include <QWidget>

namespace faceatlas::ui {

QRect fitToScreen(const QRect& geometry, const QMargins& frame, const QRect& available, const QSize& minimum)
{
    // The largest client area whose frame fits, but never below the minimum the layouts need.
    const QSize room(available.width() - frame.left() - frame.right(),
                     available.height() - frame.top() - frame.bottom());
    const QSize size = geometry.size().boundedTo(room).expandedTo(minimum);
    QRect fitted(geometry.topLeft(), size);
    const QRect inner = available.marginsRemoved(frame); // where the client area's corners may go
    // Right and bottom edges first, then left and top: when it cannot fit, the title bar stays reachable.
    fitted.moveRight(std::min(fitted.right(), inner.right()));
    fitted.moveBottom(std::min(fitted.bottom(), inner.bottom()));
    fitted.moveLeft(std::max(fitted.left(), inner.left()));
    fitted.moveTop(std::max(fitted.top(), inner.top()));
    return fitted;
}

void fitWindowToItsScreen(QWidget* window)
{
    if (window->isMaximized() || window->isFullScreen())
        return;
    const QScreen* screen = QGuiApplication::screenAt(window->geometry().center());
    if (!screen)
        screen = window->screen() ? window->screen() : QGuiApplication::primaryScreen();
    if (!screen)
        return;
    // Before the window manager has framed the window its frame is unknown: a title bar's worth is kept free.
    QMargins frame(window->geometry().left() - window->frameGeometry().left(),
                   window->geometry().top() - window->frameGeometry().top(),
                   window->frameGeometry().right() - window->geometry().right(),
                   window->frameGeometry().bottom() - window->geometry().bottom());
    if (frame.isNull() && !window->isVisible())
        frame = QMargins(0, 32, 0, 0);
    const QRect fitted = fitToScreen(window->geometry(), frame, screen->availableGeometry(),
                                     window->minimumSizeHint().expandedTo(window->minimumSize()));
    if (fitted != window->geometry())
        window->setGeometry(fitted);
}

QWidget* verticalScroller(QWidget* content)
{
    auto* scroll = new QScrollArea;
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    // As wide as what it holds (plus the scroll bar), so nothing is cut at the right edge.
    scroll->setMinimumWidth(content->minimumSizeHint().width() + 16);
    return scroll;
}

QWidget* pageScroller(QWidget* page)
{
    auto* scroll = new QScrollArea;
    scroll->setWidget(page);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    return scroll;
}

} // namespace faceatlas::ui

#pragma once

#include <QMargins>
#include <QRect>
#include <QSize>

class QWidget;

namespace faceatlas::ui {

/**
 * A window's geometry (its client area) moved and shrunk so that, with its frame, it lies inside
 * `available` (the free area of the screen it opens on), never smaller than `minimum`. A window
 * that already fits is left as it is; one too large for the screen is put at the top left.
 */
QRect fitToScreen(const QRect& geometry, const QMargins& frame, const QRect& available, const QSize& minimum);

/** Applies fitToScreen to a top-level window with the screen it is on (before it is shown: an estimated frame). */
void fitWindowToItsScreen(QWidget* window);

/** Wraps `content` in a frameless scroll area that scrolls vertically only, for a panel taller than small screens. */
QWidget* verticalScroller(QWidget* content);

/**
 * Wraps a page in a frameless scroll area: the page fills it when there is room and scrolls when
 * the window is smaller than the page's minimum, so the window's own minimum stays small.
 */
QWidget* pageScroller(QWidget* page);

} // namespace faceatlas::ui

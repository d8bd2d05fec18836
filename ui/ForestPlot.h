#pragma once

#include "data/Slices.h"

#include <QWidget>
#include <vector>

namespace faceatlas::ui {

/**
 * An age model's error by slice as a forest plot: one row per slice with its name and size, its
 * MAE's 95% interval as a bar with a dot at the MAE, the baseline's MAE as a diamond, and the signed
 * bias with its interval as text; an x axis in years. The "all" row comes first, set apart; slices
 * flagged "small" are grey. Clicking a row emits its (by, slice).
 */
class ForestPlot : public QWidget {
    Q_OBJECT
public:
    enum class Order { Mae, Size, Name };
    explicit ForestPlot(QWidget* parent = nullptr);

    /** The report's rows ("all" among them); drawn in the current order. */
    void setRows(std::vector<SliceRow> rows);
    /** By MAE (worst first), by size (largest first) or by name; "all" stays first. */
    void setOrder(Order order);
    Order order() const { return m_order; }
    /** The rows in the order they are drawn, top to bottom. */
    const std::vector<SliceRow>& rows() const { return m_rows; }
    /** Where row `i` is drawn (an empty rect when there is no such row). */
    QRect rowRect(int i) const;
    /** The row drawn at `y`, or -1. */
    int rowAt(int y) const;
    /** The x axis: its range in years and the position of a value. */
    double axisMax() const { return m_axisMax; }
    int xOf(double years) const;
    /** A row's "flagged by audit" cell: "12 (8.0%)"; empty without an audit. */
    static QString auditText(const SliceRow& row);
    /** What a click on row `i` does: emits rowClicked with its by and slice. */
    void clickRow(int i);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void rowClicked(const QString& by, const QString& slice);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    void sortRows();
    int contentHeight() const;
    int plotLeft() const;
    int plotRight() const;
    int auditWidth() const; // kAudit when some row has an audit count, else 0
    void paintLegend(class QPainter& p) const;
    void paintAxis(class QPainter& p) const;
    void paintRow(class QPainter& p, int i) const;
    std::vector<SliceRow> m_rows;
    Order m_order = Order::Mae;
    double m_axisMax = 10;
    double m_tick = 2;
    int m_hover = -1;
};

/** A step of 1, 2 or 5 times a power of ten that gives about `ticks` ticks over `span`. */
double niceTickStep(double span, int ticks);

} // namespace faceatlas::ui

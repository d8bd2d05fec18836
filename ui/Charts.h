#pragma once

class QChart;
class QChartView;
class QValueAxis;
class QXYSeries;

namespace faceatlas::ui {

/** Shows `chart` in `view` (which takes it over) and deletes the chart it showed before. */
void replaceChart(QChartView* view, QChart* chart);

/**
 * An axis of whole numbers from `low` to `high` (epochs, k, counts): ticks only on integers, every
 * 1, 2, 5, 10, ... so that about `maxTicks` labels show, each label the integer it stands on.
 */
void setIntegerAxis(QValueAxis* axis, double low, double high, int maxTicks = 10);

/** The integer step setIntegerAxis chooses for a span (1, 2, 5, 10, 20, 50, ...). */
int integerTickStep(double span, int maxTicks = 10);

/** Draws the series' points as markers too, so a curve of one point (one epoch) is visible. */
void showPoints(QXYSeries* series);

} // namespace faceatlas::ui

#include "Charts.h"

#include <algorithm>
#include <cmath>
#include <QChart>
#include <QChartView>
#include <QValueAxis>
#include <QXYSeries>

namespace faceatlas::ui {

void replaceChart(QChartView* view, QChart* chart)
{
    QChart* old = view->chart();
    view->setChart(chart);
    delete old;
}

int integerTickStep(double span, int maxTicks)
{
    maxTicks = std::max(1, maxTicks);
    for (int scale = 1;; scale *= 10)
        for (int mantissa : {1, 2, 5})
            if (span / (mantissa * scale) <= maxTicks)
                return mantissa * scale;
}

void setIntegerAxis(QValueAxis* axis, double low, double high, int maxTicks)
{
    low = std::floor(low);
    high = std::max(low + 1, std::ceil(high));
    // A little room past the last whole number, so a point drawn there is not cut in half.
    axis->setRange(low, high + 0.04 * (high - low));
    axis->setTickType(QValueAxis::TicksDynamic);
    axis->setTickAnchor(0);
    axis->setTickInterval(integerTickStep(high - low, maxTicks));
    axis->setMinorTickCount(0);
    axis->setLabelFormat("%d");
}

void showPoints(QXYSeries* series)
{
    series->setPointsVisible(true);
    series->setMarkerSize(6);
}

} // namespace faceatlas::ui

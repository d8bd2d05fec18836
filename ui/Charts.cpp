#include "Charts.h"

#include <QChart>
#include <QChartView>

namespace faceatlas::ui {

void replaceChart(QChartView* view, QChart* chart)
{
    QChart* old = view->chart();
    view->setChart(chart);
    delete old;
}

} // namespace faceatlas::ui

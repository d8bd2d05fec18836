#pragma once

class QChart;
class QChartView;

namespace faceatlas::ui {

/** Shows `chart` in `view` (which takes it over) and deletes the chart it showed before. */
void replaceChart(QChartView* view, QChart* chart);

} // namespace faceatlas::ui

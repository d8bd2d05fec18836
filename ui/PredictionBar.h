#pragma once

#include <cmath>
#include <QWidget>

namespace faceatlas::ui {

/** The out-of-fold prediction as a bell over 0-100 years, and the label as a red line (the Review page's). */
class PredictionBar : public QWidget {
public:
    using QWidget::QWidget;
    /** Shows this label and a prediction of this mean and spread (NaN: not drawn). */
    void set(double label, double mean, double sd);

protected:
    void paintEvent(QPaintEvent*) override;

private:
    double m_label = NAN, m_mean = NAN, m_sd = NAN;
};

} // namespace faceatlas::ui

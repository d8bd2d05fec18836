#pragma once

#include <QWidget>
#include <vector>

namespace faceatlas {
class PreparedDataset;
}

namespace faceatlas::ui {

/** Five-year age bins: 0-4, 5-9, ..., 95-99, 100 and over. */
constexpr int kAgeBins = 21;

/** Shares of faces per age bin (faces without an age left out), of `rows` or of every face when null. */
std::vector<double> ageShares(const PreparedDataset& data, const std::vector<qint64>* rows);

/** Two age distributions as bars: every face (grey) and a selection (outlined blue), as shares of each. */
class AgeHistogram : public QWidget {
public:
    using QWidget::QWidget;
    void setShares(std::vector<double> all, std::vector<double> selection);

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::vector<double> m_all, m_selection;
};

} // namespace faceatlas::ui

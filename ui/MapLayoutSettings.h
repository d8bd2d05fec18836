#pragma once

#include "ml/Projection.h"

#include <nlohmann/json.hpp>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace faceatlas::ui {

/**
 * The neighbour map's parameters as the Map page shows them: neighbours, minimum distance, epochs,
 * seed and the neighbour search. computeMap reads params(); a map opened from its folder shows the
 * parameters it was made with (showRecorded, from map.json), so what is on screen can be made again.
 * Owned by the Map page; holds no data of its own beyond the widgets' values.
 */
class MapLayoutSettings : public QWidget {
    Q_OBJECT
public:
    explicit MapLayoutSettings(QWidget* parent = nullptr);

    /** The layout's parameters as set (the neighbour search "auto", "exact" or "hnsw"). */
    EmbeddingParams params() const;
    /** Sets the widgets to a map.json's "settings" (a PCA map's, or an older map's, leave the rest). */
    void showRecorded(const nlohmann::json& settings);
    /** One line for the page's status: the parameters a map.json records, e.g. "15 neighbours, ...". */
    static QString describe(const nlohmann::json& settings);

private:
    QSpinBox* m_neighbors;
    QDoubleSpinBox* m_minDist;
    QSpinBox* m_epochs;
    QSpinBox* m_seed;
    QSpinBox* m_threads;
    QComboBox* m_search;
};

} // namespace faceatlas::ui

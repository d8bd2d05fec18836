#pragma once

#include "PointMapView.h"

#include <memory>
#include <QStringList>
#include <string>
#include <vector>

namespace faceatlas {
class PreparedDataset;
struct SourceColumns;
struct ClusterSummaries;
struct FaceQuality;
} // namespace faceatlas

namespace faceatlas::ui {

/** What a map can be coloured by, for one dataset (a column is there when its values are). */
struct MapColumns {
    std::shared_ptr<const PreparedDataset> data;
    std::shared_ptr<const std::vector<float>> predictions; // empty: none
    std::shared_ptr<const std::vector<int>> clusters;      // empty: none; -1 outside a clustered subset
    // The clusters' names or automatic labels (Session::clusterSummaries) for the legend; null: numbers only.
    std::shared_ptr<const ClusterSummaries> clusterNames;
    std::shared_ptr<const std::vector<float>> suspicion; // empty: none (the label audit's score)
    // The open map's per-face neighbourhood preservation (map.csv's `preserved`); empty: a map from
    // before the score, or none.
    std::shared_ptr<const std::vector<float>> preserved;
    // The predictions' calibrated spreads in years (Session::predictionSpreads): empty, or one per
    // prediction, NaN for a run trained before FaceAtlas calibrated its spread.
    std::shared_ptr<const std::vector<float>> spreads;
    // The csv: source's further columns (columns.csv), read on the lane and held with the open
    // dataset by the page; empty: not read (yet), so a "column: NAME" entry says so.
    std::shared_ptr<const SourceColumns> sourceColumns;
    // The quality columns measured at prepare (quality.f32; qualityOf), read on the lane; null: not
    // read (yet), or empty: the preparation has none, which a "quality: NAME" entry says.
    std::shared_ptr<const FaceQuality> quality;
};

/** The prefix of a quality column's entry in the "Colour by" box ("quality: sharpness"). */
QString qualityColumnPrefix();
/**
 * The quality columns of `data` (readPreparedQuality; empty for a preparation from before them),
 * read once per preparation and shared by the grid and the map. Reads a file: call it on the
 * interactive lane. The cache holds the preparation weakly, so a switch never serves another's.
 */
std::shared_ptr<const FaceQuality> qualityOf(const std::shared_ptr<const PreparedDataset>& data);

/** The prefix of a further CSV column's entry in the "Colour by" box ("column: site"). */
QString sourceColumnPrefix();

/**
 * The columns' names as the "Colour by" box lists them (keys of colorPoints): the fixed ones, one
 * "quality: NAME" per quality column (FaceQuality.h), then one "column: NAME" per further CSV column
 * of the open preparation (`sourceColumnNames`).
 */
QStringList mapColumnNames(const std::vector<std::string>& sourceColumnNames = {});

/** One colour per face of `columns.data` for `column`, and the legend that explains them. Throws for an unknown column.
 */
struct MapColoring {
    std::vector<QRgb> colors;
    MapLegend legend;
    QString missing; // why the column cannot colour this dataset ("predict the ages first"), empty when it can
};
MapColoring colorPoints(const QString& column, const MapColumns& columns);

/** A perceptually even ramp (viridis) for t in 0..1. */
QColor viridis(double t);
/** The i-th colour of a palette of well-separated colours (Tableau 20). */
QColor categoryColor(int i);

} // namespace faceatlas::ui

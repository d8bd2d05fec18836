#include "MapColoring.h"

#include "data/ClusterSummaries.h"
#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "data/SourceColumns.h"
#include "ml/Calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <QObject>
#include <stdexcept>
#include <unordered_map>

namespace faceatlas::ui {

namespace {

constexpr QRgb kUnknown = 0xffc8c8c8; // a face without a value in the column

/** Colours for values in [low, high] (NaN grey), and the colour bar. */
MapColoring continuous(const std::vector<float>& values, const QString& title, double low, double high)
{
    MapColoring out;
    out.colors.reserve(values.size());
    const double span = std::max(1e-9, high - low);
    // A table of 256 colours: one lookup per face instead of an interpolation.
    QRgb table[256];
    for (int i = 0; i < 256; ++i)
        table[i] = viridis(i / 255.0).rgb();
    for (const float v : values) {
        if (!std::isfinite(v)) {
            out.colors.push_back(kUnknown);
            continue;
        }
        const double t = std::clamp((v - low) / span, 0.0, 1.0);
        out.colors.push_back(table[static_cast<int>(t * 255 + 0.5)]);
    }
    out.legend.title = title;
    out.legend.low = low;
    out.legend.high = high;
    out.legend.ramp = viridis;
    return out;
}

/** The p-th percentile of the finite values (NaN when there are none). */
double percentile(std::vector<float> values, double p)
{
    values.erase(std::remove_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); }), values.end());
    if (values.empty())
        return std::numeric_limits<double>::quiet_NaN();
    const size_t k = static_cast<size_t>(p * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
}

/**
 * A continuous column from its values, its range from the 1st to the 99th percentile (outliers
 * clamp) of `range` (the values themselves when null). No finite value: says so in `missing`.
 */
MapColoring continuousColumn(const std::vector<float>& values, const QString& title,
                             const std::vector<float>* range = nullptr)
{
    const std::vector<float>& r = range ? *range : values;
    const double low = percentile(r, 0.01), high = percentile(r, 0.99);
    if (!std::isfinite(low)) {
        MapColoring out = continuous(values, title, 0, 1);
        out.legend = {};
        out.missing = QObject::tr("no face of this dataset has a value in this column");
        return out;
    }
    return continuous(values, title, std::floor(low), std::max(std::ceil(high), std::floor(low) + 1));
}

MapColoring categorical(const std::vector<int>& category, const std::vector<std::pair<QColor, QString>>& entries,
                        const QString& title)
{
    MapColoring out;
    out.colors.reserve(category.size());
    for (const int c : category)
        out.colors.push_back(c >= 0 && c < static_cast<int>(entries.size()) ? entries[c].first.rgb() : kUnknown);
    out.legend.title = title;
    out.legend.entries = entries;
    return out;
}

/**
 * A further CSV column as categories: the 20 most frequent values (ties by value, so the colours do
 * not change between runs) each with its colour, every other value grey "other", an empty one the
 * lighter grey of an unknown value.
 */
MapColoring textColumn(const std::vector<std::string>& values, const QString& name)
{
    constexpr int kNamed = 20;
    std::unordered_map<std::string, size_t> counts;
    for (const std::string& v : values)
        if (!v.empty())
            ++counts[v];
    std::vector<std::pair<std::string, size_t>> byCount(counts.begin(), counts.end());
    std::sort(byCount.begin(), byCount.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    const bool hasOther = byCount.size() > static_cast<size_t>(kNamed);
    if (hasOther)
        byCount.resize(kNamed);
    std::unordered_map<std::string, int> category;
    std::vector<std::pair<QColor, QString>> entries;
    for (const auto& [value, count] : byCount) {
        category.emplace(value, static_cast<int>(entries.size()));
        entries.emplace_back(categoryColor(static_cast<int>(entries.size())),
                             QObject::tr("%1 (%2)").arg(QString::fromStdString(value)).arg(count));
    }
    const int other = static_cast<int>(entries.size());
    if (hasOther)
        entries.emplace_back(QColor(120, 120, 120), QObject::tr("other"));
    std::vector<int> codes;
    codes.reserve(values.size());
    bool unknown = false;
    for (const std::string& v : values) {
        if (v.empty()) {
            codes.push_back(-1);
            unknown = true;
            continue;
        }
        const auto it = category.find(v);
        codes.push_back(it != category.end() ? it->second : other);
    }
    if (unknown)
        entries.emplace_back(QColor::fromRgb(kUnknown), QObject::tr("unknown"));
    MapColoring out = categorical(codes, entries, name);
    if (entries.empty())
        out.missing = QObject::tr("no face of this dataset has a value in this column");
    return out;
}

} // namespace

QString sourceColumnPrefix()
{
    return QObject::tr("column: ");
}

QString qualityColumnPrefix()
{
    return QObject::tr("quality: ");
}

std::shared_ptr<const FaceQuality> qualityOf(const std::shared_ptr<const PreparedDataset>& data)
{
    static std::mutex mutex;
    static std::weak_ptr<const PreparedDataset> cachedFor;
    static std::shared_ptr<const FaceQuality> cached;
    const std::lock_guard lock(mutex);
    if (!data)
        return std::make_shared<const FaceQuality>();
    if (cachedFor.lock() != data || !cached) {
        cached = std::make_shared<const FaceQuality>(readPreparedQuality(*data));
        cachedFor = data;
    }
    return cached;
}

namespace {

/** A colouring that cannot be made yet: every face grey, and what to do about it. */
MapColoring missingColumn(size_t n, const QString& column, const QString& why)
{
    MapColoring out = categorical(std::vector<int>(n, -1), {}, column);
    out.missing = why;
    return out;
}

template <class Column>
bool hasAll(const std::shared_ptr<Column>& column, size_t n)
{
    return column && column->size() == n && n > 0;
}

std::vector<float> trueAges(const PreparedDataset& data)
{
    std::vector<float> ages(data.count(), std::numeric_limits<float>::quiet_NaN());
    for (size_t i = 0; i < ages.size(); ++i)
        if (data.records()[i].age)
            ages[i] = static_cast<float>(*data.records()[i].age);
    return ages;
}

QString predictFirst()
{
    return QObject::tr("predict the ages first (Dataset page, Predict ages)");
}

MapColoring byTrueAge(const MapColumns& c, const QString&)
{
    return continuousColumn(trueAges(*c.data), QObject::tr("true age (years)"));
}

MapColoring byPredictedAge(const MapColumns& c, const QString& column)
{
    const size_t n = c.data->count();
    if (!hasAll(c.predictions, n))
        return missingColumn(n, column, predictFirst());
    // On the true ages' scale, so that the two colourings compare.
    const std::vector<float> ages = trueAges(*c.data);
    return continuousColumn(*c.predictions, QObject::tr("predicted age (years)"), &ages);
}

MapColoring byAgeError(const MapColumns& c, const QString& column)
{
    const size_t n = c.data->count();
    if (!hasAll(c.predictions, n))
        return missingColumn(n, column, predictFirst());
    std::vector<float> values = trueAges(*c.data);
    for (size_t i = 0; i < n; ++i)
        values[i] = std::abs((*c.predictions)[i] - values[i]); // NaN where the age is unknown
    return continuousColumn(values, QObject::tr("|predicted - true| (years)"));
}

MapColoring byCluster(const MapColumns& c, const QString& column)
{
    const size_t n = c.data->count();
    if (!hasAll(c.clusters, n))
        return missingColumn(n, column, QObject::tr("cluster the codes first (Clusters page)"));
    int k = 0;
    bool outside = false;
    for (const int cluster : *c.clusters) {
        k = std::max(k, cluster + 1);
        outside = outside || cluster < 0;
    }
    std::vector<std::pair<QColor, QString>> entries;
    // Each cluster by its number and name (or automatic label), as the Clusters page and the grid's filter name it.
    const auto* names = c.clusterNames.get();
    for (int cluster = 0; cluster < k; ++cluster)
        entries.emplace_back(categoryColor(cluster),
                             names && static_cast<size_t>(cluster) < names->clusters.size()
                                 ? QStringLiteral("%1 · %2").arg(cluster).arg(
                                     QString::fromStdString(names->clusters[static_cast<size_t>(cluster)].shown()))
                                 : QObject::tr("cluster %1").arg(cluster));
    return categorical(*c.clusters, entries,
                       outside ? QObject::tr("cluster (grey: not clustered)") : QObject::tr("cluster"));
}

MapColoring byGender(const MapColumns& c, const QString&)
{
    const auto& records = c.data->records();
    std::vector<int> category(records.size(), -1);
    for (size_t i = 0; i < records.size(); ++i)
        category[i] = records[i].gender == Gender::Female ? 0 : (records[i].gender == Gender::Male ? 1 : -1);
    return categorical(category,
                       {{QColor(220, 80, 60), QObject::tr("female")}, {QColor(40, 110, 200), QObject::tr("male")}},
                       QObject::tr("gender (grey: unknown)"));
}

MapColoring bySplit(const MapColumns& c, const QString&)
{
    std::vector<int> category(c.data->count(), 0);
    for (const auto i : c.data->valIndices())
        if (i < category.size())
            category[i] = 1;
    return categorical(
        category, {{QColor(150, 150, 150), QObject::tr("training")}, {QColor(230, 120, 20), QObject::tr("validation")}},
        QObject::tr("split"));
}

MapColoring byFaceScore(const MapColumns& c, const QString&)
{
    const auto& records = c.data->records();
    std::vector<float> values(records.size());
    for (size_t i = 0; i < records.size(); ++i)
        values[i] = std::isfinite(records[i].faceScore) ? static_cast<float>(records[i].faceScore) : NAN;
    return continuousColumn(values, QObject::tr("face score"));
}

MapColoring bySuspicion(const MapColumns& c, const QString& column)
{
    const size_t n = c.data->count();
    if (!hasAll(c.suspicion, n))
        return missingColumn(n, column, QObject::tr("audit the labels first (Review page)"));
    return continuousColumn(*c.suspicion, QObject::tr("suspicion score"));
}

/** The uncertainty of the predicted age: the width of the calibrated 80% interval. */
MapColoring byUncertainty(const MapColumns& c, const QString& column)
{
    const size_t n = c.data->count();
    if (!hasAll(c.predictions, n))
        return missingColumn(n, column, predictFirst());
    std::vector<float> values(n, std::numeric_limits<float>::quiet_NaN());
    if (hasAll(c.spreads, n))
        for (size_t i = 0; i < n; ++i)
            values[i] = static_cast<float>(2 * kInterval80 * (*c.spreads)[i]); // NaN stays NaN
    if (std::none_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
        return missingColumn(n, column,
                             QObject::tr("the age run was trained before FaceAtlas calibrated its spread: train it "
                                         "again for an interval"));
    return continuousColumn(values, QObject::tr("width of the 80% interval (years)"));
}

/** The neighbourhood kept by the map: where the map can be trusted. */
MapColoring byPreservation(const MapColumns& c, const QString& column)
{
    const size_t n = c.data->count();
    if (!hasAll(c.preserved, n))
        return missingColumn(n, column,
                             QObject::tr("this map was made before FaceAtlas scored it: compute the map again"));
    // Fixed ends, so that two maps compare: 0 (none of a face's 10 nearest codes nearby) to 1 (all).
    return continuous(*c.preserved, QObject::tr("share of its 10 nearest codes kept nearby"), 0, 1);
}

/** The built-in colourings, in the order of the Colour by list: one row each. */
struct BuiltInColumn {
    const char* name; // translated with QObject::tr
    MapColoring (*color)(const MapColumns&, const QString& column);
};

const BuiltInColumn kBuiltInColumns[] = {
    {QT_TR_NOOP("true age"), byTrueAge},
    {QT_TR_NOOP("predicted age"), byPredictedAge},
    {QT_TR_NOOP("age error"), byAgeError},
    {QT_TR_NOOP("cluster"), byCluster},
    {QT_TR_NOOP("gender"), byGender},
    {QT_TR_NOOP("split"), bySplit},
    {QT_TR_NOOP("face score"), byFaceScore},
    {QT_TR_NOOP("suspicion"), bySuspicion},
    {QT_TR_NOOP("uncertainty of the predicted age"), byUncertainty},
    {QT_TR_NOOP("neighbourhood kept by the map"), byPreservation},
};

} // namespace

QStringList mapColumnNames(const std::vector<std::string>& sourceColumnNames)
{
    QStringList names;
    for (const BuiltInColumn& c : kBuiltInColumns)
        names << QObject::tr(c.name);
    for (const QualityColumn& q : qualityColumns())
        names << qualityColumnPrefix() + QString::fromUtf8(q.name);
    for (const std::string& name : sourceColumnNames)
        names << sourceColumnPrefix() + QString::fromStdString(name);
    return names;
}

QColor viridis(double t)
{
    // Viridis at nine stops, linearly interpolated.
    static const int stops[9][3] = {{68, 1, 84},    {71, 44, 122}, {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
                                    {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37}};
    t = std::clamp(t, 0.0, 1.0) * 8;
    const int i = std::min(7, static_cast<int>(t));
    const double f = t - i;
    const auto mix = [&](int c) { return static_cast<int>(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]) + 0.5); };
    return QColor(mix(0), mix(1), mix(2));
}

QColor categoryColor(int i)
{
    static const QRgb palette[20] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2,
                                     0x7f7f7f, 0xbcbd22, 0x17becf, 0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896,
                                     0xc5b0d5, 0xc49c94, 0xf7b6d2, 0xc7c7c7, 0xdbdb8d, 0x9edae5};
    return QColor::fromRgb(palette[((i % 20) + 20) % 20]);
}

MapColoring colorPoints(const QString& column, const MapColumns& columns)
{
    const PreparedDataset* data = columns.data.get();
    if (!data)
        return {};
    const size_t n = data->count();
    if (column.startsWith(sourceColumnPrefix())) {
        const std::string name = column.mid(sourceColumnPrefix().size()).toStdString();
        const SourceColumns* source = columns.sourceColumns.get();
        const int k = source ? source->find(name) : -1;
        if (k < 0 || source->rows.size() != n)
            throw std::invalid_argument("the open dataset has no column '" + name + "'");
        return textColumn(source->values(static_cast<size_t>(k)), QString::fromStdString(name));
    }
    if (column.startsWith(qualityColumnPrefix())) {
        // Measured on the stored faces at prepare: a continuous column, its colours from the 1st to
        // the 99th percentile; a preparation from before them says how to get them.
        const std::string name = column.mid(qualityColumnPrefix().size()).toStdString();
        const FaceQuality* quality = columns.quality.get();
        const int k = quality ? quality->find(name) : -1;
        if (k < 0 || quality->rows != n) {
            MapColoring out = categorical(std::vector<int>(n, -1), {}, column);
            out.missing = QString::fromStdString(noQualityMessage(*data));
            return out;
        }
        const int which = qualityColumnIndex(name);
        const QString title = which >= 0 && !qualityColumns()[static_cast<size_t>(which)].higherIsBetter
                                  ? QObject::tr("%1 (higher: worse)").arg(QString::fromStdString(name))
                                  : QString::fromStdString(name);
        return continuousColumn(quality->column(static_cast<size_t>(k)), title);
    }
    for (const BuiltInColumn& c : kBuiltInColumns)
        if (column == QObject::tr(c.name))
            return c.color(columns, column);
    throw std::invalid_argument("no map column '" + column.toStdString() + "'");
}

} // namespace faceatlas::ui

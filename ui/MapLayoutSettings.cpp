#include "MapLayoutSettings.h"

#include "ml/ApproximateKnn.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>

#include <algorithm>
#include <thread>

namespace faceatlas::ui {

namespace {

/** A number of map.json's settings, or `fallback` when absent or not a number (older maps). */
double setting(const nlohmann::json& s, const char* key, double fallback)
{
    return s.is_object() && s.contains(key) && s.at(key).is_number() ? s.at(key).get<double>() : fallback;
}

} // namespace

MapLayoutSettings::MapLayoutSettings(QWidget* parent)
    : QWidget(parent)
{
    const EmbeddingParams defaults;
    m_neighbors = new QSpinBox;
    m_neighbors->setObjectName("mapNeighbors");
    m_neighbors->setRange(2, 200);
    m_neighbors->setValue(defaults.neighbors);
    m_neighbors->setToolTip(tr("The neighbourhood the layout follows, the face itself counted (as UMAP's "
                               "n_neighbors): fewer keep small groups apart, more keep the overall shape"));
    m_minDist = new QDoubleSpinBox;
    m_minDist->setObjectName("mapMinDist");
    m_minDist->setRange(0.0, 1.0);
    m_minDist->setSingleStep(0.05);
    m_minDist->setDecimals(3);
    m_minDist->setValue(defaults.minDist);
    m_minDist->setToolTip(tr("How tightly neighbours may pack on the map (UMAP's min_dist): lower makes "
                             "tighter clumps"));
    m_epochs = new QSpinBox;
    m_epochs->setObjectName("mapEpochs");
    m_epochs->setRange(0, 5000);
    m_epochs->setSpecialValueText(tr("auto"));
    m_epochs->setToolTip(tr("Layout epochs; auto: 500 up to 10,000 faces, 200 up to 100,000, then 120"));
    m_seed = new QSpinBox;
    m_seed->setObjectName("mapSeed");
    m_seed->setRange(0, 1 << 30);
    m_seed->setValue(static_cast<int>(defaults.seed));
    m_seed->setToolTip(tr("The same seed and settings give the same map"));
    m_threads = new QSpinBox;
    m_threads->setObjectName("mapThreads");
    m_threads->setRange(1, std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
    m_threads->setValue(1);
    m_threads->setToolTip(tr("Threads for the neighbour search and the layout: 1 gives the same map for the same "
                             "seed; more are faster on large data (about 1.7x on two cores) but the map then "
                             "differs a little from run to run"));
    m_search = new QComboBox;
    m_search->setObjectName("mapSearch");
    m_search->addItem(tr("auto"), QStringLiteral("auto"));
    m_search->addItem(tr("exact"), QStringLiteral("exact"));
    m_search->addItem(tr("approximate (HNSW)"), QStringLiteral("hnsw"));
    m_search->setToolTip(tr("How the neighbours are found: exact, or approximate (HNSW; much faster on large "
                            "data, its recall is recorded); auto: approximate from %L1 faces")
                             .arg(kApproximateKnnFrom));
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(0, 0, 0, 0);
    const auto add = [row](const QString& label, QWidget* w) {
        row->addWidget(new QLabel(label));
        row->addWidget(w);
        row->addSpacing(8);
    };
    add(tr("Neighbours"), m_neighbors);
    add(tr("Min. distance"), m_minDist);
    add(tr("Epochs"), m_epochs);
    add(tr("Seed"), m_seed);
    add(tr("Search"), m_search);
    add(tr("Threads"), m_threads);
    row->addStretch();
}

EmbeddingParams MapLayoutSettings::params() const
{
    EmbeddingParams p;
    p.neighbors = m_neighbors->value();
    p.minDist = m_minDist->value();
    p.epochs = m_epochs->value();
    p.seed = static_cast<std::uint64_t>(m_seed->value());
    p.knn = m_search->currentData().toString().toStdString();
    p.threads = m_threads->value();
    return p;
}

void MapLayoutSettings::showRecorded(const nlohmann::json& s)
{
    if (!s.is_object() || !s.contains("neighbors"))
        return; // a PCA map: no layout parameters
    m_neighbors->setValue(static_cast<int>(setting(s, "neighbors", m_neighbors->value())));
    m_minDist->setValue(setting(s, "min_dist", 0.1)); // maps before the setting used 0.1
    m_epochs->setValue(static_cast<int>(setting(s, "epochs", 0)));
    m_seed->setValue(static_cast<int>(setting(s, "seed", m_seed->value())));
    m_threads->setValue(static_cast<int>(setting(s, "threads", 1)));
    if (s.contains("knn") && s.at("knn").is_object() && s.at("knn").contains("method")
        && s.at("knn").at("method").is_string()) {
        const int i = m_search->findData(QString::fromStdString(s.at("knn").at("method").get<std::string>()));
        if (i >= 0)
            m_search->setCurrentIndex(i);
    }
}

QString MapLayoutSettings::describe(const nlohmann::json& s)
{
    if (!s.is_object() || !s.contains("neighbors"))
        return {};
    QString text = tr("%1 neighbours, min. distance %2, %3 epochs, seed %4")
                       .arg(static_cast<int>(setting(s, "neighbors", 0)))
                       .arg(setting(s, "min_dist", 0.1))
                       .arg(static_cast<int>(setting(s, "epochs", 0)))
                       .arg(static_cast<qlonglong>(setting(s, "seed", 0)));
    if (s.contains("knn") && s.at("knn").is_object() && s.at("knn").contains("method")) {
        const auto& knn = s.at("knn");
        if (knn.at("method") == "hnsw" && knn.contains("recall") && knn.at("recall").contains("value"))
            text += tr(", approximate graph (recall %1)").arg(setting(knn.at("recall"), "value", 0), 0, 'f', 3);
        else if (knn.at("method") == "exact")
            text += tr(", exact graph");
        const double variance = setting(knn, "variance", 1.0);
        if (variance < 1.0)
            text += tr(" in %1 principal components (%2% of the variance)")
                        .arg(static_cast<int>(setting(knn, "dims", 0)))
                        .arg(100 * variance, 0, 'f', 1);
    }
    return text;
}

} // namespace faceatlas::ui

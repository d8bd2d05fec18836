#include "SimilarFacesPanel.h"

#include "analysis/EncodeImage.h"
#include "data/PreparedDataset.h"
#include "InteractiveLane.h"
#include "JobRunner.h"
#include "ml/ExactKnn.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "Session.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <QComboBox>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QVBoxLayout>

namespace faceatlas::ui {

namespace {

QString similarHint()
{
    return SimilarFacesPanel::tr("<b>More like this</b>: right-click a face, or drop an image file on the window.");
}

constexpr int kSimilar = 24;

} // namespace

/** The vectors "more like this" compares: the codes, or an age model's features of every face. */
struct SearchSpace {
    VectorSet values;                   // [N, D]
    QString run;                        // the model that turns a dropped image into such a vector
    QString name;                       // for the panel: "code space"
    std::shared_ptr<const Codes> codes; // keeps mapped codes alive while `values` views them
};

SimilarFacesPanel::SimilarFacesPanel(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    setObjectName("similarFacesPanel");
    m_similarLabel = new QLabel(similarHint());
    m_similarLabel->setWordWrap(true);
    m_space = new QComboBox;
    m_space->setObjectName("similarSpace");
    m_space->addItem(tr("by their codes (autoencoder)"));
    m_space->addItem(tr("by the age model's features"));
    m_space->setToolTip(tr("What \"more like this\" compares: the autoencoder's codes, or the features the latest "
                           "age model's last conv layer computes (a pass over every face, once)"));
    connect(m_space, &QComboBox::currentIndexChanged, this, [this] {
        // The same question in the other space.
        if (m_lastQueryRow >= 0)
            similarTo(m_lastQueryRow);
        else if (!m_lastQueryFile.isEmpty())
            similarToImage(m_lastQueryFile);
    });
    m_similarList = new QListWidget;
    m_similarList->setObjectName("similar");
    m_similarList->setViewMode(QListView::IconMode);
    m_similarList->setIconSize(QSize(56, 56));
    m_similarList->setGridSize(QSize(70, 84));
    m_similarList->setResizeMode(QListView::Adjust);
    m_similarList->setMovement(QListView::Static);
    connect(m_similarList, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { Q_EMIT faceClicked(item->data(Qt::UserRole).toLongLong()); });
    connect(m_similarList, &QListWidget::itemDoubleClicked, this,
            [this](QListWidgetItem* item) { Q_EMIT faceChosen(item->data(Qt::UserRole).toLongLong()); });
    auto* part = new QVBoxLayout(this);
    part->setContentsMargins(0, 0, 0, 0);
    part->addWidget(m_similarLabel);
    part->addWidget(m_space);
    part->addWidget(m_similarList, 1);
}

SimilarFacesPanel::~SimilarFacesPanel() = default;

void SimilarFacesPanel::setCodes(std::shared_ptr<const Codes> codes)
{
    m_codes = std::move(codes);
}

void SimilarFacesPanel::clear()
{
    m_codes.reset();
    m_features.reset();
    m_similar.clear();
    m_similarList->clear();
    m_lastQueryRow = -1;
    m_lastQueryFile.clear();
    m_similarLabel->setText(similarHint());
}

std::shared_ptr<const SearchSpace> SimilarFacesPanel::searchSpace(const std::function<void()>& retry)
{
    if (m_space->currentIndex() == 0) {
        if (!m_codes) {
            m_similarLabel->setText(tr("Compute or open a map first: faces are compared by their codes."));
            return nullptr;
        }
        auto space = std::make_shared<SearchSpace>();
        space->codes = m_codes;
        space->values = VectorSet(m_codes->tensor());
        space->run = QString::fromStdString(m_codes->runDir().string());
        space->name = tr("code space");
        return space;
    }
    // The latest age model's features: computed once per run and dataset, as a job (a forward pass
    // over every face), then searched on the lane like the codes.
    const QString run = m_session->latestAgeRun();
    if (run.isEmpty() || !m_session->sharedDataset()) {
        m_similarLabel->setText(tr("Train an age model first (Train page) to compare faces by its features."));
        return nullptr;
    }
    if (const QString why = m_session->runMismatch(run); !why.isEmpty()) {
        m_similarLabel->setText(tr("The latest age model cannot read these faces: %1").arg(why));
        return nullptr;
    }
    if (m_features && m_features->run == run)
        return m_features;
    computeFeatures(run, retry);
    return nullptr;
}

void SimilarFacesPanel::computeFeatures(const QString& run, const std::function<void()>& retry)
{
    const auto data = m_session->sharedDataset();
    auto features = std::make_shared<SearchSpace>();
    features->run = run;
    features->name = tr("the age model's feature space");
    const auto job = [features, data](const CancelToken& cancel, const JobRunner::Report& report) {
        LoadedModel loaded = loadRunModel(features->run.toStdString());
        features->values =
            VectorSet(embedDataset(*loaded.model, *data, resolveDevice("auto"), cancel,
                                   [&](const JobProgress& p) { report(QString::fromUtf8(p.stage), p.done, p.total); }));
        return !features->values.empty();
    };
    const auto done = [this, features, data, retry](bool ok, bool cancelled, const QString& error) {
        if (!ok) {
            m_similarLabel->setText(tr("The age model's features could not be computed: %1").arg(error));
        } else if (!cancelled && data == m_session->sharedDataset()) {
            m_features = features;
            retry();
        }
    };
    m_similarLabel->setText(tr("Computing every face's features with the latest age model (once)..."));
    if (!m_session->jobs()->start(tr("Computing age-model features"), job, done))
        m_similarLabel->setText(
            tr("Cannot compute the age model's features now. %1").arg(m_session->jobs()->busyReason()));
}

void SimilarFacesPanel::similarTo(qint64 row)
{
    m_lastQueryRow = row;
    m_lastQueryFile.clear();
    const auto space = searchSpace([this, row] { similarTo(row); });
    if (!space || row < 0 || row >= space->values.count())
        return;
    m_similarLabel->setText(tr("<b>More like face %1</b> (distance in %2):").arg(row).arg(space->name));
    Q_EMIT queryMarked(row);
    m_session->lane()->submit<Neighbours>(
        QStringLiteral("map-similar"), this, [space, row] { return space->values.nearestToRow(row, kSimilar); },
        [this](Neighbours found) { showSimilar(found.indices, found.distances); },
        [this](const QString& error) { m_similarLabel->setText(tr("Cannot search: %1").arg(error)); });
}

void SimilarFacesPanel::showSimilar(const std::vector<std::int64_t>& rows, const std::vector<float>& distances)
{
    m_similar.assign(rows.begin(), rows.end());
    m_similarList->clear();
    for (size_t i = 0; i < rows.size() && i < distances.size(); ++i) {
        auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(m_session->face(rows[i]))),
                                         QString::number(distances[i], 'f', 2));
        item->setData(Qt::UserRole, static_cast<qint64>(rows[i]));
        item->setToolTip(tr("face %1, distance %2").arg(rows[i]).arg(distances[i]));
        m_similarList->addItem(item);
    }
    Q_EMIT resultsShown(m_similar);
}

void SimilarFacesPanel::similarToImage(const QString& file)
{
    m_lastQueryRow = -1;
    m_lastQueryFile = file;
    const auto space = searchSpace([this, file] { similarToImage(file); });
    if (!space)
        return;
    m_similarLabel->setText(
        tr("<b>More like %1</b> (distance in %2):").arg(QFileInfo(file).fileName().toHtmlEscaped(), space->name));
    Q_EMIT queryMarked(-1);
    InteractiveLane* lane = m_session->lane();
    m_session->lane()->submit<Neighbours>(
        QStringLiteral("map-similar"), this,
        [space, file, lane] {
            const auto model = lane->model(space->run);
            std::vector<float> v =
                embedImageFile(*model->model, parseFraming(checkpointFraming(model->metaJson)), file.toStdString());
            if (static_cast<int64_t>(v.size()) != space->values.dim())
                throw Error(displayPath(space->run.toStdString()) + " does not make the vectors of this search");
            return space->values.nearestTo(v, kSimilar);
        },
        [this](Neighbours found) { showSimilar(found.indices, found.distances); },
        [this](const QString& error) { m_similarLabel->setText(tr("Cannot search: %1").arg(error)); });
}

} // namespace faceatlas::ui

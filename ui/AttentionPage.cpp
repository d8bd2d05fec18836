#include "AttentionPage.h"

#include "data/Overlay.h"
#include "data/PreparedDataset.h"
#include "InteractiveLane.h"
#include "ml/Attention.h"
#include "ml/ModelKinds.h"
#include "ml/Runs.h"
#include "Session.h"

#include <QComboBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <stdexcept>

namespace faceatlas::ui {

namespace {
/** The run list's item data: whether the run is of an autoencoder kind (ModelRole), not read from its text. */
constexpr int kIsAutoencoderRole = Qt::UserRole + 1;
} // namespace

AttentionPage::AttentionPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    QLayout* left = buildSettingsPanel();
    QLayout* pictures = buildPicturesPanel();
    auto* layout = new QHBoxLayout(this);
    layout->addLayout(left);
    layout->addLayout(pictures, 1);
    refreshRuns();
    connectSession(session);
    connectSettings();
}

QLayout* AttentionPage::buildSettingsPanel()
{
    m_run = new QComboBox;
    m_run->setObjectName(QStringLiteral("attentionRun"));
    m_face = new QSpinBox;
    m_face->setRange(0, 0);
    m_cluster = new QSpinBox;
    m_cluster->setRange(-1, 999);
    m_cluster->setValue(-1);
    m_cluster->setSpecialValueText(tr("this face only"));
    m_cluster->setToolTip(tr("Average the signed Grad-CAM over every face of a cluster (Clusters page)"));
    m_method = new QComboBox;
    m_method->setObjectName("attentionMap");
    m_method->addItem(tr("Signed Grad-CAM for age"), "gradcam");
    m_method->addItem(tr("Feature maps of a conv layer"), "features");
    m_method->addItem(tr("Autoencoder code layer"), "code");
    m_layer = new QComboBox;
    m_channel = new QSpinBox;
    m_channel->setRange(-1, 1023);
    m_channel->setValue(-1);
    m_channel->setSpecialValueText(tr("mean of channels"));
    m_opacity = new QSlider(Qt::Horizontal);
    m_opacity->setRange(0, 100);
    m_opacity->setValue(55);
    m_colormap = new QComboBox;
    m_colormap->addItems({"jet", "viridis", "inferno"});
    auto* exportButton = new QPushButton(tr("Export PNG..."));
    connect(exportButton, &QPushButton::clicked, this, &AttentionPage::exportOverlay);
    auto* form = new QFormLayout;
    form->addRow(tr("Model run"), m_run);
    form->addRow(tr("Face"), m_face);
    form->addRow(tr("Whole cluster"), m_cluster);
    form->addRow(tr("Map"), m_method);
    form->addRow(tr("Layer"), m_layer);
    form->addRow(tr("Channel"), m_channel);
    form->addRow(tr("Opacity"), m_opacity);
    form->addRow(tr("Colour map"), m_colormap);
    form->addRow(exportButton);
    m_status = new QLabel;
    m_status->setWordWrap(true);
    auto* left = new QVBoxLayout;
    left->addLayout(form);
    left->addWidget(m_status);
    left->addStretch();
    return left;
}

QLayout* AttentionPage::buildPicturesPanel()
{
    m_original = new QLabel;
    m_overlay = new QLabel;
    for (QLabel* l : {m_original, m_overlay}) {
        l->setMinimumSize(320, 320);
        l->setAlignment(Qt::AlignCenter);
        l->setFrameShape(QFrame::StyledPanel);
    }
    m_colorBar = new QLabel;
    m_colorBar->setObjectName("colorBar");
    m_colorBar->setAlignment(Qt::AlignCenter);
    m_scaleText = new QLabel;
    m_scaleText->setObjectName("colorScale");
    m_scaleText->setAlignment(Qt::AlignCenter);
    m_faceCaption = new QLabel;
    m_faceCaption->setObjectName("faceCaption");
    m_faceCaption->setWordWrap(true);
    m_faceCaption->setAlignment(Qt::AlignCenter);
    auto* pictures = new QGridLayout;
    pictures->addWidget(m_original, 0, 0);
    pictures->addWidget(m_overlay, 0, 1);
    pictures->addWidget(m_faceCaption, 1, 0);
    auto* scale = new QVBoxLayout;
    scale->addWidget(m_colorBar);
    scale->addWidget(m_scaleText);
    pictures->addLayout(scale, 1, 1);
    pictures->setRowStretch(0, 1);
    return pictures;
}

void AttentionPage::refreshRuns()
{
    const QString current = m_run->currentData().toString();
    m_run->clear();
    for (const ModelKindInfo& kind : modelKinds()) {
        const QString model = QString::fromUtf8(kind.name);
        const QString dir = m_session->latestRun(model);
        if (dir.isEmpty())
            continue;
        m_run->addItem(QStringLiteral("%1 (%2)").arg(model, QFileInfo(dir).fileName()), dir);
        m_run->setItemData(m_run->count() - 1, kind.role == ModelRole::Autoencoder, kIsAutoencoderRole);
    }
    const int at = m_run->findData(current);
    if (at >= 0)
        m_run->setCurrentIndex(at);
}

void AttentionPage::connectSession(Session* session)
{
    connect(session, &Session::runsChanged, this, &AttentionPage::refreshRuns);
    connect(session, &Session::datasetAboutToChange, this, &AttentionPage::forgetMap);
    connect(session, &Session::datasetChanged, this, [this] {
        const auto* data = m_session->dataset();
        {
            QSignalBlocker block(m_face);
            m_face->setRange(0, data && data->count() > 0 ? static_cast<int>(data->count()) - 1 : 0);
        }
        render();
    });
}

void AttentionPage::forgetMap()
{
    m_overlayImage = QImage();
    m_background = QImage();
    m_map.clear();
    m_original->clear();
    m_overlay->clear();
    m_faceCaption->clear();
    m_colorBar->clear();
    m_scaleText->clear();
}

void AttentionPage::connectSettings()
{
    connect(m_run, &QComboBox::currentIndexChanged, this, [this] {
        if (!followRunKind())
            render();
    });
    followRunKind(); // the runs were listed before the connection
    connect(m_face, &QSpinBox::valueChanged, this, [this] { render(); });
    connect(m_cluster, &QSpinBox::valueChanged, this, [this] {
        followClusterMode();
        render();
    });
    connect(m_method, &QComboBox::currentIndexChanged, this, &AttentionPage::followMethod);
    connect(m_layer, &QComboBox::currentIndexChanged, this, [this] { render(); });
    connect(m_channel, &QSpinBox::valueChanged, this, [this] { render(); });
    // Opacity and colour map change only the blend of the map already computed.
    connect(m_opacity, &QSlider::valueChanged, this, [this] { blend(); });
    connect(m_colormap, &QComboBox::currentIndexChanged, this, [this] { blend(); });
}

void AttentionPage::followMethod()
{
    // The code map is the autoencoder's: switch to the latest autoencoder run rather than refuse.
    const bool code = m_method->currentData().toString() == "code";
    const bool onAutoencoder = m_run->currentData(kIsAutoencoderRole).toBool();
    if (code && !onAutoencoder)
        for (int i = 0; i < m_run->count(); ++i)
            if (m_run->itemData(i, kIsAutoencoderRole).toBool()) {
                m_run->setCurrentIndex(i); // renders
                return;
            }
    render();
}

void AttentionPage::exportOverlay()
{
    if (m_overlayImage.isNull()) {
        m_status->setText(tr("Nothing to export yet: choose a face and a map first."));
        return;
    }
    const QString file = QFileDialog::getSaveFileName(this, tr("Export overlay"), "attention.png", tr("PNG (*.png)"));
    if (!file.isEmpty())
        m_overlayImage.save(file);
}

AttentionPage::~AttentionPage() = default;

void AttentionPage::setFace(qint64 index)
{
    m_face->setValue(static_cast<int>(index));
}

void AttentionPage::setCluster(int cluster)
{
    m_cluster->setValue(cluster);
}

bool AttentionPage::followRunKind()
{
    // Grad-CAM for age needs an age model: on an autoencoder run draw its code layer rather than an
    // error. The method's handler renders.
    if (!m_run->currentData(kIsAutoencoderRole).toBool() || m_method->currentData().toString() != "gradcam"
        || m_cluster->value() >= 0)
        return false;
    m_method->setCurrentIndex(m_method->findData("code"));
    return true;
}

void AttentionPage::followClusterMode()
{
    // A whole cluster is drawn as its averaged signed Grad-CAM: the Map shows that, and cannot be
    // changed until one face is chosen again (the choice made before comes back then).
    const bool cluster = m_cluster->value() >= 0;
    const QSignalBlocker block(m_method);
    if (cluster && m_method->isEnabled()) {
        m_methodBeforeCluster = m_method->currentIndex();
        m_method->setCurrentIndex(m_method->findData("gradcam"));
    } else if (!cluster && !m_method->isEnabled() && m_methodBeforeCluster >= 0) {
        m_method->setCurrentIndex(m_methodBeforeCluster);
    }
    m_method->setEnabled(!cluster);
    m_method->setToolTip(cluster ? tr("A whole cluster is shown as its averaged signed Grad-CAM; choose \"this face "
                                      "only\" under Whole cluster for the other maps")
                                 : QString());
}

int AttentionPage::pictureSide() const
{
    // As large as the panels allow (a 64 px face is not left small in a large empty frame).
    return std::clamp(
        std::min({m_original->width(), m_original->height(), m_overlay->width(), m_overlay->height()}) - 8, 320, 900);
}

QString AttentionPage::statusText() const
{
    return m_status->text();
}

/** A map the lane computed, with what the page shows beside it. */
struct AttentionResult {
    QImage background;
    std::vector<float> map;
    bool isSigned = false;
    std::string layer;
    float predictedAge = 0;
    QStringList layers;
    qint64 ms = 0;
};

namespace {

/**
 * On the lane: the map of `params` for one face (members empty) or a cluster's average face, by the
 * run's model (loaded once by the lane). A layer the model lacks falls back to its last one.
 */
AttentionResult computeAttention(InteractiveLane* lane, const QString& run, const PreparedDataset& data, int faceIndex,
                                 AttentionParams params, const std::vector<std::int64_t>& members, const QImage& face)
{
    QElapsedTimer timer;
    timer.start();
    const auto loaded = lane->model(run);
    FaceModelImpl& model = *loaded->model;
    const int s = data.imageSize();
    if (model.imageSize() != s)
        throw std::runtime_error(QObject::tr("This run was trained at %1 px; the dataset is %2 px.")
                                     .arg(model.imageSize())
                                     .arg(s)
                                     .toStdString());
    AttentionResult result;
    for (const auto& layer : model.featureLayers())
        result.layers << QString::fromStdString(layer);
    if (params.method != AttentionMethod::Code && !result.layers.contains(QString::fromStdString(params.layer)))
        params.layer = result.layers.isEmpty() ? std::string() : result.layers.back().toStdString();
    const AttentionPicture picture = members.empty()
                                         ? faceAttention(model, data, static_cast<size_t>(faceIndex), params)
                                         : clusterAttention(model, data, members, params.layer);
    result.background = members.empty() ? face : rgbImage(picture.background.data(), s, s);
    result.map = picture.values;
    result.isSigned = picture.isSigned;
    result.layer = picture.layer;
    result.predictedAge = picture.predictedAge;
    result.ms = timer.elapsed();
    return result;
}

} // namespace

void AttentionPage::showCaption(const PreparedDataset& data, int faceIndex)
{
    const Record& r = data.records()[static_cast<size_t>(faceIndex)];
    m_faceCaption->setText(m_cluster->value() >= 0 ? tr("The average face of cluster %1").arg(m_cluster->value())
                                                   : tr("Face %1: %2, age %3")
                                                         .arg(faceIndex)
                                                         .arg(QFileInfo(QString::fromStdString(r.path)).fileName())
                                                         .arg(r.age ? QString::number(*r.age) : tr("unknown")));
}

bool AttentionPage::chosenClusterMembers(std::vector<std::int64_t>& members)
{
    members.clear();
    if (m_cluster->value() < 0)
        return true;
    const std::vector<qint64> all = m_session->clusterMembers(m_cluster->value());
    members.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(all.size(), 256)));
    if (!members.empty())
        return true;
    m_overlay->clear();
    m_status->setText(
        tr("No faces of the open dataset are in cluster %1 (cluster the open dataset on the Clusters page).")
            .arg(m_cluster->value()));
    return false;
}

bool AttentionPage::render()
{
    const auto data = m_session->sharedDataset();
    if (!data) {
        m_status->setText(tr("Open and prepare a dataset first."));
        return false;
    }
    if (data->count() == 0) {
        m_original->clear();
        m_overlay->clear();
        m_status->setText(tr("The open dataset has no faces."));
        return false;
    }
    const QString run = m_run->currentData().toString();
    if (run.isEmpty()) {
        m_status->setText(tr("Train a model on the Train page to see its attention."));
        return false;
    }
    if (m_cluster->value() >= 0 && m_run->currentData(kIsAutoencoderRole).toBool()) {
        m_original->clear();
        m_overlay->clear();
        m_faceCaption->clear();
        m_status->setText(tr("A whole cluster is shown as its averaged Grad-CAM for age, which needs an age model: "
                             "choose an age model's run, or \"this face only\" under Whole cluster for the "
                             "autoencoder's maps."));
        return false;
    }
    const int faceIndex = std::clamp(m_face->value(), 0, static_cast<int>(data->count()) - 1);
    const int s = data->imageSize();
    showCaption(*data, faceIndex);
    const QImage face = rgbImage(data->image(static_cast<size_t>(faceIndex)), s, s);
    m_original->setPixmap(
        QPixmap::fromImage(face).scaled(pictureSide(), pictureSide(), Qt::KeepAspectRatio, Qt::SmoothTransformation));
    AttentionParams params;
    params.method = parseAttentionMethod(m_method->currentData().toString().toStdString());
    params.layer = params.method == AttentionMethod::Code ? std::string() : m_layer->currentText().toStdString();
    params.channel = m_channel->value();
    std::vector<std::int64_t> members;
    if (!chosenClusterMembers(members))
        return false;
    m_status->setText(tr("Computing ..."));
    InteractiveLane* lane = m_session->lane();
    const bool gradCam = params.method == AttentionMethod::GradCam;
    lane->submit<AttentionResult>(
        QStringLiteral("attention"), this,
        [lane, run, data, faceIndex, params, members, face] {
            return computeAttention(lane, run, *data, faceIndex, params, members, face);
        },
        [this, gradCam](AttentionResult result) { showResult(std::move(result), gradCam); },
        [this](const QString& error) {
            m_overlayImage = QImage();
            m_map.clear();
            m_overlay->clear();
            m_status->setText(error);
        });
    return true;
}

void AttentionPage::showResult(AttentionResult result, bool gradCam)
{
    {
        const QString current = m_layer->currentText();
        QSignalBlocker block(m_layer);
        QStringList items;
        for (int i = 0; i < m_layer->count(); ++i)
            items << m_layer->itemText(i);
        if (items != result.layers) {
            m_layer->clear();
            m_layer->addItems(result.layers);
        }
        m_layer->setCurrentText(QString::fromStdString(result.layer).isEmpty() ? current
                                                                               : QString::fromStdString(result.layer));
    }
    m_background = result.background;
    m_map = std::move(result.map);
    m_mapSize = m_background.width();
    m_mapSigned = result.isSigned;
    m_original->setPixmap(QPixmap::fromImage(m_background)
                              .scaled(pictureSide(), pictureSide(), Qt::KeepAspectRatio, Qt::SmoothTransformation));
    blend();
    QString text = tr("Layer %1, %2 ms.").arg(QString::fromStdString(result.layer)).arg(result.ms);
    if (std::isfinite(result.predictedAge))
        text += tr(" Predicted age %1.").arg(result.predictedAge, 0, 'f', 1);
    if (result.isSigned && gradCam)
        text += tr(" Red pushes the predicted age up, blue pulls it down.");
    if (const QString note = m_session->runSourceNote(m_run->currentData().toString()); !note.isEmpty())
        text += " " + tr("The model was %1.").arg(note);
    // Signed maps have their own blue-red scale: the colour map choice applies to the others.
    m_colormap->setEnabled(!result.isSigned);
    m_status->setText(text);
}

void AttentionPage::blend()
{
    if (m_map.empty() || m_background.isNull()
        || m_map.size() != static_cast<size_t>(m_mapSize) * static_cast<size_t>(m_mapSize))
        return;
    const Colormap colormap = parseColormap(m_colormap->currentText().toStdString());
    m_overlayImage = overlayImage(m_background, pictureSide(), m_map.data(), m_mapSize, m_mapSigned,
                                  m_opacity->value() / 100.0, colormap);
    m_overlay->setPixmap(QPixmap::fromImage(m_overlayImage));
    // The colour bar: the same colouring applied to a ramp from the lowest value to the highest.
    const int n = 64;
    std::vector<float> ramp(static_cast<size_t>(n) * n);
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x)
            ramp[static_cast<size_t>(y) * n + x] =
                m_mapSigned ? 2.0f * x / (n - 1) - 1.0f : static_cast<float>(x) / (n - 1);
    QImage grey(n, n, QImage::Format_RGB888);
    grey.fill(Qt::black);
    const QImage bar = overlayImage(grey, n, ramp.data(), n, m_mapSigned, 1.0, colormap);
    m_colorBar->setPixmap(QPixmap::fromImage(bar.scaled(pictureSide(), 14)));
    m_scaleText->setText(m_mapSigned ? tr("blue: pulls the predicted age down   |   0   |   red: pushes it up")
                                     : tr("low activation   ...   high activation (scaled to this map's maximum)"));
}

} // namespace faceatlas::ui

#include "AttentionPage.h"

#include "data/Overlay.h"
#include "data/PreparedDataset.h"
#include "ml/Attention.h"
#include "ml/Batches.h"
#include "ml/Runs.h"
#include "Session.h"

#include <cstring>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <stdexcept>

namespace faceatlas::ui {

AttentionPage::AttentionPage(Session* session, QWidget* parent)
    : QWidget(parent)
    , m_session(session)
{
    m_run = new QComboBox;
    m_face = new QSpinBox;
    m_face->setRange(0, 0);
    m_cluster = new QSpinBox;
    m_cluster->setRange(-1, 999);
    m_cluster->setValue(-1);
    m_cluster->setSpecialValueText(tr("this face only"));
    m_cluster->setToolTip(tr("Average the signed Grad-CAM over every face of a cluster (Clusters page)"));
    m_method = new QComboBox;
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
    m_original = new QLabel;
    m_overlay = new QLabel;
    for (QLabel* l : {m_original, m_overlay}) {
        l->setMinimumSize(320, 320);
        l->setAlignment(Qt::AlignCenter);
        l->setFrameShape(QFrame::StyledPanel);
    }
    auto* layout = new QHBoxLayout(this);
    layout->addLayout(left);
    layout->addWidget(m_original, 1);
    layout->addWidget(m_overlay, 1);

    const auto refreshRuns = [this] {
        const QString current = m_run->currentData().toString();
        m_run->clear();
        for (const char* model : {"age", "age-capstone", "autoencoder"}) {
            const QString dir = m_session->latestRun(model);
            if (!dir.isEmpty())
                m_run->addItem(QStringLiteral("%1 (%2)").arg(model, QFileInfo(dir).fileName()), dir);
        }
        const int at = m_run->findData(current);
        if (at >= 0)
            m_run->setCurrentIndex(at);
    };
    refreshRuns();
    connect(session, &Session::runsChanged, this, refreshRuns);
    connect(session, &Session::datasetChanged, this, [this] {
        m_face->setRange(0, m_session->dataset() ? static_cast<int>(m_session->dataset()->count()) - 1 : 0);
        render();
    });
    connect(m_run, &QComboBox::currentIndexChanged, this, [this] { render(); });
    connect(m_face, &QSpinBox::valueChanged, this, [this] { render(); });
    connect(m_cluster, &QSpinBox::valueChanged, this, [this] { render(); });
    connect(m_method, &QComboBox::currentIndexChanged, this, [this] { render(); });
    connect(m_layer, &QComboBox::currentIndexChanged, this, [this] { render(); });
    connect(m_channel, &QSpinBox::valueChanged, this, [this] { render(); });
    connect(m_opacity, &QSlider::valueChanged, this, [this] { render(); });
    connect(m_colormap, &QComboBox::currentIndexChanged, this, [this] { render(); });
    connect(exportButton, &QPushButton::clicked, this, [this] {
        if (m_overlayImage.isNull())
            return;
        const QString file =
            QFileDialog::getSaveFileName(this, tr("Export overlay"), "attention.png", tr("PNG (*.png)"));
        if (!file.isEmpty())
            m_overlayImage.save(file);
    });
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

void AttentionPage::loadModel()
{
    const QString run = m_run->currentData().toString();
    if (run == m_modelRun && m_model)
        return;
    m_model.reset();
    m_modelRun = run;
    if (run.isEmpty())
        return;
    m_model = std::make_unique<LoadedModel>(loadRunModel(run.toStdString()));
    const QString current = m_layer->currentText();
    QSignalBlocker block(m_layer);
    m_layer->clear();
    for (const auto& layer : m_model->model->featureLayers())
        m_layer->addItem(QString::fromStdString(layer));
    m_layer->setCurrentIndex(
        std::max(0, m_layer->findText(current) >= 0 ? m_layer->findText(current) : m_layer->count() - 1));
}

bool AttentionPage::render()
{
    m_overlayImage = QImage();
    const auto* data = m_session->dataset();
    if (!data) {
        m_status->setText(tr("Open and prepare a dataset first."));
        return false;
    }
    const QImage face = m_session->face(m_face->value());
    m_original->setPixmap(QPixmap::fromImage(face).scaled(320, 320, Qt::KeepAspectRatio, Qt::SmoothTransformation));
    try {
        loadModel();
        if (!m_model) {
            m_status->setText(tr("Train a model on the Train page to see its attention."));
            return false;
        }
        FaceModelImpl& model = *m_model->model;
        if (model.imageSize() != data->imageSize()) {
            m_status->setText(tr("This run was trained at %1 px; the dataset is %2 px.")
                                  .arg(model.imageSize())
                                  .arg(data->imageSize()));
            return false;
        }
        QElapsedTimer timer;
        timer.start();
        const int s = data->imageSize();
        const auto input = imageTensor(data->image(static_cast<size_t>(m_face->value())), s);
        AttentionParams params;
        params.method = parseAttentionMethod(m_method->currentData().toString().toStdString());
        params.layer = params.method == AttentionMethod::Code ? std::string() : m_layer->currentText().toStdString();
        params.channel = m_channel->value();
        QImage background = face;
        AttentionMap map;
        if (m_cluster->value() >= 0) {
            // The cluster's faces: their average image under the averaged signed Grad-CAM.
            const auto members = m_session->clusterMembers(m_cluster->value());
            if (members.empty())
                throw std::runtime_error("no faces of the open dataset are in cluster "
                                         + std::to_string(m_cluster->value())
                                         + " (cluster the open dataset on the Clusters page)");
            const size_t n = std::min<size_t>(members.size(), 256);
            auto images = torch::empty({static_cast<int64_t>(n), s, s, 3}, torch::kUInt8);
            for (size_t i = 0; i < n; ++i)
                std::memcpy(images[static_cast<int64_t>(i)].data_ptr(), data->image(static_cast<size_t>(members[i])),
                            data->imageBytes());
            const auto batch = images.permute({0, 3, 1, 2}).to(torch::kFloat).div(255);
            map = averageGradCam(model, batch, m_layer->currentText().toStdString());
            const auto mean = images.to(torch::kFloat).mean(0).round().to(torch::kUInt8).contiguous();
            background = rgbImage(mean.data_ptr<std::uint8_t>(), s, s);
        } else {
            map = attentionMap(model, input, params);
        }
        m_original->setPixmap(
            QPixmap::fromImage(background).scaled(320, 320, Qt::KeepAspectRatio, Qt::SmoothTransformation));
        const auto values = map.map.contiguous();
        m_overlayImage =
            overlayImage(background, 320, values.data_ptr<float>(), s, map.isSigned, m_opacity->value() / 100.0,
                         parseColormap(m_colormap->currentText().toStdString()));
        m_overlay->setPixmap(QPixmap::fromImage(m_overlayImage));
        QString text = tr("Layer %1, %2 ms.").arg(QString::fromStdString(map.layer)).arg(timer.elapsed());
        if (std::isfinite(map.predictedAge))
            text += tr(" Predicted age %1.").arg(map.predictedAge, 0, 'f', 1);
        if (map.isSigned && params.method == AttentionMethod::GradCam)
            text += tr(" Red pushes the predicted age up, blue pulls it down.");
        m_status->setText(text);
        return true;
    } catch (const std::exception& e) {
        m_overlay->clear();
        m_status->setText(QString::fromUtf8(e.what()));
        return false;
    }
}

} // namespace faceatlas::ui

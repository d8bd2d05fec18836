#pragma once

#include <memory>
#include <QImage>
#include <QWidget>

class QComboBox;
class QLabel;
class QSlider;
class QSpinBox;

namespace faceatlas {
struct LoadedModel;
}

namespace faceatlas::ui {

class Session;

/** Lays attention maps over a face: the code layer, a conv layer's feature maps, signed Grad-CAM for age. */
class AttentionPage : public QWidget {
    Q_OBJECT
public:
    explicit AttentionPage(Session* session, QWidget* parent = nullptr);
    ~AttentionPage() override;
    void setFace(qint64 index);
    /** Shows the Grad-CAM averaged over a cluster's faces (-1: one face). */
    void setCluster(int cluster);
    /** Recomputes the overlay; true when one is shown. */
    bool render();
    bool hasOverlay() const { return !m_overlayImage.isNull(); }

private:
    void loadModel();
    Session* m_session;
    QComboBox* m_run;
    QSpinBox* m_face;
    QSpinBox* m_cluster;
    QComboBox* m_method;
    QComboBox* m_layer;
    QSpinBox* m_channel;
    QSlider* m_opacity;
    QComboBox* m_colormap;
    QLabel* m_original;
    QLabel* m_overlay;
    QLabel* m_status;
    QImage m_overlayImage;
    std::unique_ptr<LoadedModel> m_model;
    QString m_modelRun;
};

} // namespace faceatlas::ui

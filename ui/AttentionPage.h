#pragma once

#include <cstdint>
#include <memory>
#include <QImage>
#include <QWidget>
#include <vector>

class QComboBox;
class QLabel;
class QLayout;
class QSlider;
class QSpinBox;

namespace faceatlas {
struct LoadedModel;
class PreparedDataset;
} // namespace faceatlas

namespace faceatlas::ui {

class Session;
struct AttentionResult;

/** Lays attention maps over a face: the code layer, a conv layer's feature maps, signed Grad-CAM for age. */
class AttentionPage : public QWidget {
    Q_OBJECT
public:
    explicit AttentionPage(Session* session, QWidget* parent = nullptr);
    ~AttentionPage() override;
    void setFace(qint64 index);
    /** Shows the Grad-CAM averaged over a cluster's faces (-1: one face). */
    void setCluster(int cluster);
    /**
     * Asks the interactive lane for the map of the settings on screen; false when nothing can be
     * asked (no dataset, no model, no face). The overlay appears when the lane delivers it.
     */
    bool render();
    bool hasOverlay() const { return !m_overlayImage.isNull(); }
    /** The status line under the settings (what is shown, or why nothing is). */
    QString statusText() const;

private:
    /** The settings column: run, face, cluster, map, layer, channel, opacity, colour map, export, status. */
    QLayout* buildSettingsPanel();
    /** The face and its overlay side by side, the caption and the colour scale under them. */
    QLayout* buildPicturesPanel();
    /** Lists the latest run of each model kind, keeping the chosen one when it is still listed. */
    void refreshRuns();
    /** Follows the session: new runs, and a dataset about to change and changed. */
    void connectSession(Session* session);
    /** Forgets the map on screen and clears its pictures (the dataset is about to change). */
    void forgetMap();
    /** Connects the settings: most render again, opacity and colour map only re-blend. */
    void connectSettings();
    /** The Map chosen: the code map switches to an autoencoder run (which renders), the others render. */
    void followMethod();
    /** Asks where to save the overlay on screen as a PNG and saves it. */
    void exportOverlay();
    /** Switches Grad-CAM (age models only) to the code layer when an autoencoder run is chosen; true if it did. */
    bool followRunKind();
    /** In whole-cluster mode the Map shows the signed Grad-CAM it draws, and is locked there. */
    void followClusterMode();
    /** Lays the last computed map over its face with the opacity and colour map on screen (cheap). */
    void blend();
    /** The caption over the face: the face's file and age, or the cluster whose average is shown. */
    void showCaption(const PreparedDataset& data, int faceIndex);
    /** The faces of the cluster chosen (at most 256), or none for one face; false when it has none here. */
    bool chosenClusterMembers(std::vector<std::int64_t>& members);
    /** Shows a map the lane delivered: the layer list, the picture, the status line. */
    void showResult(AttentionResult result, bool gradCam);
    int pictureSide() const;
    Session* m_session;
    QComboBox* m_run;
    QSpinBox* m_face;
    QSpinBox* m_cluster;
    QComboBox* m_method;
    int m_methodBeforeCluster = -1; // the Map chosen before a whole cluster was shown
    QComboBox* m_layer;
    QSpinBox* m_channel;
    QSlider* m_opacity;
    QComboBox* m_colormap;
    QLabel* m_original;
    QLabel* m_overlay;
    QLabel* m_status;
    QLabel* m_colorBar;
    QLabel* m_scaleText;
    QLabel* m_faceCaption;
    QImage m_overlayImage;
    // The last map the lane delivered: the slider and colour map only re-blend it.
    QImage m_background;
    std::vector<float> m_map;
    int m_mapSize = 0;
    bool m_mapSigned = false;
};

} // namespace faceatlas::ui

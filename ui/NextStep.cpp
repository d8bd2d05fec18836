#include "NextStep.h"

#include "ml/ModelKinds.h"
#include "Session.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace faceatlas::ui {

QString clusteringNextStep(const Session& session)
{
    const auto tr = [](const char* text) { return QCoreApplication::translate("NextStep", text); };
    if (!session.dataset())
        return tr("Prepare a dataset (Dataset page), train an autoencoder on it (Train page), encode the faces, then "
                  "cluster them.");
    const QString run = session.latestRunFor(ModelRole::Autoencoder);
    if (run.isEmpty() || !session.runMismatch(run).isEmpty())
        return tr("Train an autoencoder on this dataset (Train page), then encode the faces and cluster them here.");
    // Codes are named after the run that made them (codes/RUN-TIME).
    const QString codes = session.codesDir();
    if (codes.isEmpty() || !QFileInfo(codes).fileName().startsWith(QFileInfo(run).fileName() + "-"))
        return tr("An autoencoder is trained: now encode the faces with it (Encode faces with the latest "
                  "autoencoder, Ctrl+E), then cluster them.");
    return tr("The faces are encoded: now cluster them (Cluster, Ctrl+K).");
}

} // namespace faceatlas::ui

// The lane's model cache: here, with the pages, because it loads LibTorch models (ml/Runs.h). The
// lane itself (InteractiveLane.cpp, in faceatlas_lanes) needs only Qt and the standard library, so
// the thread tests build it under ThreadSanitizer without LibTorch's whole model code.
#include "InteractiveLane.h"

#include "ml/Runs.h"

#include <QDir>
#include <QFileInfo>

namespace faceatlas::ui {

std::shared_ptr<LoadedModel> InteractiveLane::model(const QString& runDir)
{
    // The run's checkpoints change while it trains: the stamp (sizes and times) says when to reload.
    QString stamp;
    for (const char* name : {"best.pt", "last.pt"}) {
        const QFileInfo info(QDir(runDir).filePath(QString::fromLatin1(name)));
        stamp += QStringLiteral("%1:%2:%3|")
                     .arg(info.exists())
                     .arg(info.size())
                     .arg(info.lastModified().toMSecsSinceEpoch());
    }
    std::lock_guard<std::mutex> lock(m_modelMutex);
    // A few runs at most stay loaded (the face panel's and the Attention page's): drop the others.
    while (m_models.size() >= 3 && !m_models.count(runDir))
        m_models.erase(m_models.begin());
    CachedModel& cached = m_models[runDir];
    if (!cached.model || cached.stamp != stamp) {
        cached.model = std::make_shared<LoadedModel>(loadRunModel(runDir.toStdString()));
        cached.stamp = stamp;
    }
    return cached.model;
}

} // namespace faceatlas::ui

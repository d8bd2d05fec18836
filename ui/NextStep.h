#pragma once

#include <QString>

namespace faceatlas::ui {

class Session;

/**
 * What the Clusters page asks for when it shows no clustering, from where the session stands:
 * prepare, train an autoencoder, encode the faces (an autoencoder of this dataset is trained) or
 * cluster them (they are encoded).
 */
QString clusteringNextStep(const Session& session);

} // namespace faceatlas::ui

// The Clusters page's jobs: encoding the faces with an autoencoder and clustering the codes.
#include "ClustersPage.h"

#include "analysis/SliceJob.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "JobRunner.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/ModelKinds.h"
#include "Session.h"

#include <QCheckBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QSpinBox>

namespace faceatlas::ui {

void ClustersPage::encode()
{
    const QString run = m_session->latestRunFor(ModelRole::Autoencoder);
    if (run.isEmpty() || !m_session->dataset()) {
        m_summary->setText(tr("Encoding needs a prepared dataset and a trained autoencoder (Train page)."));
        return;
    }
    // Named, and said when it was trained on another dataset (it encodes these faces all the same).
    const QString note = m_session->runSourceNote(run);
    const QString named =
        tr("autoencoder run %1").arg(QFileInfo(run).fileName()) + (note.isEmpty() ? QString() : tr(" (%1)").arg(note));
    if (const QString why = m_session->runMismatch(run); !why.isEmpty()) {
        m_summary->setText(tr("Cannot encode with %1: %2").arg(named, why));
        return;
    }
    // A new folder for each encoding: a cancelled or failed one never spoils codes that a
    // clustering (or the session) still uses.
    const QString out = QDir(m_session->workspace())
                            .filePath("codes/" + QFileInfo(run).fileName() + "-"
                                      + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss-zzz"));
    const std::string runDir = run.toStdString(), data = m_session->datasetDir().toStdString(),
                      codes = out.toStdString();
    const auto job = [runDir, data, codes](const CancelToken& cancel, const JobRunner::Report& report) {
        encodeDataset(runDir, data, codes, "auto", cancel,
                      [&](const JobProgress& p) { report(QString::fromUtf8(p.stage), p.done, p.total); });
        return !cancel.isCancelled();
    };
    const auto done = [this, out, named](bool ok, bool cancelled, const QString& error) {
        if (ok && !cancelled) {
            m_session->setCodesDir(out);
            m_summary->setText(tr("Faces encoded into %1 with %2. Now cluster them.").arg(out, named));
        } else if (!ok) {
            m_summary->setText(tr("Encoding failed: %1").arg(error));
        }
    };
    if (m_session->jobs()->start(tr("Encoding faces"), job, done))
        m_summary->setText(tr("Encoding the faces with %1...").arg(named));
    else
        m_summary->setText(tr("Cannot encode now. %1").arg(m_session->jobs()->busyReason()));
}

void ClustersPage::clusterRows(const std::vector<std::int64_t>& rows)
{
    m_subsetRows = rows;
    cluster();
}

void ClustersPage::cluster()
{
    std::vector<std::int64_t> rows = std::move(m_subsetRows); // set by clusterRows for this call only
    m_subsetRows.clear();
    if (m_session->codesDir().isEmpty() || !QFileInfo::exists(m_session->codesDir() + "/codes.json")) {
        m_summary->setText(tr("Encode the faces first."));
        return;
    }
    // Codes of another preparation would be clustered against the wrong faces: say so before starting.
    if (m_session->dataset()) {
        const auto recorded = readCodesFingerprint(m_session->codesDir().toStdString());
        if (recorded && !m_session->isOpenPreparation(*recorded)) {
            m_summary->setText(tr("The codes in %1 were made from another preparation than the open dataset: "
                                  "encode the faces again first.")
                                   .arg(m_session->codesDir()));
            return;
        }
    }
    const int faces = m_session->dataset() ? static_cast<int>(m_session->dataset()->count()) : 0;
    if (m_session->dataset() && faces < m_k->value() + 1) {
        m_summary->setText(tr("The open dataset has %1 faces: too few for k = %2.").arg(faces).arg(m_k->value()));
        return;
    }
    ClusterParams p;
    p.codes = m_session->codesDir().toStdString();
    if (m_sweep->isChecked()) {
        p.kMin = m_k->value();
        p.kMax = std::max(m_k->value(), m_kMax->value());
    } else {
        p.k = m_k->value();
    }
    // A new folder for each clustering: the one on screen is never rewritten under the page.
    const QString out = QDir(m_session->workspace())
                            .filePath(QStringLiteral("clusters/%1-k%2-%3")
                                          .arg(QFileInfo(m_session->codesDir()).fileName())
                                          .arg(m_sweep->isChecked() ? QStringLiteral("%1-%2").arg(p.kMin).arg(p.kMax)
                                                                    : QString::number(p.k))
                                          .arg(QDateTime::currentDateTime().toString("HHmmss-zzz")));
    p.outDir = out.toStdString();
    p.rows = std::move(rows); // "Cluster these" on the Map page: those faces only
    if (!p.rows.empty() && static_cast<int>(p.rows.size()) < p.k + 1) {
        m_summary->setText(tr("The selection has %1 faces: too few for k = %2.").arg(p.rows.size()).arg(p.k));
        return;
    }
    // The newest label audit of the open preparation: each cluster's summary counts the faces it flags.
    const std::string audit = m_session->newest(OutputKind::Audit).toStdString();
    const auto data = m_session->sharedDataset();
    const auto job = [p, audit, data](const CancelToken& cancel, const JobRunner::Report& report) {
        ClusterParams params = p;
        if (!audit.empty() && data) {
            try { // read here, on the worker: the clustering itself (ml) reads no audit
                params.auditFlagged = std::make_shared<const std::vector<char>>(auditFlaggedRows(audit, *data));
                params.audit = audit;
            } catch (const std::exception&) {
                // an audit that cannot be read: the summaries go without its flags (cluster_names.json says none)
            }
        }
        const ClusterResult result = ClusterJob(params).run(
            cancel, [&](const JobProgress& jp) { report(QString::fromUtf8(jp.stage), jp.done, jp.total); });
        return !result.cancelled;
    };
    const auto done = [this, out](bool ok, bool cancelled, const QString& error) {
        if (ok && !cancelled) {
            m_session->setClustersDir(out);
            Q_EMIT clustered();
        } else if (!ok) {
            m_summary->setText(tr("Clustering failed: %1").arg(error));
        }
    };
    if (!m_session->jobs()->start(tr("Clustering"), job, done))
        m_summary->setText(tr("Cannot cluster now. %1").arg(m_session->jobs()->busyReason()));
}

} // namespace faceatlas::ui

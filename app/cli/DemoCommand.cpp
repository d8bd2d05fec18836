// `demo`: the whole pipeline on the built-in synthetic faces, for a first look in a minute or two.
#include "cli/CliSupport.h"
#include "cli/Commands.h"

#include "data/PrepareJob.h"
#include "ml/Attention.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/ModelKinds.h"
#include "ml/TrainJob.h"
#include "util/FileUtil.h"

#include <cstdio>

namespace faceatlas::cli {

int runDemo(const std::vector<std::string>& words)
{
    const Args args(words, commandSpec("demo"));
    const auto out = std::filesystem::u8path(*args.value("out"));
    const int faces = args.intValue("faces");
    const int epochs = args.intValue("epochs");
    args.rejectUnknown();
    const CancelToken cancel = installInterruptHandler();
    ProgressBar bar;
    const auto progress = [&](const JobProgress& p) { bar.update(p); };

    std::printf("1/5 preparing %d synthetic faces (64 px)...\n", faces);
    PrepareParams prep;
    prep.source = "demo:" + std::to_string(faces);
    prep.outDir = out / "prepared";
    const PrepareResult prepared = PrepareJob(prep).run(cancel, progress);
    bar.finish();
    if (prepared.cancelled)
        return 130;
    std::printf("    %zu read, %zu kept: %zu training (resampled to balance ages), %zu validation\n",
                prepared.report.recordsRead, prepared.report.imagesStored, prepared.report.train, prepared.report.val);

    const auto trainProgress = [&](const TrainProgress& t) {
        char stage[64];
        std::snprintf(stage, sizeof stage, "epoch %d/%d", t.epoch, t.epochs);
        bar.update({stage, t.batch, t.batches});
    };
    TrainParams age;
    age.model = parseModelKind(modelNamesOf(ModelRole::AgeModel).front()); // the default age model
    age.data = prep.outDir;
    age.runDir = out / "runs" / "age";
    age.epochs = epochs;
    std::printf("2/5 training the age model, %d epochs...\n", epochs);
    const TrainResult ageResult = TrainJob(age).run(cancel, trainProgress);
    bar.finish();
    if (ageResult.cancelled)
        return 130;
    const auto& last = ageResult.history.back();
    std::printf("    validation MAE %.2f years; always guessing the median age: %.2f\n", last.valMae, last.baselineMae);

    TrainParams ae = age;
    ae.model = ModelKind::Autoencoder;
    ae.runDir = out / "runs" / "autoencoder";
    std::printf("3/5 training the autoencoder, %d epochs...\n", epochs);
    const TrainResult aeResult = TrainJob(ae).run(cancel, trainProgress);
    bar.finish();
    if (aeResult.cancelled)
        return 130;
    std::printf("    validation PSNR %.2f dB; reconstructions in %s\n", aeResult.history.back().valPsnr,
                (ae.runDir / "previews").c_str());

    std::printf("4/5 encoding every face...\n");
    encodeDataset(ae.runDir, prep.outDir, out / "codes", "auto", cancel, progress);
    bar.finish();

    std::printf("5/5 clustering the codes, k = 4..10...\n");
    ClusterParams cluster;
    cluster.codes = out / "codes";
    cluster.outDir = out / "clusters";
    cluster.kMin = 4;
    cluster.kMax = 10;
    const ClusterResult clusters = ClusterJob(cluster).run(cancel, progress);
    bar.finish();
    if (clusters.cancelled)
        return 130;
    const auto& m = clusters.metrics;
    std::printf("    k = %d (%s); NMI against age decades %.3f, against gender %.3f\n", m.k, clusters.reason.c_str(),
                m.ageNmi, m.genderNmi);
    std::printf("\ndone: galleries in %s, runs listed by 'faceatlas-cli runs'\n",
                (cluster.outDir / "galleries").c_str());
    return 0;
}

} // namespace faceatlas::cli

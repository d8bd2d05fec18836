// `encode`: every face's autoencoder code into one codes.f32, on one process or several.
#include "data/Provenance.h"
#include "data/RecordCache.h"
#include "ml/Batches.h"
#include "ml/Inference.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <unistd.h>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/** What every rank opens: the autoencoder, the faces, the device and the codes' shape. */
struct EncodeInputs {
    LoadedModel loaded;
    PreparedDataset data;
    torch::Device device;
    std::vector<int64_t> shape;
    size_t dim = 0;
};

EncodeInputs openInputs(const fs::path& runDir, const fs::path& dataDir, const std::string& deviceName)
{
    LoadedModel loaded = loadRunModel(runDir);
    if (loaded.model->kind() != ModelKind::Autoencoder)
        throw Error(displayPath(runDir) + ": encoding needs an autoencoder run, this one trained "
                    + modelKindName(loaded.model->kind()));
    PreparedDataset data = PreparedDataset::open(dataDir);
    if (loaded.model->imageSize() != data.imageSize())
        throw Error(displayPath(dataDir) + ": images are " + std::to_string(data.imageSize())
                    + " px, the autoencoder takes " + std::to_string(loaded.model->imageSize()));
    const torch::Device device = resolveDevice(deviceName);
    loaded.model->eval();
    loaded.model->to(device);
    const auto shape = autoencoderCodeShape(loaded.model->imageSize());
    const size_t dim = static_cast<size_t>(shape[0] * shape[1] * shape[2]);
    return {std::move(loaded), std::move(data), device, shape, dim};
}

/**
 * Rank `rank` of `world`'s rows: whole batches of the single-process pass, a contiguous run of
 * them, so every face is encoded in the same batch as one process encodes it.
 */
std::pair<size_t, size_t> rowsOfRank(size_t count, size_t batch, int rank, int world)
{
    const size_t batches = (count + batch - 1) / batch;
    const size_t first = batches * static_cast<size_t>(rank) / static_cast<size_t>(world);
    const size_t last = batches * static_cast<size_t>(rank + 1) / static_cast<size_t>(world);
    return {std::min(count, first * batch), std::min(count, last * batch)};
}

/**
 * Encodes rows [begin, end) of the dataset, handing each batch's codes [n, dim] and its first row
 * to `write`; returns the rows done (fewer when cancelled).
 */
size_t encodeRows(EncodeInputs& in, size_t begin, size_t end, const CancelToken& cancel, const ProgressFn& onProgress,
                  const std::function<void(size_t row, const torch::Tensor& codes)>& write)
{
    torch::InferenceMode inference;
    std::vector<std::uint32_t> all = splitIndices(in.data, Split::All);
    std::vector<std::uint32_t> mine(all.begin() + static_cast<std::ptrdiff_t>(begin),
                                    all.begin() + static_cast<std::ptrdiff_t>(end));
    BatchPrefetcher batches(in.data, std::move(mine), inferenceBatchSize(in.device));
    Batch b;
    size_t done = 0;
    while (batches.next(b)) {
        if (cancel.isCancelled())
            break;
        const auto codes = autoencoderEncode(*in.loaded.model, b.images.to(in.device))
                               .reshape({b.images.size(0), -1})
                               .to(torch::kCPU)
                               .contiguous();
        write(begin + done, codes);
        done += static_cast<size_t>(b.images.size(0));
        if (onProgress)
            onProgress({"encoding", static_cast<long long>(done), static_cast<long long>(end - begin)});
    }
    return done;
}

/** codes.json and records.bin beside codes.f32, then the folder swapped in. */
void finishCodes(StagedFolder& staged, const EncodeInputs& in, const fs::path& runDir)
{
    writeFileAtomic(staged.work() / "records.bin", RecordCache::serialize(in.data.records()), /*durable=*/false);
    const json manifest = {{"format", outputKindFormat(OutputKind::Codes)},
                           {"version", 1},
                           {"run", fs::absolute(runDir).lexically_normal().string()},
                           {"data", in.data.dir().string()},
                           {"data_fingerprint", datasetFingerprint(in.data)},
                           {"count", in.data.count()},
                           {"dim", in.dim},
                           {"shape", in.shape},
                           {"size", in.data.imageSize()}};
    writeFileAtomic(staged.work() / "codes.json", jsonText(manifest, 2) + "\n", /*durable=*/false);
    staged.commit();
}

/** Writes rows of codes into codes.f32 at their place, through an open descriptor (the other ranks). */
class RowWriter {
public:
    RowWriter(const fs::path& file, size_t dim)
        : m_file(file)
        , m_fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC))
        , m_rowBytes(dim * sizeof(float))
    {
        if (m_fd < 0)
            throw Error(displayPath(file) + ": cannot open rank 0's codes to write this rank's rows: "
                        + errnoText(errno) + " (every process must see the output folder at the same path)");
    }
    ~RowWriter() { ::close(m_fd); }
    RowWriter(const RowWriter&) = delete;
    RowWriter& operator=(const RowWriter&) = delete;

    void write(size_t row, const torch::Tensor& codes)
    {
        const auto* data = static_cast<const char*>(codes.data_ptr());
        size_t left = static_cast<size_t>(codes.numel()) * sizeof(float);
        off_t at = static_cast<off_t>(row * m_rowBytes);
        while (left > 0) {
            const ssize_t n = ::pwrite(m_fd, data, left, at);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                throw Error(displayPath(m_file) + ": cannot write codes: "
                            + (n < 0 ? std::string(errnoText(errno)) : "nothing written (disk full?)"));
            data += n;
            left -= static_cast<size_t>(n);
            at += n;
        }
    }
    void sync()
    {
        if (::fsync(m_fd) != 0)
            throw Error(displayPath(m_file) + ": cannot sync the codes: " + errnoText(errno));
    }

private:
    fs::path m_file;
    int m_fd;
    size_t m_rowBytes;
};

void encodeOnOneProcess(EncodeInputs& in, const fs::path& runDir, const fs::path& out, const OutputRules& rules,
                        const CancelToken& cancel, const ProgressFn& onProgress)
{
    // Written whole beside OUT and swapped in at the end: codes are never rewritten in place, so a map,
    // a clustering or the window reading the earlier codes keeps them, and a failed encode leaves them.
    StagedFolder staged(out, OutputKind::Codes, rules);
    {
        MappedFile file = MappedFile::create(staged.work() / "codes.f32", in.data.count() * in.dim * sizeof(float));
        auto* dst = reinterpret_cast<float*>(file.mutableData());
        const size_t done =
            encodeRows(in, 0, in.data.count(), cancel, onProgress, [&](size_t row, const torch::Tensor& codes) {
                std::memcpy(dst + row * in.dim, codes.data_ptr<float>(), codes.numel() * sizeof(float));
            });
        if (cancel.isCancelled())
            return;
        if (done != in.data.count())
            throw Error(displayPath(in.data.dir()) + ": encoded " + std::to_string(done) + " of "
                        + std::to_string(in.data.count()) + " faces");
        file.flush(); // on disk before codes.json says the codes are finished
    }
    finishCodes(staged, in, runDir);
}

/**
 * Several processes: rank 0 makes the staged folder and a codes.f32 of full size, every rank writes
 * its rows into it with pwrite, then (every rank's rows synced, counted and nobody cancelled) rank 0 finishes
 * the folder. Rank 0's staged folder is removed if any rank fails, as for one process.
 */
void encodeOnRanks(EncodeInputs& in, const fs::path& runDir, const fs::path& out, const OutputRules& rules,
                   const DistConfig& dist, const CancelToken& cancel, const ProgressFn& onProgress)
{
    const auto group = ProcessGroup::connect(dist);
    std::uint64_t weights = fnv1a64("");
    for (const auto& p : in.loaded.model->parameters()) {
        const auto cpu = p.detach().to(torch::kCPU).contiguous();
        weights = fnv1a64(std::string_view(static_cast<const char*>(cpu.data_ptr()),
                                           static_cast<size_t>(cpu.numel()) * cpu.element_size()),
                          weights);
    }
    const size_t batch = static_cast<size_t>(inferenceBatchSize(in.device));
    checkSameJob(*group, {{"dataset fingerprint", datasetFingerprint(in.data)},
                          {"faces", std::to_string(in.data.count())},
                          {"code size", std::to_string(in.dim)},
                          {"autoencoder weights", std::to_string(weights)},
                          {"device", in.device.is_cuda() ? "cuda" : "cpu"},
                          {"batch", std::to_string(batch)},
                          {"output folder", fs::absolute(out).lexically_normal().string()}});
    // Rank 0 makes the folder and a file of full size; every rank (rank 0 too) writes its rows with
    // pwrite, so no rank's pages are written back over another's (a memory map would, on NFS).
    std::optional<StagedFolder> staged;
    if (dist.leader()) {
        staged.emplace(out, OutputKind::Codes, rules);
        MappedFile::create(staged->work() / "codes.f32", in.data.count() * in.dim * sizeof(float)).flush();
    }
    const std::string work = group->allgatherText(dist.leader() ? staged->work().string() : "", "the codes' folder")[0];
    const auto [begin, end] = rowsOfRank(in.data.count(), batch, dist.rank, dist.worldSize);
    RowWriter writer(fs::path(work) / "codes.f32", in.dim);
    const size_t done = encodeRows(in, begin, end, cancel, onProgress,
                                   [&](size_t row, const torch::Tensor& codes) { writer.write(row, codes); });
    writer.sync();
    auto summed = torch::tensor({static_cast<double>(done), cancel.isCancelled() ? 1.0 : 0.0}, torch::kDouble);
    group->allreduceSum(summed, "the count of the faces encoded");
    if (summed[1].item<double>() > 0 && !cancel.isCancelled())
        throw Error(dist.who() + ": another rank was cancelled; the earlier codes at " + displayPath(out) + " stay");
    if (summed[1].item<double>() > 0 || !dist.leader())
        return; // cancelled here: rank 0's staged folder goes, the earlier codes stay
    if (static_cast<size_t>(summed[0].item<double>()) != in.data.count())
        throw Error(displayPath(in.data.dir()) + ": the ranks encoded " + std::to_string(summed[0].item<double>())
                    + " of " + std::to_string(in.data.count()) + " faces");
    finishCodes(*staged, in, runDir);
}

} // namespace

void encodeDataset(const fs::path& runDir, const fs::path& dataDir, const fs::path& out, const std::string& deviceName,
                   const CancelToken& cancel, const ProgressFn& onProgress, bool force, const DistConfig& dist)
{
    const OutputRules outputRules{force, {runDir, dataDir}};
    if (dist.leader())
        checkOutputFolder(out, OutputKind::Codes, outputRules); // before the work, and again at the write
    EncodeInputs in = openInputs(runDir, dataDir, deviceName);
    if (dist.distributed())
        encodeOnRanks(in, runDir, out, outputRules, dist, cancel, onProgress);
    else
        encodeOnOneProcess(in, runDir, out, outputRules, cancel, onProgress);
}

} // namespace faceatlas

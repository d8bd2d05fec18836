// The checkpoint format: a safetensors file FaceAtlas writes and reads (see the format's note below),
// its legacy conversion, and what a checkpoint's metadata says (framing, spread scale).
#include "ml/Checkpoint.h"

#include "ml/CheckpointHeader.h"
#include "ml/Runs.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/** A number for a message, with 7 significant digits. */
std::string number(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.7g", v);
    return text;
}

// ---- Checkpoints -------------------------------------------------------------------------------
//
// A checkpoint is a safetensors file (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header (padded with spaces to a multiple of 8), then the raw
// little-endian tensor bytes. The header maps each tensor name to {"dtype": "F32"|"I64", "shape",
// "data_offsets": [begin, end]} (offsets into the data section, which the tensors tile in order), and
// "__metadata__" to strings: format "faceatlas-checkpoint", version "2", kind, size, meta (the run's
// JSON: epoch, best epoch, history...), optimizer (JSON: type and per-parameter step) and
// checksum_fnv1a64: standard 64-bit FNV-1a (offset basis 14695981039346656037, prime 1099511628211) of
// the whole file with these 16 hex digits read as '0's.
// Tensors: "model.<name>" for every parameter and buffer, "optimizer.<i>.exp_avg" /
// ".exp_avg_sq" / ".max_exp_avg_sq" for the AdamW state of the model's i-th parameter.
// The header's reader and its limits (size, nesting, values) are in ml/CheckpointHeader.h.

// The standard FNV-1a 64 offset basis (fnv1a64()'s default, which keys caches, differs), so that any
// FNV-1a implementation checks a checkpoint.
constexpr std::uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
// Weights and buffers FaceAtlas's training writes are far below this (the largest are the age buffers,
// ages up to 100 or so, 40,000 at most: kMaxRecordAge); weights like 1e38 overflow its outputs to NaN.
constexpr double kMaxWeight = 1e6;
// The run's metadata in a checkpoint: a flat object of a few keys and the history as one text.
constexpr int kMaxMetaDepth = 8;
constexpr std::size_t kMaxMetaValues = 10'000;
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoints are written in the host's byte order");

const char* dtypeName(torch::ScalarType type)
{
    switch (type) {
    case torch::kFloat: return "F32";
    case torch::kLong: return "I64";
    default: throw Error(std::string("checkpoint: unsupported tensor type ") + c10::toString(type));
    }
}

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        text += (i ? "," : "") + std::to_string(shape[i]);
    return text + "]";
}

/** A checkpoint file read: the model and, when asked, the optimizer state. */
struct ParsedCheckpoint {
    FaceModel model;
    std::string metaJson;
    struct ParamState {
        size_t param = 0;
        int64_t step = 0;
        torch::Tensor expAvg, expAvgSq, maxExpAvgSq;
    };
    std::vector<ParamState> optimizer;
};

class CheckpointReader {
public:
    explicit CheckpointReader(const fs::path& file)
        : m_file(file)
    {
        // O_NONBLOCK: a FIFO put in the checkpoint's place must not block the open.
        m_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (m_fd < 0)
            fail(std::string("cannot open: ") + errnoText(errno));
        struct stat st {};
        if (::fstat(m_fd, &st) != 0 || !S_ISREG(st.st_mode))
            fail("not a regular file");
        m_size = static_cast<std::uint64_t>(st.st_size);
    }
    ~CheckpointReader()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    CheckpointReader(const CheckpointReader&) = delete;
    CheckpointReader& operator=(const CheckpointReader&) = delete;

    [[noreturn]] void fail(const std::string& problem) const { throw Error(displayPath(m_file) + ": " + problem); }

    void read(std::uint64_t offset, void* out, size_t size) const
    {
        auto* p = static_cast<char*>(out);
        while (size > 0) {
            const ssize_t n = ::pread(m_fd, p, size, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                fail(n == 0 ? "the file ended early (truncated?)" : std::string("read failed: ") + errnoText(errno));
            p += n;
            offset += static_cast<std::uint64_t>(n);
            size -= static_cast<size_t>(n);
        }
    }

    /** The file read in named steps; the first failure throws Error naming the file and the problem. */
    ParsedCheckpoint parse(bool withOptimizer)
    {
        const std::string header = readHeader();
        verifyChecksum(header); // nothing the header declares is trusted (or allocated) before it matches
        try {
            m_declared = checkpointTensors(m_h, m_dataSize);
        } catch (const Error& e) {
            fail(e.what());
        }
        ParsedCheckpoint out;
        out.model = buildModel();
        out.metaJson = readMeta();
        torch::NoGradGuard noGrad;
        readModelTensors(*out.model);
        readOptimizerState(out, withOptimizer);
        for (const auto& [name, d] : m_declared)
            if (!m_used.count(name))
                fail(notThisModel() + " (unexpected tensor " + name.substr(0, 80) + ")");
        return out;
    }

private:
    /** The length and the header, bounded before they are read; a TorchScript archive is refused by name. */
    std::string readHeader()
    {
        if (m_size < 8)
            fail("not a checkpoint (only " + std::to_string(m_size) + " bytes)");
        read(0, m_lengthBytes, 8);
        if (m_lengthBytes[0] == 'P' && m_lengthBytes[1] == 'K')
            fail("written by an earlier FaceAtlas in a format that runs code from the file when it is loaded "
                 "(a TorchScript archive), which FaceAtlas no longer reads; train the run again, or, if you trust "
                 "the file, convert it once with 'faceatlas-cli convert-checkpoint "
                 + displayPath(m_file) + "'");
        std::uint64_t headerBytes = 0;
        std::string header;
        try {
            // The length bounded first: the header is read and parsed only when it is of a size FaceAtlas
            // writes, and parsed with bounds on its nesting and number of values.
            headerBytes = checkpointHeaderLength(m_lengthBytes, m_size);
            header.resize(static_cast<size_t>(headerBytes));
            read(8, header.data(), header.size());
            m_h = parseCheckpointHeader(header);
        } catch (const Error& e) {
            const std::string what = e.what();
            if (what.rfind(displayPath(m_file), 0) == 0)
                throw;
            fail(what);
        }
        m_dataStart = 8 + headerBytes;
        m_dataSize = m_size - m_dataStart;
        return header;
    }

    /** The checksum covers the length, the header with the checksum's digits read as '0's, and the data. */
    void verifyChecksum(const std::string& header) const
    {
        const std::string zeroField = checkpointChecksumField(std::string(16, '0'));
        const size_t fieldEnd = m_h.checksumAt + zeroField.size();
        std::uint64_t hash =
            fnv1a64(std::string_view(reinterpret_cast<const char*>(m_lengthBytes), 8), kFnvOffsetBasis);
        hash = fnv1a64(std::string_view(header).substr(0, m_h.checksumAt), hash);
        hash = fnv1a64(zeroField, hash);
        hash = fnv1a64(std::string_view(header).substr(fieldEnd), hash);
        std::vector<char> chunk(1 << 20);
        for (std::uint64_t off = 0; off < m_dataSize;) {
            const size_t n = static_cast<size_t>(std::min<std::uint64_t>(chunk.size(), m_dataSize - off));
            read(m_dataStart + off, chunk.data(), n);
            hash = fnv1a64(std::string_view(chunk.data(), n), hash);
            off += n;
        }
        if (hexKey(hash) != m_h.checksum)
            fail("damaged checkpoint (checksum mismatch: the file changed after it was written)");
    }

    std::string text(const char* key) const
    {
        try {
            return m_h.metadata(key);
        } catch (const Error& e) {
            fail(e.what());
        }
    }

    std::string notThisModel() const
    {
        return "not a " + std::string(modelKindName(m_kind)) + " at " + m_sizeText + " px";
    }

    /** The model the metadata names, built fresh, once its weights could fill it. */
    FaceModel buildModel()
    {
        try {
            m_kind = parseModelKind(text("kind"));
        } catch (const Error& e) {
            fail(e.what());
        }
        m_sizeText = text("size");
        if (m_sizeText.empty() || m_sizeText.size() > 5
            || m_sizeText.find_first_not_of("0123456789") != std::string::npos)
            fail("invalid image size '" + m_sizeText.substr(0, 20) + "'");
        const int size = std::stoi(m_sizeText);
        if (size < 8 || size > 1024)
            fail("image size " + m_sizeText + " is outside 8 to 1024 pixels");
        std::uint64_t modelBytes = 0;
        for (const auto& [name, d] : m_declared)
            if (name.rfind("model.", 0) == 0)
                modelBytes += d.end - d.begin;
        try {
            const int64_t parameters = modelParameterCount(m_kind, size);
            if (static_cast<std::uint64_t>(parameters) * 4 > modelBytes)
                fail(std::string("holds ") + std::to_string(modelBytes) + " bytes of weights, but a "
                     + modelKindName(m_kind) + " at " + m_sizeText + " px has " + std::to_string(parameters)
                     + " parameters: not this model");
            return createModel(m_kind, size);
        } catch (const Error& e) {
            const std::string what = e.what();
            if (what.rfind(displayPath(m_file), 0) == 0)
                throw;
            fail(what);
        }
    }

    /** The run's metadata: a bounded JSON object whose epochs are whole numbers in range. */
    std::string readMeta() const
    {
        std::string metaJson = text("meta");
        json meta;
        try {
            meta = parseJsonBounded(metaJson, "checkpoint metadata", kMaxMetaDepth, kMaxMetaValues);
        } catch (const Error& e) {
            fail(e.what());
        } catch (const json::exception&) {
            fail("damaged checkpoint (its run metadata is not a JSON object)");
        }
        if (!meta.is_object())
            fail("damaged checkpoint (its run metadata is not a JSON object)");
        // Read as integers by training (a resume), the Runs page and the GUI: whole epochs or refused here.
        try {
            for (const char* key : {"epoch", "best_epoch"})
                jsonIntOr(meta, key, 0, 0, kMaxEpoch, "damaged checkpoint: its run metadata");
        } catch (const Error& e) {
            fail(e.what());
        }
        return metaJson;
    }

    /** A declared tensor's bytes into `into`: finite, and the model's own within kMaxWeight. */
    void readTensor(const CheckpointTensor& d, const torch::Tensor& into)
    {
        read(m_dataStart + d.begin, into.data_ptr(), static_cast<size_t>(d.end - d.begin));
        if (into.is_floating_point() && !torch::isfinite(into).all().item<bool>())
            fail("tensor " + d.name + " holds NaN or infinite values");
        // The model's own weights and buffers: finite but huge ones overflow its outputs to NaN.
        if (into.is_floating_point() && d.name.rfind("model.", 0) == 0 && into.numel() > 0
            && into.abs().max().item<double>() > kMaxWeight)
            fail("tensor " + d.name + " holds values beyond +-" + number(kMaxWeight) + " (largest "
                 + number(into.abs().max().item<double>()) + "), which FaceAtlas's training never writes");
        m_used.insert(d.name);
    }

    /** Every parameter and buffer of the model, of exactly its type and shape. */
    void readModelTensors(FaceModelImpl& model)
    {
        for (auto& [name, tensor] : modelTensors(model)) {
            const auto it = m_declared.find(name);
            if (it == m_declared.end())
                fail(notThisModel() + " (tensor " + name + " is missing)");
            const CheckpointTensor& d = it->second;
            const std::vector<int64_t> expected(tensor.sizes().begin(), tensor.sizes().end());
            if (d.dtype != dtypeName(tensor.scalar_type()) || d.shape != expected)
                fail(notThisModel() + " (tensor " + name + " is " + d.dtype + " " + shapeText(d.shape)
                     + ", the model has " + dtypeName(tensor.scalar_type()) + " " + shapeText(expected) + ")");
            if (!tensor.is_contiguous() || tensor.device() != torch::kCPU)
                fail("internal: model tensor " + name + " is not a contiguous CPU tensor");
            readTensor(d, tensor);
        }
    }

    /** Optimizer state: per parameter index, its step and moments shaped like the parameter (always
     *  checked; kept when `withOptimizer`). */
    void readOptimizerState(ParsedCheckpoint& out, bool withOptimizer)
    {
        const auto params = out.model->parameters();
        json optimizer;
        try {
            optimizer = parseJsonBounded(text("optimizer"), "checkpoint optimizer record", kMaxCheckpointHeaderDepth,
                                         kMaxCheckpointHeaderValues);
        } catch (const Error& e) {
            fail(e.what());
        } catch (const json::exception&) {
            fail("damaged checkpoint (its optimizer record is not JSON)");
        }
        if (!optimizer.is_object() || !optimizer.contains("state") || !optimizer["state"].is_array())
            fail("damaged checkpoint (its optimizer record has no state list)");
        std::set<size_t> seen;
        for (const auto& st : optimizer["state"]) {
            if (!st.is_object() || !st.contains("param") || !st["param"].is_number_unsigned() || !st.contains("step")
                || !st["step"].is_number_integer() || st["step"].get<int64_t>() < 0)
                fail("damaged checkpoint (malformed optimizer state)");
            ParsedCheckpoint::ParamState ps;
            ps.param = st["param"].get<size_t>();
            ps.step = st["step"].get<int64_t>();
            if (ps.param >= params.size() || !seen.insert(ps.param).second)
                fail("damaged checkpoint (optimizer state for parameter " + std::to_string(ps.param) + " of "
                     + std::to_string(params.size()) + ")");
            const std::vector<int64_t> shape(params[ps.param].sizes().begin(), params[ps.param].sizes().end());
            ps.expAvg = readMoment(ps.param, "exp_avg", shape, true, withOptimizer);
            ps.expAvgSq = readMoment(ps.param, "exp_avg_sq", shape, true, withOptimizer);
            ps.maxExpAvgSq = readMoment(ps.param, "max_exp_avg_sq", shape, false, withOptimizer);
            if (withOptimizer)
                out.optimizer.push_back(ps);
        }
    }

    /** One AdamW moment of parameter `param`: read and checked always, returned when `keep`. */
    torch::Tensor readMoment(size_t param, const char* field, const std::vector<int64_t>& shape, bool required,
                             bool keep)
    {
        const std::string name = "optimizer." + std::to_string(param) + "." + field;
        const auto it = m_declared.find(name);
        if (it == m_declared.end()) {
            if (required)
                fail("damaged checkpoint (tensor " + name + " is missing)");
            return torch::Tensor();
        }
        if (it->second.dtype != "F32" || it->second.shape != shape)
            fail("damaged checkpoint (tensor " + name + " is " + it->second.dtype + " " + shapeText(it->second.shape)
                 + ", its parameter " + shapeText(shape) + ")");
        torch::Tensor t = torch::empty(shape, torch::kFloat);
        readTensor(it->second, t);
        return keep ? t : torch::Tensor();
    }

    fs::path m_file;
    int m_fd = -1;
    std::uint64_t m_size = 0;
    // What the steps learn, in the order they learn it.
    unsigned char m_lengthBytes[8] = {};
    CheckpointHeader m_h;
    std::uint64_t m_dataStart = 0, m_dataSize = 0;
    std::map<std::string, CheckpointTensor> m_declared;
    ModelKind m_kind = ModelKind::Age;
    std::string m_sizeText;
    std::set<std::string> m_used;
};

ParsedCheckpoint parseCheckpoint(const fs::path& file, bool withOptimizer)
{
    try {
        CheckpointReader reader(file);
        return reader.parse(withOptimizer);
    } catch (const Error&) {
        throw;
    } catch (const c10::Error& e) {
        throw Error(displayPath(file)
                    + ": cannot load checkpoint: " + std::string(e.what_without_backtrace()).substr(0, 300));
    } catch (const std::bad_alloc&) {
        throw Error(displayPath(file) + ": cannot load checkpoint: out of memory");
    } catch (const std::exception& e) {
        throw Error(displayPath(file) + ": cannot load checkpoint: " + std::string(e.what()).substr(0, 300));
    }
}

} // namespace

std::vector<std::pair<std::string, torch::Tensor>> modelTensors(FaceModelImpl& model)
{
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& p : model.named_parameters(true))
        if (p.value().defined())
            tensors.emplace_back("model." + p.key(), p.value());
    for (const auto& b : model.named_buffers(true))
        if (b.value().defined())
            tensors.emplace_back("model." + b.key(), b.value());
    return tensors;
}

void saveCheckpoint(const fs::path& file, FaceModelImpl& model, torch::optim::Optimizer* optimizer,
                    const std::string& metaJson)
{
    std::vector<std::pair<std::string, torch::Tensor>> tensors = modelTensors(model);
    json optimizerJson = {{"type", optimizer ? "AdamW" : "none"}, {"state", json::array()}};
    if (optimizer) {
        auto* adamw = dynamic_cast<torch::optim::AdamW*>(optimizer);
        if (!adamw || adamw->param_groups().size() != 1)
            throw Error(displayPath(file) + ": checkpoints hold the state of AdamW with one parameter group only");
        const auto& params = adamw->param_groups()[0].params();
        const auto modelParams = model.parameters();
        if (params.size() != modelParams.size())
            throw Error(displayPath(file) + ": the optimizer does not hold the model's parameters");
        auto& states = adamw->state();
        for (size_t i = 0; i < params.size(); ++i) {
            if (!params[i].is_same(modelParams[i]))
                throw Error(displayPath(file) + ": the optimizer's parameters are not the model's, in order");
            const auto it = states.find(c10::guts::to_string(params[i].unsafeGetTensorImpl()));
            if (it == states.end())
                continue;
            const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
            optimizerJson["state"].push_back({{"param", i}, {"step", st.step()}});
            const std::string prefix = "optimizer." + std::to_string(i) + ".";
            tensors.emplace_back(prefix + "exp_avg", st.exp_avg());
            tensors.emplace_back(prefix + "exp_avg_sq", st.exp_avg_sq());
            if (st.max_exp_avg_sq().defined())
                tensors.emplace_back(prefix + "max_exp_avg_sq", st.max_exp_avg_sq());
        }
    }
    json header = json::object();
    std::uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * t.element_size();
        header[name] = {{"dtype", dtypeName(t.scalar_type())},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    header["__metadata__"] = {{"format", kCheckpointFormat},
                              {"version", kCheckpointVersion},
                              {"kind", modelKindName(model.kind())},
                              {"size", std::to_string(model.imageSize())},
                              {"meta", metaJson},
                              {"optimizer", optimizerJson.dump()},
                              {kChecksumKey, std::string(16, '0')}};
    std::string headerText = jsonText(header);
    headerText.append((8 - headerText.size() % 8) % 8, ' ');
    unsigned char lengthBytes[8];
    for (int i = 0; i < 8; ++i)
        lengthBytes[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(headerText.size()) >> (8 * i));
    std::uint64_t hash = fnv1a64(std::string_view(reinterpret_cast<const char*>(lengthBytes), 8), kFnvOffsetBasis);
    hash = fnv1a64(headerText, hash);

    // Streamed into the temporary file tensor by tensor (no copy of all weights), then the checksum
    // filled in, synced and renamed: a crash mid-write leaves the previous checkpoint intact.
    AtomicFile out(file);
    out.write(lengthBytes, 8);
    out.write(headerText.data(), headerText.size());
    for (const auto& [name, t] : tensors) {
        const torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
        const size_t bytes = static_cast<size_t>(cpu.numel()) * cpu.element_size();
        const auto* data = static_cast<const char*>(cpu.data_ptr());
        out.write(data, bytes);
        hash = fnv1a64(std::string_view(data, bytes), hash);
    }
    const std::string zero = checkpointChecksumField(std::string(16, '0'));
    const size_t at = headerText.find(zero);
    headerText.replace(at, zero.size(), checkpointChecksumField(hexKey(hash)));
    out.writeAt(8, headerText.data(), headerText.size());
    out.commit();
}

void restoreOptimizer(const fs::path& file, torch::optim::Optimizer& optimizer)
{
    auto* adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer);
    if (!adamw || adamw->param_groups().size() != 1)
        throw Error(displayPath(file) + ": can restore the state of AdamW with one parameter group only");
    ParsedCheckpoint parsed = parseCheckpoint(file, true);
    const auto& params = adamw->param_groups()[0].params();
    if (params.size() != parsed.model->parameters().size())
        throw Error(displayPath(file) + ": the optimizer's parameters are not the checkpoint model's");
    auto& states = adamw->state();
    states.clear();
    for (auto& ps : parsed.optimizer) {
        const auto& p = params[ps.param];
        if (p.sizes() != ps.expAvg.sizes())
            throw Error(displayPath(file) + ": optimizer state " + std::to_string(ps.param)
                        + " does not match the parameter's shape");
        auto state = std::make_unique<torch::optim::AdamWParamState>();
        state->step(ps.step);
        state->exp_avg(ps.expAvg.to(p.device()));
        state->exp_avg_sq(ps.expAvgSq.to(p.device()));
        if (ps.maxExpAvgSq.defined())
            state->max_exp_avg_sq(ps.maxExpAvgSq.to(p.device()));
        states[c10::guts::to_string(p.unsafeGetTensorImpl())] = std::move(state);
    }
}

LoadedModel loadCheckpoint(const fs::path& file)
{
    std::error_code ec;
    if (!fs::exists(file, ec))
        throw Error(displayPath(file) + ": checkpoint not found");
    ParsedCheckpoint parsed = parseCheckpoint(file, false);
    parsed.model->setSpreadScale(checkpointSpreadScale(parsed.metaJson, file));
    return {parsed.model, parsed.metaJson};
}

std::string checkpointFraming(const std::string& metaJson)
{
    try {
        const json meta = json::parse(metaJson);
        if (const auto it = meta.find("framing"); it != meta.end() && it->is_string())
            return it->get<std::string>();
    } catch (const std::exception&) {
        // metadata that does not parse was refused when the checkpoint loaded; here it means the default
    }
    return "centre-crop";
}

double checkpointSpreadScale(const std::string& metaJson, const fs::path& file)
{
    json meta;
    try {
        meta = json::parse(metaJson);
    } catch (const std::exception&) {
        return std::nan(""); // refused when the checkpoint loaded; here: not calibrated
    }
    const auto it = meta.find("spread_scale");
    if (it == meta.end() || it->is_null())
        return std::nan("");
    // A calibration makes a spread 0.001-1000 times wider; anything else is a damaged or forged file.
    if (!it->is_number() || !(it->get<double>() >= 1e-3 && it->get<double>() <= 1e3))
        throw Error(displayPath(file) + ": 'spread_scale' is " + jsonText(*it).substr(0, 40)
                    + ", not a calibration (0.001-1000)");
    return it->get<double>();
}

std::string checkpointFramingOf(const std::string& manifestJson)
{
    try {
        const json manifest = json::parse(manifestJson);
        const auto settings = manifest.find("settings");
        if (settings != manifest.end() && settings->is_object())
            if (const auto it = settings->find("framing"); it != settings->end() && it->is_string())
                return it->get<std::string>();
    } catch (const std::exception&) {
        // PreparedDataset::open checked the manifest; an odd one falls back to the default
    }
    return "centre-crop";
}

} // namespace faceatlas

#include "ml/CheckpointHeader.h"

#include "util/Error.h"
#include "util/Json.h"

#include <algorithm>

namespace faceatlas {

using nlohmann::json;

namespace {

constexpr std::int64_t kMaxDim = std::int64_t(1) << 40;

} // namespace

std::string checkpointChecksumField(const std::string& hex)
{
    return std::string("\"") + kChecksumKey + "\":\"" + hex + "\"";
}

std::uint64_t checkpointHeaderLength(const unsigned char lengthBytes[8], std::uint64_t fileSize)
{
    std::uint64_t headerBytes = 0;
    for (int i = 7; i >= 0; --i)
        headerBytes = (headerBytes << 8) | lengthBytes[i];
    if (headerBytes > kMaxCheckpointHeaderBytes)
        throw Error("not a FaceAtlas checkpoint (its header claims " + std::to_string(headerBytes)
                    + " bytes; FaceAtlas writes headers of at most " + std::to_string(kMaxCheckpointHeaderBytes >> 20)
                    + " MiB, its models' tensors and the run's history take far less)");
    if (headerBytes < 2 || fileSize < 8 || headerBytes > fileSize - 8)
        throw Error("not a FaceAtlas checkpoint (its header claims " + std::to_string(headerBytes)
                    + " bytes; the file has " + std::to_string(fileSize) + ")");
    return headerBytes;
}

std::string CheckpointHeader::metadata(const char* key) const
{
    const json& meta = document.at("__metadata__");
    const auto it = meta.find(key);
    if (it == meta.end() || !it->is_string())
        throw Error(std::string("damaged checkpoint (no '") + key + "' in its metadata)");
    return it->get<std::string>();
}

CheckpointHeader parseCheckpointHeader(const std::string& text)
{
    if (text.size() > kMaxCheckpointHeaderBytes)
        throw Error("not a FaceAtlas checkpoint (its header has " + std::to_string(text.size()) + " bytes)");
    CheckpointHeader h;
    try {
        h.document = parseJsonBounded(text, "checkpoint header", kMaxCheckpointHeaderDepth, kMaxCheckpointHeaderValues);
    } catch (const json::exception&) {
        throw Error("not a FaceAtlas checkpoint (its header is not JSON; damaged?)");
    }
    if (!h.document.is_object() || !h.document.contains("__metadata__") || !h.document["__metadata__"].is_object())
        throw Error("not a FaceAtlas checkpoint (no __metadata__)");
    if (h.metadata("format") != kCheckpointFormat)
        throw Error("not a FaceAtlas checkpoint (format '" + h.metadata("format").substr(0, 40) + "')");
    if (h.metadata("version") != kCheckpointVersion)
        throw Error("checkpoint version " + h.metadata("version").substr(0, 20)
                    + " is not one this FaceAtlas reads (version " + kCheckpointVersion + ")");
    // The checksum's field must be found exactly once in the text, as written, to be zeroed for checking.
    h.checksum = h.metadata(kChecksumKey);
    const std::string field = checkpointChecksumField(h.checksum);
    const size_t at = text.find(field);
    if (h.checksum.size() != 16 || at == std::string::npos || text.find(field, at + 1) != std::string::npos)
        throw Error("damaged checkpoint (its checksum field is malformed)");
    h.checksumAt = at;
    return h;
}

std::map<std::string, CheckpointTensor> checkpointTensors(const CheckpointHeader& header, std::uint64_t dataSize)
{
    std::map<std::string, CheckpointTensor> declared;
    for (auto it = header.document.begin(); it != header.document.end(); ++it) {
        if (it.key() == "__metadata__")
            continue;
        const json& e = it.value();
        CheckpointTensor d;
        d.name = it.key();
        const auto bad = [&](const std::string& why) {
            throw Error("damaged checkpoint (tensor " + d.name.substr(0, 80) + ": " + why + ")");
        };
        if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape")
            || !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array()
            || e["data_offsets"].size() != 2)
            bad("malformed entry");
        d.dtype = e["dtype"].get<std::string>();
        if (d.dtype != "F32" && d.dtype != "I64")
            bad("type " + d.dtype.substr(0, 10) + " is not F32 or I64");
        std::uint64_t count = 1;
        for (const auto& dim : e["shape"]) {
            if (!dim.is_number_integer() || dim.get<std::int64_t>() < 0 || dim.get<std::int64_t>() > kMaxDim)
                bad("invalid shape");
            const auto v = static_cast<std::uint64_t>(dim.get<std::int64_t>());
            if (v != 0 && count > dataSize / v)
                bad("shape larger than the file");
            count *= v;
            d.shape.push_back(dim.get<std::int64_t>());
        }
        for (const auto& o : e["data_offsets"])
            if (!o.is_number_unsigned())
                bad("invalid data offsets");
        d.begin = e["data_offsets"][0].get<std::uint64_t>();
        d.end = e["data_offsets"][1].get<std::uint64_t>();
        const std::uint64_t element = d.dtype == "F32" ? 4 : 8;
        if (count > dataSize / element || d.begin > d.end || d.end > dataSize || d.end - d.begin != count * element)
            bad("its bytes lie outside the file or do not match its shape");
        declared.emplace(d.name, d);
    }
    std::vector<const CheckpointTensor*> byOffset;
    for (const auto& [name, d] : declared)
        byOffset.push_back(&d);
    std::sort(byOffset.begin(), byOffset.end(), [](const CheckpointTensor* a, const CheckpointTensor* b) {
        return std::make_pair(a->begin, a->end) < std::make_pair(b->begin, b->end);
    });
    std::uint64_t next = 0;
    for (const CheckpointTensor* d : byOffset) {
        if (d->begin != next)
            throw Error("damaged checkpoint (tensor bytes overlap or leave gaps)");
        next = d->end;
    }
    if (next != dataSize)
        throw Error("damaged checkpoint (" + std::to_string(dataSize - next) + " bytes after the last tensor)");
    return declared;
}

} // namespace faceatlas

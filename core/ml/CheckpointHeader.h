#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceatlas {

// The checkpoint header's reader, apart from the model (no LibTorch), so that it can be fuzzed alone
// (tests/fuzz/FuzzCheckpoint.cpp). The file layout is described in Runs.cpp.

constexpr const char* kCheckpointFormat = "faceatlas-checkpoint";
constexpr const char* kCheckpointVersion = "2";
constexpr const char* kChecksumKey = "checksum_fnv1a64";

/**
 * Limits of a checkpoint's JSON header, checked before it is parsed (size, then nesting and values in
 * one pass over the text), so that no header costs more than a few times its size in memory. The
 * largest model FaceAtlas writes (age, with its optimizer's state) has 83 tensors: about 8 KB of header
 * and 1,000 values. The rest is the run's history, about 70 bytes an epoch: 16 MiB holds 200,000 epochs.
 * Tensor entries nest three levels deep (the header, an entry, its shape).
 */
constexpr std::uint64_t kMaxCheckpointHeaderBytes = std::uint64_t(16) << 20;
constexpr int kMaxCheckpointHeaderDepth = 3;
constexpr std::size_t kMaxCheckpointHeaderValues = 250'000;

/** `"checksum_fnv1a64":"HEX"` as the header holds it. */
std::string checkpointChecksumField(const std::string& hex);

/**
 * The header length of a checkpoint from its first 8 bytes (little-endian); throws Error (the problem,
 * without the file's name) when it is below 2, beyond the file of `fileSize` bytes or beyond
 * kMaxCheckpointHeaderBytes.
 */
std::uint64_t checkpointHeaderLength(const unsigned char lengthBytes[8], std::uint64_t fileSize);

/** One tensor a checkpoint header declares. */
struct CheckpointTensor {
    std::string name;
    std::string dtype; // F32 or I64
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0, end = 0; // bytes in the data section
};

/** A checkpoint header parsed within the limits above: an object with a __metadata__ object. */
struct CheckpointHeader {
    nlohmann::json document;
    std::string checksum;  // the 16 characters stored as the checksum
    size_t checksumAt = 0; // where checkpointChecksumField(checksum) starts in the header text

    /** A text of __metadata__; throws Error ("damaged checkpoint (no 'KEY' in its metadata)"). */
    std::string metadata(const char* key) const;
};

/**
 * Parses a checkpoint's header text and checks its format, version and checksum field (present once,
 * 16 characters). Throws Error with the problem (without the file's name) otherwise.
 */
CheckpointHeader parseCheckpointHeader(const std::string& text);

/**
 * The tensors the header declares, each checked (type F32 or I64, shape, bytes within the data section
 * of `dataSize` bytes and matching the shape), tiling the data section exactly. Throws Error with the
 * problem (without the file's name) otherwise.
 */
std::map<std::string, CheckpointTensor> checkpointTensors(const CheckpointHeader& header, std::uint64_t dataSize);

} // namespace faceatlas

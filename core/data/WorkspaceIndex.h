#pragma once

#include "util/OutputFolder.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * One thing FaceAtlas made in a workspace (a run, codes, a clustering, a map, an audit), with what
 * its manifest says it was made from. Every kind records the fingerprint of the preparation it
 * describes, so an artifact is found by the dataset it belongs to, never by a "current" setting.
 */
struct Artifact {
    OutputKind kind = OutputKind::Run;
    std::filesystem::path dir;      // absolute, normal
    std::string dataFingerprint;    // the preparation it was made from; empty when its manifest does not say
    std::filesystem::path data;     // that preparation's folder when the manifest names it
    std::string source;             // the source SPEC (runs); empty when unknown
    std::string model;              // runs: the model kind's name
    std::filesystem::path madeFrom; // codes: the autoencoder run; a clustering or a map: the codes
    int imageSize = 0;              // runs and codes: the image size; 0 when unknown
    std::string status;             // runs: running, finished, cancelled, failed
    std::string damaged;            // why it cannot be used (names the file); empty when it can
    std::int64_t modifiedNs = 0;    // its manifest's modification time (newest first)

    bool usable() const { return damaged.empty(); }
};

/**
 * What a workspace holds, found by scanning its folders (runs/, codes/, clusters/, maps/, audits/
 * and the runs listed in runs.index, which the CLI writes for runs made elsewhere), each artifact
 * read from its manifest. Refreshing is cheap: a folder whose manifest has the same modification
 * time and size, and which itself has the same modification time, as at the last scan is not read again. A manifest
 * that does not parse, or a folder without a file its kind needs, is listed as damaged with the reason, never thrown.
 * Folders without a manifest (unfinished, or being written: `.NAME.tmp-*`) are not artifacts.
 *
 * Not thread-safe: one owner (the window's session) refreshes and reads it.
 */
class WorkspaceIndex {
public:
    explicit WorkspaceIndex(std::filesystem::path workspace = {});

    const std::filesystem::path& workspace() const { return m_workspace; }
    /** Scans again; true when anything was added, removed or changed since the last scan. */
    bool refresh();

    /** Every artifact found, newest first. Pointers and references stay valid until the next refresh(). */
    const std::vector<Artifact>& artifacts() const { return m_sorted; }
    /**
     * Usable artifacts of `kind` made from the preparation `fingerprints` name (its fingerprint, and
     * the one an earlier FaceAtlas recorded for it), newest first.
     */
    std::vector<const Artifact*> of(OutputKind kind, const std::vector<std::string>& fingerprints) const;
    /** The newest usable artifact of `kind` made from that preparation; null when there is none. */
    const Artifact* newest(OutputKind kind, const std::vector<std::string>& fingerprints) const;
    /** How many usable artifacts of `kind` were made from other preparations. */
    int countOfOthers(OutputKind kind, const std::vector<std::string>& fingerprints) const;
    /** The artifact in `dir`, or null. */
    const Artifact* find(const std::filesystem::path& dir) const;

    /** The folder of the workspace that holds artifacts of `kind` ("runs", "codes", ...). */
    static const char* folderName(OutputKind kind);

private:
    struct Cached {
        std::int64_t modifiedNs = -1;       // the manifest's
        std::int64_t folderModifiedNs = -1; // the folder's
        std::uintmax_t bytes = 0;
        Artifact artifact;
    };
    void scanFolder(OutputKind kind, const std::filesystem::path& folder, std::map<std::string, Cached>& next,
                    bool& changed);
    void scanOne(OutputKind kind, const std::filesystem::path& dir, std::map<std::string, Cached>& next, bool& changed);

    std::filesystem::path m_workspace;
    std::map<std::string, Cached> m_cache; // by folder
    std::vector<Artifact> m_sorted;
};

/** Reads one artifact's manifest in `dir` (the index's reader, for tests and the CLI). */
Artifact readArtifact(OutputKind kind, const std::filesystem::path& dir);

} // namespace faceatlas

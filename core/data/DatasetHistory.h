#pragma once

#include "data/Record.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * One preparation of a source, as its folder says (prepared.json, its files on disk): a version of
 * the dataset. Preparations are immutable once their manifest exists, so a version never changes
 * under its reader; it goes only when the user removes it (removePreparation).
 */
struct PreparationVersion {
    std::filesystem::path dir; // absolute, normal
    std::string source;        // the SPEC it was prepared from
    std::string sourceKind;    // "utkface", "csv", ...
    std::string location;      // the file or folder the records came from
    std::string created;       // UTC, ISO 8601 ("2026-12-07T04:00:00Z")
    std::string fingerprint;   // datasetFingerprint (data/Provenance.h)
    int size = 0;
    std::size_t count = 0, train = 0, val = 0;
    std::string settings;   // the cleaning settings in one line ("64 px, aligned, ages 15-65, ...")
    std::string reviewFile; // the review file it applied; empty when none
    std::size_t reviewDecisions = 0, reviewExcluded = 0, reviewAgeCorrected = 0, reviewGenderCorrected = 0;
    std::uint64_t bytes = 0;       // disk its FaceAtlas files hold (allocated blocks)
    std::uint64_t sharedBytes = 0; // of them, files another folder links too (an image cache a later one reused)
    bool kept = false;             // an earlier version keepPreparationVersion kept (in a versions/ folder)
};

/**
 * Reads the preparation in `dir` (opens it, to fingerprint it); throws Error naming the file when it is
 * not a preparation (no prepared.json, another kind of folder, a damaged file).
 */
PreparationVersion readPreparationVersion(const std::filesystem::path& dir);

/**
 * The versions of the source `dir` was prepared from, oldest first: every preparation of the same
 * source (the same kind and location) beside `dir` (the workspace's prepared/ folder holds one per
 * source and image size) and in the versions/ folder there, where the window keeps the preparations
 * it replaced. `dir` is among them. Folders that cannot be read are left out and named in `problems`.
 */
std::vector<PreparationVersion> preparationHistory(const std::filesystem::path& dir,
                                                   std::vector<std::string>* problems = nullptr);

/** The folder beside a preparation where its earlier versions are kept. */
constexpr const char* kVersionsFolder = "versions";

/**
 * Before a preparation in `dir` is replaced (prepare into the same folder): keeps it as a version, in
 * `dir`'s parent's versions/ folder, named `NAME-CREATED`. Its files are hard links (a copy where the
 * file system has none), so keeping costs no disk until the preparation in `dir` is replaced. Returns
 * the version's folder, or an empty path when `dir` holds no preparation. Throws Error naming the
 * folder when it cannot.
 */
std::filesystem::path keepPreparationVersion(const std::filesystem::path& dir);

/**
 * After the prepare that keepPreparationVersion ran before: removes the kept version when `dir` still
 * holds the same preparation (the prepare failed, was cancelled or gave the same fingerprint), so a
 * version is kept only when something replaced it. Never throws; `kept` empty does nothing.
 */
void settleKeptVersion(const std::filesystem::path& kept, const std::filesystem::path& dir);

/** What removePreparation did. */
struct RemovedPreparation {
    std::uint64_t freed = 0;            // bytes no other folder links to
    std::vector<std::string> leftFiles; // entries FaceAtlas did not write, left where they are
};

/**
 * Removes the preparation in `dir`: the files FaceAtlas writes in a preparation, then the folder when
 * nothing else is in it. Refuses (Error naming the folder, nothing removed) a folder that is not a
 * FaceAtlas preparation, a symbolic link, and the preparation `open` names (the one open in the window,
 * or the one a command reads).
 */
RemovedPreparation removePreparation(const std::filesystem::path& dir, const std::filesystem::path& open = {});

enum class FaceChangeKind { Removed, Added, Relabelled };
/** "removed", "added", "relabelled". */
const char* faceChangeName(FaceChangeKind kind);

/** One face that differs between two preparations, and what made it differ. */
struct FaceChange {
    FaceChangeKind change = FaceChangeKind::Removed;
    std::string key;    // recordKey: the face's source path (or PATH#faceN)
    std::string cause;  // "review" (a review decision), "step" (a cleaning step), "source" (neither explains it)
    std::string detail; // which decision or step, in words
    std::optional<int> oldAge, newAge;
    Gender oldGender = Gender::Unknown, newGender = Gender::Unknown;
    long long aRow = -1, bRow = -1; // its row in A and in B (-1: not there)
};

/** What changed from preparation A to preparation B of one source. */
struct PreparationDiff {
    PreparationVersion a, b;
    std::vector<FaceChange> changes; // the removed faces, then the added, then the relabelled, each in row order
    std::size_t unchanged = 0;       // faces in both with the same labels
    std::vector<std::string> notes;  // what could not be told (a review file that is gone, ...)
    std::size_t count(FaceChangeKind kind) const;
    std::size_t count(FaceChangeKind kind, const std::string& cause) const;
};

/**
 * Compares preparations A and B of one source. Throws Error naming the file when either is not a
 * preparation, or when they were prepared from different sources. Blocking (it reads both folders and
 * may probe the image files of faces no setting explains): run it on a worker.
 */
PreparationDiff diffPreparations(const std::filesystem::path& a, const std::filesystem::path& b);

/** diff.csv: `path,change,cause,detail,old_age,new_age,old_gender,new_gender`, one row per face. */
std::string diffCsv(const PreparationDiff& diff);
/** diff.json: both versions, the counts (by change and cause), the notes and every change. */
std::string diffJson(const PreparationDiff& diff, int indent = 2);
/** The counts in a few lines ("removed 3: 1 by review, 2 by steps ..."), for the command line. */
std::string diffSummary(const PreparationDiff& diff);

/**
 * Writes diff.csv and diff.json into `out` with the output-folder contract (util/OutputFolder.h): a new
 * or empty folder or an earlier diff, never one of the two preparations. Throws Error naming the folder.
 */
void writeDiff(const PreparationDiff& diff, const std::filesystem::path& out);

} // namespace faceatlas

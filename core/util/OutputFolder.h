#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faceatlas {

namespace fs = std::filesystem;

/**
 * The kinds of folder FaceAtlas writes. Each is recognised by its manifest (a JSON file with a
 * "format" key) or, for folders an older FaceAtlas left unfinished, by holding nothing but names
 * that kind writes.
 */
enum class OutputKind { Prepared, Codes, Clustering, Map, Audit, Run, Slices, Diff };

/** "a prepared dataset", "codes", ... for messages. */
const char* outputKindName(OutputKind kind);

/** The names a folder of this kind holds when FaceAtlas wrote it: the only names it ever deletes there. */
const std::vector<std::string>& outputKindNames(OutputKind kind);

/** The "format" value its manifest carries. */
const char* outputKindFormat(OutputKind kind);

/** What a folder given as --out is now. */
struct OutputFolderState {
    bool exists = false;
    bool empty = false;
    /** It is a FaceAtlas folder of the kind asked for. */
    bool sameKind = false;
    /** It is a FaceAtlas folder of another kind (set with `otherKind`). */
    bool otherKind = false;
    OutputKind other = OutputKind::Prepared;
};

/** Reads what `dir` holds, without changing anything. */
OutputFolderState inspectOutputFolder(const fs::path& dir, OutputKind kind);

/** How strictly an output folder is checked. */
struct OutputRules {
    /** Replace a FaceAtlas folder of another kind (--force). A folder that is not FaceAtlas's is never replaced. */
    bool force = false;
    /** The job's inputs: the output may be none of them, nor a folder that contains one. */
    std::vector<fs::path> inputs;
};

/**
 * The output-folder contract, the same for every command and the window: an --out that exists must
 * be a FaceAtlas folder of the same kind or empty (with `rules.force`, a FaceAtlas folder of another
 * kind too); anything else, and any folder that is or holds one of the job's inputs, is refused with
 * an Error naming the folder. Changes nothing.
 */
void checkOutputFolder(const fs::path& dir, OutputKind kind, const OutputRules& rules);

/**
 * A result folder written whole beside its place and swapped in at commit(), so a reader of the old
 * folder (a map, a clustering, the window) sees the old or the new result, never a mix, and a failed
 * or killed job leaves the old result as it was.
 *
 * Order and ownership: the constructor takes an exclusive lock (`.NAME.lock` beside the folder, removed
 * when done) for the object's life, checks the contract under it, empties what interrupted writes of
 * the same folder left beside it (`.NAME.tmp-PID-N` / `.NAME.old-PID-N` of processes that are gone:
 * FaceAtlas's own names removed, anything else kept in view as `NAME.kept-TIME`), and creates the empty
 * work folder. commit() exchanges it with the old folder in one step (renameat2); from then on the new
 * result is in place whatever happens; the old folder's own names (of the kind it was) are removed and
 * every other entry (a file of the user's) moves into the new one. Destroyed without commit(), the work
 * folder is removed; nothing else is. A folder that is a symbolic link or a mount point is refused.
 */
class StagedFolder {
public:
    StagedFolder(const fs::path& dir, OutputKind kind, const OutputRules& rules = {});
    ~StagedFolder();
    StagedFolder(const StagedFolder&) = delete;
    StagedFolder& operator=(const StagedFolder&) = delete;

    /** The final folder, as given (normalised). */
    const fs::path& dir() const { return m_dir; }
    /** Where the result is written until commit(). */
    const fs::path& work() const { return m_work; }
    /** True when the final folder held an earlier FaceAtlas result (of any kind, with --force) when this began. */
    bool replacing() const { return m_replacing; }
    /** Syncs the work folder and puts it in place of the final one; throws Error naming the folder. */
    void commit();

private:
    void releaseLock() noexcept;
    fs::path m_dir;
    fs::path m_work;
    fs::path m_lock;
    OutputKind m_kind;
    OutputKind m_oldKind = OutputKind::Prepared;
    bool m_force = false;
    bool m_replacing = false;
    bool m_committed = false;
    int m_lockFd = -1;
};

/** Refuses a file given as --out that is a symbolic link, a device, a FIFO or a folder (only regular files are
 * replaced). */
void checkOutputFile(const fs::path& file);

/** Bytes free for an unprivileged writer on the file system that holds `dir` (or its nearest existing parent). */
std::uint64_t freeBytes(const fs::path& dir);

/** "12.4 MB", "3.1 GB" for messages. */
std::string byteText(std::uint64_t bytes);

} // namespace faceatlas

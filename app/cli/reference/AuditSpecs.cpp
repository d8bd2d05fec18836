// The label audit commands: audit, review-queue.
#include "cli/reference/CommandSpec.h"

namespace faceatlas::cli {

namespace {

CommandSpec audit()
{
    return {
        "audit",
        "suspect labels, duplicates and leaks: out-of-fold predictions and metadata checks",
        "",
        "",
        "Audits the labels of a prepared dataset. K age models are trained, each on the faces of the other "
        "folds, so that every face is predicted by a model that never saw it (copies of a face are kept in one "
        "fold); exact duplicates (the same stored pixels) and near duplicates (64-bit perceptual hashes a few "
        "bits apart, found by a multi-index search) are grouped; the metadata is checked. DIR receives:"
        "\n\n"
        "  suspects.csv    path,split,age,gender,predicted,predicted_sd,score,reasons: one row per face,\n"
        "                  highest score first (score: how unlikely the age is under the face's own\n"
        "                  out-of-fold prediction, in calibrated standard deviations; reasons joined by ';')\n"
        "  duplicates.csv  group,path,split,age,gender,kind,distance: one row per member of a group of\n"
        "                  copies (kind exact: the same stored pixels; near: perceptual hashes DISTANCE bits\n"
        "                  apart, or mirrored, or nearest in the first fold model's features)\n"
        "  audit.json      counts per reason, duplicate groups, label conflicts, groups leaking across the\n"
        "                  training / validation split, the out-of-fold MAE, timings and the settings\n"
        "  folds/          the fold runs: a rerun with the same settings reuses finished folds and resumes\n"
        "                  an interrupted one"
        "\n\n"
        "The score is |age - predicted| / sqrt(sd^2 + 1), divided by its median over all faces / 0.6745, so "
        "that 3 means three calibrated standard deviations. The reasons are tokens: age_outlier (score 3 or "
        "more), exact_duplicate, near_duplicate, duplicate_conflict, split_leak, photo_before_birth, "
        "age_below_0, age_above_100, age_outside_0_116, dob_missing, dob_impossible, gender_unknown, "
        "age_missing, no_face, second_face.",
        {
            {"data", "PREPARED", "a prepared dataset folder", "", true},
            {"out", "DIR", "the audit's folder (see above): new, empty, or an earlier audit, which a rerun continues",
             "", true},
            {"folds", "K", "folds, 2 to 20", "5"},
            {"epochs", "N", "training epochs per fold (5,000 faces at 64 px take about 15 minutes on two cores)", "10"},
            {"seed", "S", "folds and training seed", "1"},
            deviceOption("where the fold models train"),
            {"model", "AGE-MODEL",
             "the age model the folds train, any age model of 'faceatlas-cli train --help', whose calibrated "
             "spread judges each label",
             "age"},
            {"near-distance", "D",
             "near duplicates: perceptual hashes at most D bits apart, 0 to 11, whose thumbnails also pass "
             "--min-correlation",
             "6"},
            {"min-correlation", "C",
             "near duplicates must also have 16 x 16 grey thumbnails (brightness and contrast removed) that "
             "correlate at least C: aligned faces of different people can share a perceptual hash, their "
             "thumbnails differ",
             "0.95"},
            {"feature-neighbours", "K",
             "also check each face's K nearest faces in the first fold model's features as copies, so that a "
             "copy whose hash moved too far, such as a recompressed, recoloured or reframed photo, is still found "
             "when its thumbnails pass --min-correlation; mirrored copies are found by the hash of the mirrored "
             "face. 0 to 50 (0: hashes only)",
             "5"},
            {"no-predict", "", "metadata and duplicates only, without training; scores stay empty"},
            threadsOption("hashing and training threads"),
            jsonOption("print audit.json"),
        },
        ""};
}

CommandSpec reviewQueue()
{
    return {"review-queue",
            "an audit's review queue by score, uncertainty or most informative first",
            "",
            "",
            "Lists the review queue of a label audit (its flagged faces, as the desktop's Review page shows them), "
            "the first to review first, in one of three orders:"
            "\n\n"
            "  score        the audit's order: the most unlikely label first\n"
            "  uncertainty  the model's calibrated out-of-fold spread, largest first\n"
            "  informative  the spread times the face's novelty: its distance in autoencoder code space to the\n"
            "               nearest face reviewed already (--review) or listed before it, over the largest such\n"
            "               distance (greedy, ties to the audit's earlier face), so near-copies of faces\n"
            "               decided are left for later"
            "\n\n"
            "The first line says which order it is. An order that cannot be made says why and uses the next one: "
            "informative without --codes uses uncertainty; both without calibrated spreads (an audit with "
            "--no-predict) use the score.",
            {
                {"data", "PREPARED", "a prepared dataset folder", "", true},
                {"audit", "DIR",
                 "an audit of PREPARED ('faceatlas-cli audit --out DIR'); an audit of another "
                 "preparation is refused",
                 "", true},
                {"order", "score|uncertainty|informative", "the order (see above)", "score"},
                {"codes", "CODES",
                 "codes of PREPARED ('faceatlas-cli encode --out CODES'), which the informative order needs; codes "
                 "of another preparation are refused"},
                {"review", "FILE",
                 "a review file (path,action,old,new,reason,time; the desktop's is the workspace's review.csv): its "
                 "decided faces count as reviewed and are marked"},
                {"reason", "R", "only the faces with this reason (age_outlier, duplicate_conflict, ...)"},
                {"limit", "N", "list the first N faces (0: all)", "50"},
                {"csv", "",
                 "CSV on stdout (rank,path,age,predicted,predicted_sd,score,order_value,novelty,reasons,decided); "
                 "the order's line goes to stderr"},
            },
            ""};
}

} // namespace

std::vector<CommandSpec> auditCommands()
{
    return {audit(), reviewQueue()};
}

} // namespace faceatlas::cli

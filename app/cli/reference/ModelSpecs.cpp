// The model commands: demo, train, evaluate, predict, encode, summary, runs, convert-checkpoint.
#include "cli/reference/CommandSpec.h"

namespace faceatlas::cli {

namespace {

CommandSpec demo()
{
    return {"demo",
            "the whole pipeline on the built-in synthetic faces",
            "",
            "",
            "Runs the whole pipeline on the built-in synthetic faces: prepare (cleaning, split, resampling, image "
            "cache), train the age model and the autoencoder, encode, cluster the codes, and report. Everything lands "
            "in DIR; look at the cluster galleries, DIR/clusters/galleries/*.png.",
            {
                {"out", "DIR", "the folder everything lands in", "faceatlas-demo"},
                {"faces", "N", "the number of synthetic faces (64 px) to draw and prepare", "2000"},
                {"epochs", "E", "epochs of each training, the age model's and the autoencoder's", "6"},
            },
            ""};
}

CommandSpec train()
{
    std::vector<OptionSpec> options = {
        {"model", "MODEL", "the kind of model to train, one of the list above", "", true},
        {"data", "PREPARED", "a prepared dataset folder", "", true},
        {"out", "RUN", "the run folder to write (with --resume, the run to continue)", "", true},
        {"epochs", "N", "epochs", "10"},
        {"batch", "B", "batch size (default: 64 for the age heads, 32 for the capstone models)"},
        {"lr", "X",
         "peak learning rate (default: 3e-3 for the age heads, 1e-4 for age-capstone, 1e-3 for the "
         "autoencoder)"},
        {"weight-decay", "X", "decoupled weight decay (default: 0.05 for the age heads, 0 for the capstone models)"},
        {"label-sigma", "Y",
         "age, age-mv: the width in years of the label distribution they learn from, 0.25 to 30 (default: 2 for "
         "age, 1 for age-mv)"},
        {"augment", "LIST",
         "the age heads' augmentations: a list of flip, shift, rotate and jitter, or all (their default) or none"},
        {"init-from", "RUN",
         "start an age head's first convolutions from the encoder of the autoencoder run RUN where their shapes "
         "match; the layers taken are printed and kept in run.json"},
        {"seed", "N", "initialisation, shuffling and augmentation seed", "1"},
        deviceOption("where to train"),
        threadsOption("CPU threads"),
        {"resume", "",
         "continue RUN from its last checkpoint, on the same curve an uninterrupted run would have drawn"},
        jsonOption("one JSON object per epoch on standard output"),
    };
    const std::vector<OptionSpec> distributed = distributedOptions(
        "train on N processes of this machine (data-parallel), each with its slice of every batch and its share "
        "of the cores; the gradients are summed over the processes before each step, the global batch stays "
        "--batch (so the result is one process's within float rounding; the age heads' batch norms see each "
        "process's slice) and rank 0 writes the run");
    options.insert(options.end(), distributed.begin(), distributed.end());
    return {"train",
            "train an age model or the autoencoder on a prepared dataset",
            "",
            "",
            "Trains a model on a prepared dataset. RUN becomes a run folder: run.json (data, settings, versions, "
            "times, status), metrics.csv (one row per epoch), last.pt (written atomically every epoch), best.pt and, "
            "for the autoencoder, previews/ with reconstructions of fixed validation faces. An age model's spread is "
            "calibrated on the validation faces each epoch (its 80% interval holds 80% of them) and kept in its "
            "checkpoints. MODEL is one of:\n\n{models}",
            options,
            "A checkpoint resumes with any number of processes.\n\nCtrl-C stops within one batch and keeps the last "
            "complete epoch's checkpoint."};
}

CommandSpec evaluate()
{
    return {"evaluate",
            "an age model's MAE beside the always-the-median baseline",
            "",
            "",
            "Mean absolute error of an age model beside the baseline that always predicts the median age of the "
            "run's training set, overall and per age decade, and how many faces fall inside their 80% intervals. "
            "With several runs or preparations (joined by commas), a matrix: every run on every preparation, with n, "
            "MAE, signed bias (predicted - true), the baseline and the framing of the model's and the data's faces; "
            "a cell that cannot be measured (another image size) says why and the others still run.",
            {
                {"run", "RUN[,RUN...]", "an age model's run folder, or several joined by commas", "", true},
                {"data", "PREPARED[,PREPARED...]", "a prepared dataset folder, or several joined by commas", "", true},
                {"split", "val|train|all", "the faces to measure: the validation set, the training set or every face",
                 "val"},
                deviceOption("where to evaluate"),
                jsonOption("print one JSON object instead of the tables (n, mae, baseline_mae, baseline_age, "
                           "coverage_80, interval_80_half_width, decades; for a matrix, split and cells)"),
            },
            ""};
}

CommandSpec predict()
{
    return {"predict",
            "predicted ages as CSV",
            "",
            "",
            "Writes path,age,predicted_age,predicted_sd for every record of the split. predicted_sd is the model's "
            "calibrated spread in years: predicted_age +- 1.28 x predicted_sd is its 80% interval (empty for a run "
            "trained before calibration).",
            {
                {"run", "RUN", "an age model's run folder", "", true},
                {"data", "PREPARED", "a prepared dataset folder", "", true},
                {"out", "FILE.csv", "the CSV file to write", "", true},
                {"split", "all|val|train",
                 "the records to predict: every record, the validation set or the training set", "all"},
                deviceOption("where to predict"),
            },
            ""};
}

CommandSpec encode()
{
    std::vector<OptionSpec> options = {
        {"run", "RUN", "a trained autoencoder's run folder", "", true},
        {"data", "PREPARED", "a prepared dataset folder", "", true},
        {"out", "CODES", "the codes folder: new, empty or earlier codes", "", true},
        deviceOption("where to encode"),
        threadsOption("CPU threads"),
        forceOption(),
    };
    const std::vector<OptionSpec> distributed = distributedOptions(
        "encode on N processes of this machine, each its share of the batches, into the one codes.f32: the same "
        "bytes as one process writes");
    options.insert(options.end(), distributed.begin(), distributed.end());
    return {"encode",
            "autoencoder codes of a prepared dataset",
            "",
            "",
            "Encodes every record with a trained autoencoder into the folder CODES: an N x D float32 matrix "
            "(codes.f32, memory-mappable), its records (records.bin) and codes.json. CODES must be new, empty or "
            "earlier codes: the new codes are written beside it and swapped in, so a map or clustering reading the "
            "earlier ones keeps them, and a failed encode leaves them as they were.",
            options,
            "Every process of several, started by --nproc or by another launcher, must see the parent folder of "
            "CODES at the same path."};
}

CommandSpec summary()
{
    return {"summary",
            "a model's layer table",
            "",
            "",
            "Prints the model's layers with their output shapes and parameter counts, like Keras's model.summary() "
            "and the capstone's slides, then the total parameters and the forward FLOPs per image. MODEL is one "
            "of:\n\n{models}",
            {
                {"model", "MODEL", "the kind of model, one of the list above", "", true},
                {"size", "S", "image side in pixels", "64"},
            },
            ""};
}

CommandSpec runs()
{
    return {"runs",
            "the training runs of the workspace",
            "",
            "",
            "Lists the training runs of the workspace (and any run folders directly under DIR): model, status, image "
            "size, epochs, the best epoch and the folder, and what is wrong with a damaged run.",
            {
                {"dir", "DIR", "list the run folders directly under DIR too"},
                jsonOption("one JSON object per run (JSON lines): dir, model, data, status, size, epochs, started, "
                           "and problem, last and best where they apply"),
            },
            ""};
}

CommandSpec convertCheckpoint()
{
    return {"convert-checkpoint",
            "convert a trusted checkpoint of an earlier FaceAtlas",
            "",
            "FILE...",
            "Converts checkpoints (last.pt, best.pt) written by an earlier FaceAtlas (TorchScript archives) into the "
            "current, data-only format, in place, keeping each original as FILE.old. Reading the old format runs code "
            "stored in the file, so FaceAtlas refuses such files everywhere else: convert only files you trust. The "
            "run's metrics.csv beside a checkpoint becomes its history, so that --resume works on a converted run.",
            {},
            ""};
}

} // namespace

std::vector<CommandSpec> modelCommands()
{
    return {demo(), train(), evaluate(), predict(), encode(), summary(), runs(), convertCheckpoint()};
}

} // namespace faceatlas::cli

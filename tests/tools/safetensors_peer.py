#!/usr/bin/env python3
"""An independent reader and writer of the published safetensors format, standard library only.

https://huggingface.co/docs/safetensors: an 8-byte little-endian unsigned header length N, N bytes of
UTF-8 JSON (which may be padded with trailing spaces) mapping each tensor name to {"dtype", "shape",
"data_offsets": [begin, end]} (offsets into the data section after the header; the tensors tile it with
no gap or overlap) and an optional "__metadata__" of string values, then the raw little-endian bytes.

FaceAtlas's checkpoints are such files; what FaceAtlas adds lives in __metadata__ (format, version, kind,
size, meta, optimizer, and checksum_fnv1a64: 64-bit FNV-1a of the whole file with the checksum's 16 hex
digits read as '0's). This peer knows the format from its specification, not from FaceAtlas's code.

    safetensors_peer.py check FILE [--kind KIND] [--optimizer]
        reads FILE, checks the format, FaceAtlas's metadata and checksum, that every tensor is F32 or
        I64 with bytes matching its shape, that float values are finite; prints a summary as JSON.
    safetensors_peer.py compare A B
        reads both files and prints, as JSON, each tensor's largest difference between them and its
        largest magnitude in A (the same names, dtypes and shapes in both, or it fails).
    safetensors_peer.py rewrite IN OUT [--order reverse|sorted] [--add NAME VALUE] [--no-pad]
        writes IN's tensors and metadata again as a new file: the tensors in another order (in the
        header and in the data section), NAME's values plus VALUE, the checksum computed afresh.
"""
import argparse
import array
import json
import math
import struct
import sys

DTYPES = {"F32": ("f", 4), "F64": ("d", 8), "I64": ("q", 8), "I32": ("i", 4), "F16": (None, 2), "BF16": (None, 2),
          "I8": ("b", 1), "U8": ("B", 1), "I16": ("h", 2), "BOOL": (None, 1)}
FNV_OFFSET, FNV_PRIME = 14695981039346656037, 1099511628211
CHECKSUM_KEY = "checksum_fnv1a64"


class FormatError(Exception):
    pass


def fnv1a64(data, h=FNV_OFFSET):
    # Plain FNV-1a, a byte at a time, over a few megabytes: slow in Python but a few seconds at most.
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def read(path):
    """(header dict without __metadata__, metadata dict, {name: bytes}, raw file bytes, header length)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise FormatError("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise FormatError("header length %d beyond the file's %d bytes" % (n, len(raw)))
    text = raw[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise FormatError("the header does not start with '{'")
    header = json.loads(text)
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise FormatError("__metadata__ is not a map of strings")
    data = raw[8 + n:]
    tensors, spans = {}, []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise FormatError("%s: entry has keys %s" % (name, sorted(info)))
        if info["dtype"] not in DTYPES:
            raise FormatError("%s: unknown dtype %s" % (name, info["dtype"]))
        if not all(isinstance(d, int) and d >= 0 for d in info["shape"]):
            raise FormatError("%s: bad shape %s" % (name, info["shape"]))
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if not 0 <= begin <= end <= len(data) or end - begin != count * DTYPES[info["dtype"]][1]:
            raise FormatError("%s: offsets %s do not hold %s %s" % (name, info["data_offsets"], info["dtype"],
                                                                     info["shape"]))
        spans.append((begin, end, name))
        tensors[name] = data[begin:end]
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise FormatError("%s: starts at %d, the previous tensor ended at %d (gap or overlap)" % (name, begin, at))
        at = end
    if at != len(data):
        raise FormatError("%d bytes after the last tensor" % (len(data) - at))
    return header, meta, tensors, raw, n


def values(dtype, blob):
    code = DTYPES[dtype][0]
    if code is None:
        raise FormatError("dtype %s not decoded by this peer" % dtype)
    a = array.array(code)
    a.frombytes(blob)
    if sys.byteorder != "little":
        a.byteswap()
    return a


def checksum_ok(raw, n, meta):
    digits = meta.get(CHECKSUM_KEY, "")
    field = ('"%s":"%s"' % (CHECKSUM_KEY, digits)).encode()
    header = raw[8:8 + n]
    if len(digits) != 16 or header.count(field) != 1:
        raise FormatError("no single %s field of 16 hex digits in the header" % CHECKSUM_KEY)
    zeroed = raw[:8] + header.replace(field, ('"%s":"%s"' % (CHECKSUM_KEY, "0" * 16)).encode()) + raw[8 + n:]
    return "%016x" % fnv1a64(zeroed) == digits


def check(args):
    header, meta, tensors, raw, n = read(args.file)
    problems = []
    for key in ("format", "version", "kind", "size", "meta", "optimizer", CHECKSUM_KEY):
        if key not in meta:
            problems.append("__metadata__ has no %s" % key)
    if meta.get("format") != "faceatlas-checkpoint":
        problems.append("format is %r" % meta.get("format"))
    if args.kind and meta.get("kind") != args.kind:
        problems.append("kind is %r, expected %r" % (meta.get("kind"), args.kind))
    json.loads(meta.get("meta", "{}"))
    optimizer = json.loads(meta.get("optimizer", "{}"))
    if not checksum_ok(raw, n, meta):
        problems.append("checksum_fnv1a64 does not match the file")
    model = [k for k in header if k.startswith("model.")]
    moments = [k for k in header if k.startswith("optimizer.")]
    others = [k for k in header if not k.startswith(("model.", "optimizer."))]
    if not model:
        problems.append("no model.* tensors")
    if others:
        problems.append("tensors neither model.* nor optimizer.*: %s" % others[:5])
    if args.optimizer and not moments:
        problems.append("no optimizer.* tensors in a checkpoint that should have the optimizer's state")
    for name in moments:
        parts = name.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            problems.append("optimizer tensor %s is not optimizer.<i>.exp_avg|exp_avg_sq|max_exp_avg_sq" % name)
    states = {s["param"]: s["step"] for s in optimizer.get("state", [])}
    if args.optimizer and (not states or any(step <= 0 for step in states.values())):
        problems.append("the optimizer record has no steps: %s" % meta.get("optimizer", "")[:200])
    floats = 0
    for name, info in header.items():
        if info["dtype"] not in ("F32", "I64"):
            problems.append("%s is %s (FaceAtlas writes F32 and I64)" % (name, info["dtype"]))
            continue
        v = values(info["dtype"], tensors[name])
        if len(v) != math.prod(info["shape"]):
            problems.append("%s: %d values for shape %s" % (name, len(v), info["shape"]))
        if info["dtype"] == "F32":
            floats += len(v)
            bad = [x for x in v if not math.isfinite(x)]
            if bad:
                problems.append("%s holds %d non-finite values" % (name, len(bad)))
    # The shapes a model's layers imply: a convolution's weight is [out, in, k, k]; its batch norm has [out].
    for name, info in header.items():
        if name.startswith("model.") and name.endswith(".running_mean"):
            layer = name[: -len(".running_mean")]
            for part in ("weight", "bias", "running_var"):
                other = header.get(layer + "." + part)
                if other is None or other["shape"] != info["shape"]:
                    problems.append("%s.%s does not match %s's shape %s" % (layer, part, name, info["shape"]))
    summary = {"tensors": len(header), "model": len(model), "optimizer": len(moments), "floats": floats,
               "kind": meta.get("kind"), "size": meta.get("size"), "version": meta.get("version"),
               "shapes": {k: [header[k]["dtype"], header[k]["shape"]] for k in sorted(header)}}
    print(json.dumps(summary))
    for p in problems:
        print("safetensors_peer: %s: %s" % (args.file, p), file=sys.stderr)
    return 1 if problems else 0


def rewrite(args):
    header, meta, tensors, _, _ = read(args.input)
    names = sorted(header)
    if args.order == "reverse":
        names.reverse()
    if args.add:
        name, amount = args.add[0], float(args.add[1])
        if name not in header or header[name]["dtype"] != "F32":
            raise FormatError("no F32 tensor %s to add to" % name)
        v = values("F32", tensors[name])
        for i in range(len(v)):
            v[i] += amount
        if sys.byteorder != "little":
            v.byteswap()
        tensors[name] = v.tobytes()
    out_header, at = {}, 0
    for name in names:
        size = len(tensors[name])
        out_header[name] = {"dtype": header[name]["dtype"], "shape": header[name]["shape"],
                            "data_offsets": [at, at + size]}
        at += size
    meta = dict(meta)
    meta[CHECKSUM_KEY] = "0" * 16
    # The metadata last this time (FaceAtlas writes it first): key order in the header is free.
    out_header["__metadata__"] = meta
    text = json.dumps(out_header, separators=(",", ":")).encode()
    if not args.no_pad:
        text += b" " * (-len(text) % 8)
    body = b"".join(tensors[name] for name in names)
    zeroed = struct.pack("<Q", len(text)) + text + body
    digits = "%016x" % fnv1a64(zeroed)
    text = text.replace(('"%s":"%s"' % (CHECKSUM_KEY, "0" * 16)).encode(),
                        ('"%s":"%s"' % (CHECKSUM_KEY, digits)).encode())
    with open(args.output, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)
    return 0


def compare(args):
    header_a, _, tensors_a, _, _ = read(args.file)
    header_b, _, tensors_b, _, _ = read(args.other)
    if sorted(header_a) != sorted(header_b):
        raise FormatError("the files hold other tensors: %s against %s" % (sorted(header_a), sorted(header_b)))
    out = {}
    for name, info in header_a.items():
        if (info["dtype"], info["shape"]) != (header_b[name]["dtype"], header_b[name]["shape"]):
            raise FormatError("%s: %s %s against %s %s" % (name, info["dtype"], info["shape"], header_b[name]["dtype"],
                                                           header_b[name]["shape"]))
        a, b = values(info["dtype"], tensors_a[name]), values(info["dtype"], tensors_b[name])
        out[name] = {"max_difference": max((abs(x - y) for x, y in zip(a, b)), default=0),
                     "max_magnitude": max((abs(x) for x in a), default=0)}
    print(json.dumps(out, indent=1, sort_keys=True))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check")
    c.add_argument("file")
    c.add_argument("--kind")
    c.add_argument("--optimizer", action="store_true")
    m = sub.add_parser("compare")
    m.add_argument("file")
    m.add_argument("other")
    r = sub.add_parser("rewrite")
    r.add_argument("input")
    r.add_argument("output")
    r.add_argument("--order", choices=["reverse", "sorted"], default="reverse")
    r.add_argument("--add", nargs=2, metavar=("NAME", "VALUE"))
    r.add_argument("--no-pad", action="store_true")
    args = parser.parse_args()
    try:
        return {"check": check, "compare": compare, "rewrite": rewrite}[args.command](args)
    except (FormatError, ValueError, KeyError, UnicodeDecodeError) as e:
        print("safetensors_peer: %s: not a valid safetensors file: %s" % (getattr(args, "file", None) or args.input, e),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

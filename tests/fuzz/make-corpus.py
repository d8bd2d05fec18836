#!/usr/bin/env python3
"""Writes the generated part of the seed corpus (tests/fuzz/corpus/<target>/seed-*): small MAT-files
(compressed and not), CSV files, UTKFace names, record files and prepared-dataset parts. Crashes
found by fuzzing are kept beside them as crash-* files. Run from anywhere; deterministic."""
import os
import struct
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


# --- MAT v5 -------------------------------------------------------------------------------------
def element(type_, data):
    out = struct.pack("<II", type_, len(data)) + data
    return out if type_ == 15 else out + b"\0" * ((8 - len(data) % 8) % 8)


def matrix(cls, dims, name, body):
    return element(14, element(6, struct.pack("<II", cls, 0)) + element(5, struct.pack("<%di" % len(dims), *dims))
                   + element(1, name.encode()) + body)


def doubles(values):
    return matrix(6, [1, len(values)], "", element(9, struct.pack("<%dd" % len(values), *values)))


def text(s, utf16=False):
    if utf16:
        units = s.encode("utf-16-le")
        return matrix(4, [1, len(units) // 2], "", element(17, units))
    return matrix(4, [1, len(s.encode())], "", element(16, s.encode()))


def cell(items):
    return matrix(1, [1, len(items)], "", b"".join(items))


def structure(name, fields):
    names = b"".join(f.encode().ljust(32, b"\0") for f, _ in fields)
    return matrix(2, [1, 1], name, element(5, struct.pack("<i", 32)) + element(1, names)
                  + b"".join(v for _, v in fields))


def matfile(variables):
    return b"MATLAB 5.0 MAT-file, FaceAtlas fuzz seed".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM" + variables


def wiki(n, utf16=False, name="wiki"):
    return structure(name, [
        ("dob", doubles([723671.0 + 400 * i for i in range(n)])),
        ("photo_taken", doubles([2009.0 + i % 5 for i in range(n)])),
        ("full_path", cell([text("%02d/%d_1980-01-01_2009.jpg" % (i, i)) for i in range(n)])),
        ("gender", doubles([float(i % 2) if i % 3 else float("nan") for i in range(n)])),
        ("name", cell([text("P\u00e9rson %d" % i, utf16) for i in range(n)])),
        ("face_location", cell([doubles([1.0 * i, 2.0, 30.5, 40.5]) for i in range(n)])),
        ("face_score", doubles([float("-inf") if i == 0 else 1.5 + i for i in range(n)])),
        ("second_face_score", doubles([float("nan") if i % 2 else 0.5 for i in range(n)])),
    ])


put("mat", "wiki-4.mat", matfile(wiki(4)))
put("mat", "wiki-4-utf16.mat", matfile(wiki(4, utf16=True, name="imdb")))
put("mat", "wiki-6-compressed.mat", matfile(element(15, zlib.compress(wiki(6), 9))))
put("mat", "two-variables.mat", matfile(doubles([1, 2, 3]) + element(15, zlib.compress(cell([text("a"), text("b")])))))
put("mat", "nested-cells.mat", matfile(cell([cell([cell([doubles([7.0])])])])))
put("mat", "empty-cell-element.mat", matfile(structure("wiki", [("dob", doubles([])), ("name", cell([element(14, b"")]))])))

# --- CSV ----------------------------------------------------------------------------------------
put("csv", "basic.csv", "path,age,gender\na.jpg,31,M\nsub/b.jpg,,female\n/abs/c.jpg,45,\n")
put("csv", "quoted.csv", 'id,file,Age,gender,notes\n1,"a, b.jpg",31.5,F,"x ""y"""\n2,c.jpg,116,m,\n3,d.jpg,117,f,\n')
put("csv", "bom-crlf.csv", "\ufeffpath,age\r\ngood.jpg,30\r\nbad.jpg,nan\r\n")
put("csv", "ages.csv", "path,age\n" + "".join("x.jpg,%s\n" % a for a in
                                            ["0", "1e2", "+7", "-0", "0x1A", "inf", "1e400", "12abc", " 12 ", ".5"]))

# --- UTKFace names --------------------------------------------------------------------------------
for i, name in enumerate(["25_0_0_20170116174525125.jpg.chip.jpg", "1_1_4_20161219140530307.jpg",
                          "116_0_3_20170120134639935.JPG", "999_1_4_20170116174525125.jpg.chip.jpg",
                          "25__0_20170116174525125.jpg", "61_1_20170109142408075.jpg.chip.jpg",
                          "25_0_0_20170116174525125.png"]):
    put("utkname", "name-%d" % i, name)


# --- record files -------------------------------------------------------------------------------
def record(path, age, gender, name):
    s = lambda t: struct.pack("<I", len(t.encode())) + t.encode()
    return (s(path) + struct.pack("<ibb", age if age is not None else 0, age is not None, gender)
            + struct.pack("<6d", 0.5, float("nan"), 1, 2, 3, 4) + struct.pack("<ii", 723671, 2009) + s(name))


def records(rows):
    return b"FAREC001" + struct.pack("<Q", len(rows)) + b"".join(record(*r) for r in rows)


RECS = records([("/d/a.jpg", 30, 1, "A"), ("/d/b.jpg", None, -1, ""), ("/d/\u00e9.jpg", 116, 0, "\u00c9")])
put("records", "three.bin", RECS)
put("records", "empty.bin", records([]))

# --- prepared-dataset parts ------------------------------------------------------------------------
SEP = b"@@SEP@@"
MANIFEST = (b'{"format": "faceatlas-prepared", "size": 8, "source": "demo:3", '
            b'"normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}}')
SPLIT = b"FASPLIT1" + struct.pack("<QQ", 2, 1) + struct.pack("<3I", 0, 2, 1)
put("prepared", "three.bin", MANIFEST + SEP + RECS + SEP + SPLIT + SEP + b"\x80" * (3 * 8 * 8 * 3))
put("prepared", "no-images.bin", MANIFEST + SEP + records([]) + SEP + b"FASPLIT1" + b"\0" * 16 + SEP)

# --- review files ------------------------------------------------------------------------------------
REVIEW = b"path,action,old,new,reason,time\n"
put("review", "all-actions.csv", REVIEW + b'/a.jpg,age,30,31,age_outlier,2026-12-02T10:00:00Z\n'
    b'"/b, c.jpg",gender,M,F,duplicate_conflict,t\n/d.jpg,exclude,,,split_leak,t\n/d.jpg,keep,,,,t\n')
put("review", "cut-short.csv", REVIEW + b"/a.jpg,age,30,3")
put("review", "bad-rows.csv", REVIEW.replace(b"\n", b"\r\n") + b"/a.jpg,age,30,117,r,t\r\n"
    b"/b.jpg,gender,M,male,r,t\r\n/c.jpg,drop,,,r,t\r\n\"/d.jpg,keep\n,keep,,,r,t\n/e\x00.jpg,keep,,,r,t\n")
put("review", "other-header.csv", b"path,age\n/a.jpg,3\n")
# Finding F16 (round 3): a spreadsheet's byte order mark and CRLF line ends. (Lines past the 64 KB limit are
# left to ReviewFileTest: a seed that long would make every input the fuzzer tries that long.)
put("review", "bom-crlf.csv", b"\xef\xbb\xbf" + REVIEW.replace(b"\n", b"\r\n") + b"/a.jpg,age,30,31,r,t\r\n")

# --- checkpoint headers --------------------------------------------------------------------------------
def checkpoint(header, data=b"", length=None):
    text = header.encode() if isinstance(header, str) else header
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text) if length is None else length) + text + data


CKPT_META = ('"__metadata__":{"format":"faceatlas-checkpoint","version":"2","kind":"age","size":"8",'
             '"meta":"{\\"epoch\\":1}","optimizer":"{\\"type\\":\\"none\\",\\"state\\":[]}",'
             '"checksum_fnv1a64":"0123456789abcdef"}')
CKPT_TENSORS = ('"model.a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                '"model.b":{"dtype":"I64","shape":[1,1],"data_offsets":[8,16]}')
CKPT_DATA = struct.pack("<2fq", 0.5, -1.5, 7)
put("checkpoint", "valid.pt", checkpoint("{" + CKPT_TENSORS + "," + CKPT_META + "}", CKPT_DATA))
put("checkpoint", "overlap.pt", checkpoint("{" + CKPT_TENSORS.replace("[8,16]", "[4,12]") + "," + CKPT_META + "}",
                                           CKPT_DATA))
put("checkpoint", "dtype.pt", checkpoint("{" + CKPT_TENSORS.replace("I64", "F16") + "," + CKPT_META + "}", CKPT_DATA))
put("checkpoint", "two-checksums.pt", checkpoint("{" + CKPT_META + ',"x":{"checksum_fnv1a64":"0123456789abcdef"}}'))
put("checkpoint", "nested.pt", checkpoint('{"__metadata__":' + "[" * 40 + "]" * 40 + "}"))
put("checkpoint", "empty-objects.pt", checkpoint('{"__metadata__":{},"a":[' + ",".join(["{}"] * 40) + "]}"))
put("checkpoint", "length-beyond.pt", checkpoint("{" + CKPT_META + "}", length=1 << 40))
put("checkpoint", "huge-shape.pt", checkpoint("{" + CKPT_TENSORS.replace("[2]", "[1099511627776,1099511627776]")
                                              + "," + CKPT_META + "}", CKPT_DATA))

# --- face findings caches (FAFACE02, data/FaceDetections.cpp), of the folder "/faces" ----------------------
NAN, INF = float("nan"), float("inf")


def face(faces, score, second, box, landmarks, roll, yaw):
    return struct.pack("<i2f4f136f2f", faces, score, second, *box, *landmarks, roll, yaw)


def found_face(faces, score, second, x, y, scale=1.0, roll=-3.0, yaw=12.0):
    box = (x, y, x + 80 * scale, y + 80 * scale)
    points = []
    for i in range(68):  # in the box, the chin a little below it
        points += [x + (10 + i) * scale, y + (30 + i * 0.9) * scale]
    return face(faces, score, second, box, points, roll, yaw)


NO_FACE = face(0, -INF, NAN, (NAN,) * 4, (NAN,) * 136, NAN, NAN)


def faces_cache(entries, folder=b"/faces"):
    version = b"dlib-hog-68|scan 240-900|turn 25|v1"
    out = b"FAFACE02" + struct.pack("<I", len(version)) + version + struct.pack("<I", len(folder)) + folder
    out += struct.pack("<Q", len(entries))
    for name, best, others in entries:
        out += struct.pack("<I", len(name)) + name + struct.pack("<qq", 28411, 1700000000123456789) + best
        out += struct.pack("<H", len(others)) + b"".join(others)
    return out


ONE = found_face(1, 1.25, NAN, 100.0, 120.0)
put("faces", "one-face.faces", faces_cache([(b"a.jpg", ONE, []), (b"b.jpg", NO_FACE, [])]))
put("faces", "group.faces", faces_cache([(b"group.jpg", found_face(3, 2.0, 1.5, 40.0, 60.0),
                                          [found_face(3, 1.5, 0.5, 300.0, 50.0, 0.8, 10.0, -20.0),
                                           found_face(3, 0.5, NAN, 500.0, 70.0, 1.2, -25.0, 5.0)])]))
put("faces", "empty.faces", faces_cache([]))
# Finding F07 (round 3): the exponent bit 0x20 of landmark 36's x flipped (x times 2^64, still finite).
FLIPPED = bytearray(faces_cache([(b"a.jpg", ONE, [])]))
X36 = len(faces_cache([])) + 4 + len(b"a.jpg") + 16 + 4 + 4 + 4 + 16 + 4 * 72
FLIPPED[X36 + 3] ^= 0x20
put("faces", "f07-flipped-exponent.faces", bytes(FLIPPED))
